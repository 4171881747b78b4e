import type { TokenRecord } from '../token/token-record.js';
import type { TokenActivity } from './token-activity.js';

/**
 * The columns a token can be looked up by. `userEmail` is derived from `userName`: the email of a
 * user named the official SDK 8.0's way, `email:zgid` (the part before the first `:`); a plain
 * name has none. A lookup of it finds every org's row of that email (see `emailOf`).
 */
export type LookupColumn = 'id' | 'userName' | 'userEmail' | 'accessToken' | 'grantToken' | 'refreshToken';

/** One lookup: rows whose `column` equals `value` (for `userEmail`, whose `emailOf(userName)` does). */
export interface LookupKey {
  readonly column: LookupColumn;
  readonly value: string;
}

/**
 * Storage for token records, without any of the matching rules: `RecordTokenStore` turns a
 * backend into a `TokenStore` with the article's semantics. Write a backend to add a new kind
 * of storage; every built-in store is one.
 */
export interface RecordBackend {
  /**
   * The rows whose column equals the key's value (usually none or one). A backend that can
   * answer synchronously may return the array itself; that saves a promise on the hot path.
   */
  findBy(key: LookupKey): readonly TokenRecord[] | Promise<readonly TokenRecord[]>;

  /**
   * In one atomic step: read the rows matching any of `keys`, pass them to `decide`, and
   * write the record it returns — an update of the candidate row with the same id, or an
   * insert when no candidate has that id. No other writer may run in between (a transaction,
   * a lock, or synchronous code). If `decide` throws, nothing is written and the error passes.
   * The record's id is always that of a candidate or the value of one of the `id` keys, so a
   * backend can read (or watch) every row it may write in advance. An insert starts with no activity.
   */
  upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void>;

  /**
   * `upsert` for many records at once: in one atomic step, under the same serialisation, read
   * the rows matching any of `keys`, pass them to `decide`, and write every record it returns
   * (distinct ids; an update of the candidate with the same id, else an insert). If `decide`
   * throws, nothing is written. Optional: `saveTokens` falls back to one `upsert` per token.
   */
  upsertMany?(
    keys: readonly LookupKey[],
    decide: (candidates: readonly TokenRecord[]) => readonly TokenRecord[],
  ): Promise<void>;

  /** Deletes the row with this id, if any, and its activity. */
  delete(id: string): Promise<void>;

  /** Every row. */
  list(): Promise<readonly TokenRecord[]>;

  /**
   * At most `limit` rows whose id sorts after `afterId` (from the first row when null), in id
   * order: the storage's own comparison of ids, the same on every call, so passing the last id
   * of one page as `afterId` gives the next page. Fewer than `limit` rows only when no more
   * follow. Arguments arrive checked: `afterId` null or non-empty, `limit` a positive integer.
   * Optional: `getTokensPage` falls back to sorting `list()`. A row inserted or deleted during
   * a walk may or may not be seen; every row present throughout it is seen exactly once.
   */
  listPage?(afterId: string | null, limit: number): Promise<readonly TokenRecord[]>;

  /** How many rows there are, without reading them. Optional: `countTokens` falls back to `list()`. */
  count?(): Promise<number>;

  /** Deletes every row, and all activity. */
  clear(): Promise<void>;

  /**
   * Records activity of the row with this id: `used` sets its last use, `revoked` the time Zoho
   * refused its refresh token. Ignored when no row has the id. Optional: a backend without it
   * (and `activity`) does not track activity, and idle cleanup is not available on it.
   */
  touch?(id: string, event: 'used' | 'revoked', at: number): Promise<void>;

  /** Every row's recorded activity (rows with none may be left out). Present exactly when `touch` is. */
  activity?(): Promise<readonly TokenActivity[]>;

  /** Releases connections or handles. Optional. */
  close?(): Promise<void>;
}
