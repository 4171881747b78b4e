import type { LookupColumn, LookupKey, RecordBackend } from '../store/record-backend.js';
import { RecordTokenStore, type StoreOptions } from '../store/record-token-store.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';
import type { TokenRecord } from '../token/token-record.js';

const INDEXED: readonly Exclude<LookupColumn, 'id'>[] = ['userName', 'accessToken', 'grantToken', 'refreshToken'];
const NONE: readonly TokenRecord[] = [];

// An index entry is the one row with that value or, rarely, several; keeping the single row
// unwrapped saves a memory hop per lookup, which dominates once the table outgrows the CPU cache.
type IndexEntry = TokenRecord | TokenRecord[];

/** Records in a Map by id, with one Map per lookup column, so every lookup is O(1). */
class MemoryBackend implements RecordBackend {
  readonly #byId = new Map<string, TokenRecord>();
  readonly #indexes = new Map(INDEXED.map((column) => [column, new Map<string, IndexEntry>()]));

  findBy(key: LookupKey): readonly TokenRecord[] {
    const entry = key.column === 'id' ? this.#byId.get(key.value) : this.#indexes.get(key.column)?.get(key.value);
    return entry === undefined ? NONE : Array.isArray(entry) ? entry : [entry];
  }

  // Synchronous from read to write, so no other call can interleave: atomic by construction.
  async upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void> {
    const record = decide([...new Set(keys.flatMap((key) => this.findBy(key)))]);
    this.#remove(record.id);
    this.#byId.set(record.id, record);
    for (const [column, index] of this.#indexes) {
      const value = record[column];
      if (value == null) continue;
      const entry = index.get(value);
      index.set(value, entry === undefined ? record : [...(Array.isArray(entry) ? entry : [entry]), record]);
    }
  }

  async delete(id: string): Promise<void> {
    this.#remove(id);
  }

  async list(): Promise<readonly TokenRecord[]> {
    return [...this.#byId.values()];
  }

  async clear(): Promise<void> {
    this.#byId.clear();
    for (const index of this.#indexes.values()) index.clear();
  }

  #remove(id: string): void {
    const old = this.#byId.get(id);
    if (!old) return;
    this.#byId.delete(id);
    for (const [column, index] of this.#indexes) {
      const value = old[column];
      if (value == null) continue;
      const entry = index.get(value);
      const rest = Array.isArray(entry) ? entry.filter((row) => row !== old) : [];
      if (rest.length === 0) index.delete(value);
      else index.set(value, rest.length === 1 ? (rest[0] as TokenRecord) : rest);
    }
  }
}

/**
 * Tokens in process memory: the article's dictionary store, with an index per lookup column.
 * Nothing survives the process; use it for tests, scripts and as the reference store.
 *
 * @example
 * ```ts
 * import { OAuthToken } from 'zoho-token-store';
 * import { MemoryStore } from 'zoho-token-store/stores/memory';
 * const store = new MemoryStore();
 * await store.saveToken(new OAuthToken({ userName: 'ana@zylker.com', accessToken: '1000.a…', refreshToken: '1000.r…' }));
 * const found = await store.findToken(new OAuthToken({ userName: 'ana@zylker.com' }));
 * found?.getRefreshToken(); // '1000.r…'
 * ```
 */
export class MemoryStore<T extends TokenLike = OAuthToken> extends RecordTokenStore<T> {
  constructor(options: StoreOptions<T> = {}) {
    super(new MemoryBackend(), options);
  }
}
