import type { LookupKey, RecordBackend } from '../store/record-backend.js';
import { RecordIndex } from '../store/record-index.js';
import { RecordTokenStore, type StoreOptions } from '../store/record-token-store.js';
import type { TokenActivity } from '../store/token-activity.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';
import type { TokenRecord } from '../token/token-record.js';

/** Records in a {@link RecordIndex}, so every lookup is O(1). */
class MemoryBackend implements RecordBackend {
  readonly #rows = new RecordIndex();
  // Beside the rows, not in them, like the side tables of the SQL stores.
  readonly #activity = new Map<string, TokenActivity>();
  // Every id in order, for pages; rebuilt on the next page read after an insert or a delete.
  #sortedIds: string[] | null = null;

  findBy(key: LookupKey): readonly TokenRecord[] {
    return this.#rows.findBy(key);
  }

  // Synchronous from read to write, so no other call can interleave: atomic by construction.
  async upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void> {
    this.#put(decide(this.#candidates(keys)));
  }

  // `decide` runs before anything is written, so when it throws nothing is.
  async upsertMany(
    keys: readonly LookupKey[],
    decide: (candidates: readonly TokenRecord[]) => readonly TokenRecord[],
  ): Promise<void> {
    for (const record of decide(this.#candidates(keys))) this.#put(record);
  }

  #put(record: TokenRecord): void {
    if (this.#rows.get(record.id) === undefined) this.#sortedIds = null;
    this.#rows.put(record);
  }

  #candidates(keys: readonly LookupKey[]): TokenRecord[] {
    return [...new Set(keys.flatMap((key) => this.#rows.findBy(key)))];
  }

  async delete(id: string): Promise<void> {
    if (this.#rows.get(id) !== undefined) this.#sortedIds = null;
    this.#rows.remove(id);
    this.#activity.delete(id);
  }

  async list(): Promise<readonly TokenRecord[]> {
    return [...this.#rows.values()];
  }

  async listPage(afterId: string | null, limit: number): Promise<readonly TokenRecord[]> {
    this.#sortedIds ??= [...this.#rows.values()].map((row) => row.id).sort();
    const ids = this.#sortedIds;
    // Binary search for the first id after `afterId`.
    let [low, high] = [0, ids.length];
    while (afterId !== null && low < high) {
      const middle = (low + high) >>> 1;
      if ((ids[middle] as string) <= afterId) low = middle + 1;
      else high = middle;
    }
    return ids.slice(low, low + limit).map((id) => this.#rows.get(id) as TokenRecord);
  }

  async count(): Promise<number> {
    return this.#rows.size;
  }

  async clear(): Promise<void> {
    this.#sortedIds = null;
    this.#rows.clear();
    this.#activity.clear();
  }

  async touch(id: string, event: 'used' | 'revoked', at: number): Promise<void> {
    if (this.#rows.get(id) === undefined) return;
    const { lastUsedAt = null, revokedAt = null } = this.#activity.get(id) ?? {};
    this.#activity.set(
      id,
      event === 'used'
        ? { id, lastUsedAt: Math.max(lastUsedAt ?? at, at), revokedAt }
        : { id, lastUsedAt, revokedAt: Math.max(revokedAt ?? at, at) },
    );
  }

  async activity(): Promise<readonly TokenActivity[]> {
    return [...this.#activity.values()];
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
