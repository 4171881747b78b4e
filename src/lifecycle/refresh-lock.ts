/**
 * A lock a store can offer so that processes sharing it refresh a token once, not once each.
 * The TokenManager holds it around exchange and refresh, and re-reads the token inside it.
 * A holder that dies must release it within a bounded lease.
 */
export interface RefreshLock {
  withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R>;
}

/** True when the store offers a {@link RefreshLock}. */
export function hasRefreshLock(store: object): store is RefreshLock {
  return typeof (store as Partial<RefreshLock>).withRefreshLock === 'function';
}

/**
 * The lock key of a stored token: what the TokenManager holds while it renews the token with
 * this id, and what `rekey`, `purgeTokens` and every delete ({@link withTokenLock}) hold so they
 * never interleave with a renewal.
 */
export function tokenLockKey(name: string): string {
  return `zoho-token:${name}`;
}

/**
 * Runs `work` holding the refresh lock of the stored token with this id, when the store has a
 * refresh lock; else just runs it. Delete a token inside it so no renewal of that token, in this
 * process or another, saves in between: the TokenManager re-reads the token inside the same lock
 * and never saves one whose row is gone.
 *
 * @throws TokenStoreError `LOCK_TIMEOUT` when the lock stays busy past the store's lock timeout.
 * @example
 * ```ts
 * import { withTokenLock } from 'zoho-token-store';
 * await withTokenLock(store, id, () => store.deleteToken(id));
 * ```
 */
export function withTokenLock<R>(store: object, id: string, work: () => Promise<R>): Promise<R> {
  return hasRefreshLock(store) ? store.withRefreshLock(tokenLockKey(id), work) : work();
}
