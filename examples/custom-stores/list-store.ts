/**
 * The article's list-based store, in TypeScript: each token is a plain list of its ten
 * column values. It implements only a `RecordBackend`; `RecordTokenStore` adds the matching
 * and upsert rules, so it passes the same conformance suite as the built-in stores.
 * Use it as the starting point for a store of your own (a secrets manager, a key-value API…).
 */
import {
  type LookupKey,
  lookupValue,
  type RecordBackend,
  RecordTokenStore,
  TOKEN_COLUMNS,
  type TokenRecord,
} from 'zoho-token-store';

type TokenRow = (string | null)[];

const FIELDS = TOKEN_COLUMNS.map((c) => c.field);

const toRow = (record: TokenRecord): TokenRow => FIELDS.map((field) => record[field]);
const toRecord = (row: TokenRow): TokenRecord =>
  Object.fromEntries(FIELDS.map((field, i) => [field, row[i] ?? null])) as unknown as TokenRecord;

class ListBackend implements RecordBackend {
  readonly #rows: TokenRow[] = [];

  async findBy(key: LookupKey): Promise<TokenRecord[]> {
    return this.#matching(key).map(toRecord);
  }

  // Read, decide and write happen in one synchronous stretch: no other save can slip in between.
  async upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void> {
    const candidates = [...new Set(keys.flatMap((key) => this.#matching(key)))];
    const record = decide(candidates.map(toRecord));
    const index = this.#rows.findIndex((row) => row[0] === record.id);
    if (index >= 0) this.#rows[index] = toRow(record);
    else this.#rows.push(toRow(record));
  }

  async delete(id: string): Promise<void> {
    const index = this.#rows.findIndex((row) => row[0] === id);
    if (index >= 0) this.#rows.splice(index, 1);
  }

  async list(): Promise<TokenRecord[]> {
    return this.#rows.map(toRecord);
  }

  async clear(): Promise<void> {
    this.#rows.length = 0;
  }

  // lookupValue also answers `userEmail`, the email part of a user named `email:zgid`.
  #matching(key: LookupKey): TokenRow[] {
    return this.#rows.filter((row) => lookupValue(toRecord(row), key.column) === key.value);
  }
}

/** Tokens in a list of lists, as in the article's `custom_store_list.py`. */
export class ListStore extends RecordTokenStore {
  constructor() {
    super(new ListBackend());
  }
}
