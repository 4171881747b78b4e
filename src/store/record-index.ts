import type { TokenRecord } from '../token/token-record.js';
import { INDEXED, lookupValue } from './matching.js';
import type { LookupKey } from './record-backend.js';

const NONE: readonly TokenRecord[] = [];

// An index entry is the one row with that value or, rarely, several; keeping the single row
// unwrapped saves a memory hop per lookup, which dominates once the table outgrows the CPU cache.
type IndexEntry = TokenRecord | TokenRecord[];

/**
 * Token records in a Map by id, with one Map per lookup column, so every lookup is O(1). The
 * in-memory part of a backend: the file store serves every read from one.
 *
 * @example
 * ```ts
 * const index = new RecordIndex();
 * index.put({ id: '1000000001', userName: 'ana@zylker.com', clientId: null, clientSecret: null, refreshToken: 'r',
 *   accessToken: 'a', grantToken: null, expiryTime: null, redirectUrl: null, apiDomain: null });
 * index.findBy({ column: 'userName', value: 'ana@zylker.com' }); // [that record]
 * ```
 */
export class RecordIndex {
  readonly #byId = new Map<string, TokenRecord>();
  readonly #indexes = new Map(INDEXED.map((column) => [column, new Map<string, IndexEntry>()]));

  /** Rows whose column equals the key's value; the array must not be changed. */
  findBy(key: LookupKey): readonly TokenRecord[] {
    const entry = key.column === 'id' ? this.#byId.get(key.value) : this.#indexes.get(key.column)?.get(key.value);
    return entry === undefined ? NONE : Array.isArray(entry) ? entry : [entry];
  }

  /** The row with this id, if any. */
  get(id: string): TokenRecord | undefined {
    return this.#byId.get(id);
  }

  /** Inserts the record, replacing the row with its id. */
  put(record: TokenRecord): void {
    this.remove(record.id);
    this.#byId.set(record.id, record);
    for (const [column, index] of this.#indexes) {
      const value = lookupValue(record, column);
      if (value == null) continue;
      const entry = index.get(value);
      index.set(value, entry === undefined ? record : [...(Array.isArray(entry) ? entry : [entry]), record]);
    }
  }

  /** Removes the row with this id, if any. */
  remove(id: string): void {
    const old = this.#byId.get(id);
    if (!old) return;
    this.#byId.delete(id);
    for (const [column, index] of this.#indexes) {
      const value = lookupValue(old, column);
      if (value == null) continue;
      const entry = index.get(value);
      const rest = Array.isArray(entry) ? entry.filter((row) => row !== old) : [];
      if (rest.length === 0) index.delete(value);
      else index.set(value, rest.length === 1 ? (rest[0] as TokenRecord) : rest);
    }
  }

  /** Removes every row. */
  clear(): void {
    this.#byId.clear();
    for (const index of this.#indexes.values()) index.clear();
  }

  /** Every row, in insertion order. */
  values(): IterableIterator<TokenRecord> {
    return this.#byId.values();
  }

  /** How many rows it holds. */
  get size(): number {
    return this.#byId.size;
  }
}
