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
 * this id, and what `rekey` and `purgeTokens` hold so they never interleave with a renewal.
 */
export function tokenLockKey(name: string): string {
  return `zoho-token:${name}`;
}
