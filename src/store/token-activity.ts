/**
 * What a store remembers of one token's use, for cleanup policies. Times are ms since the epoch.
 *
 * @example
 * ```ts
 * const refusedIds = (await store.getActivity()).filter((a) => a.revokedAt !== null).map((a) => a.id);
 * ```
 */
export interface TokenActivity {
  /** The token's id. */
  readonly id: string;
  /** When an access token of it was last handed out; null if never recorded. */
  readonly lastUsedAt: number | null;
  /** When Zoho last refused its refresh token (revoked or deleted there); null if it never did. */
  readonly revokedAt: number | null;
}

/**
 * Activity tracking a store can offer beside its tokens, kept apart from the token row so the
 * official table layout stays as it is. The TokenManager records use and revocation; cleanup
 * (`purgeTokens`, `zoho-tokens purge --idle`) reads it. For each event the later time wins, so
 * writers whose calls arrive out of order never move a time back. Saving a token again keeps its
 * activity; deleting a token deletes it.
 *
 * @example
 * ```ts
 * import { hasActivityTracking } from 'zoho-token-store';
 * if (hasActivityTracking(store)) {
 *   await store.recordUse(token.getId(), Date.now());
 *   const idle = (await store.getActivity()).filter((a) => (a.lastUsedAt ?? Infinity) < Date.now() - 30 * 86_400_000);
 * }
 * ```
 */
export interface ActivityTracking {
  /** Records that the token with this id was used at `at`. An id no token has is ignored. */
  recordUse(id: string, at: number): Promise<void>;
  /** Records that Zoho refused the token's refresh token at `at`. An id no token has is ignored. */
  recordRevoked(id: string, at: number): Promise<void>;
  /** The activity of every token that has any recorded. */
  getActivity(): Promise<TokenActivity[]>;
}

/**
 * True when the store tracks activity ({@link ActivityTracking}). A store may have the methods
 * yet say `tracksActivity: false` (a `RecordTokenStore` whose backend keeps no activity).
 *
 * @example
 * ```ts
 * import { hasActivityTracking } from 'zoho-token-store';
 * const activity = hasActivityTracking(store) ? await store.getActivity() : [];
 * ```
 */
export function hasActivityTracking(store: object): store is ActivityTracking {
  const candidate = store as Partial<ActivityTracking> & { tracksActivity?: boolean };
  return typeof candidate.getActivity === 'function' && candidate.tracksActivity !== false;
}
