import type { TokenRecord } from '../token/token-record.js';

/** The columns a token can be looked up by. */
export type LookupColumn = 'id' | 'userName' | 'accessToken' | 'grantToken' | 'refreshToken';

/** One lookup: rows whose `column` equals `value`. */
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
   */
  upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void>;

  /** Deletes the row with this id, if any. */
  delete(id: string): Promise<void>;

  /** Every row. */
  list(): Promise<readonly TokenRecord[]>;

  /** Deletes every row. */
  clear(): Promise<void>;

  /** Releases connections or handles. Optional. */
  close?(): Promise<void>;
}
