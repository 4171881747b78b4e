import { isTokenStoreError, TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { hasActivityTracking, type TokenActivity } from '../store/token-activity.js';
import type { TokenStore } from '../store/token-store.js';
import { summarizeToken, type TokenSummary } from '../token/masking.js';
import type { TokenLike } from '../token/oauth-token.js';
import { withTokenLock } from './refresh-lock.js';

/**
 * Why {@link purgeTokens} removed a token; when several apply, the first in this order is given.
 *
 * @example
 * ```ts
 * const revokedIds = result.purged.filter((t) => t.reason === 'revoked').map((t) => t.id);
 * ```
 */
export type PurgeReason = 'revoked' | 'expired' | 'idle';

/**
 * Which tokens {@link purgeTokens} removes: those matching any of the policies given.
 *
 * @example
 * ```ts
 * const options: PurgeOptions = { expired: true, idleMs: 90 * 86_400_000, dryRun: true };
 * ```
 */
export interface PurgeOptions {
  /** Tokens whose access token has expired and that have no refresh token to renew it. */
  expired?: boolean;
  /** Tokens not used for longer than this many ms (see {@link purgeTokens} for "used"). Needs activity tracking. */
  idleMs?: number;
  /** Tokens whose refresh token Zoho refused since their last grant or refresh. Needs activity tracking. */
  revoked?: boolean;
  /** The time to judge by, in ms since the epoch. Default `Date.now()`. */
  now?: number;
  /** Only report what would be purged; delete nothing. */
  dryRun?: boolean;
}

/**
 * A purged (or, in a dry run, purgeable) token: its masked summary and why.
 *
 * @example
 * ```ts
 * for (const token of result.purged) console.log(token.id, token.userName, token.reason);
 * ```
 */
export interface PurgedToken extends TokenSummary {
  reason: PurgeReason;
}

/**
 * What {@link purgeTokens} did.
 *
 * @example
 * ```ts
 * const { purged, kept } = await purgeTokens(store, { expired: true });
 * console.log(`purged ${purged.length}, kept ${kept}`);
 * ```
 */
export interface PurgeResult {
  /** The tokens removed (in a dry run: that would be), secrets masked. */
  purged: PurgedToken[];
  /** How many tokens stay in the store. */
  kept: number;
}

// Zoho access tokens live one hour, so a token's last grant or refresh was one hour before its expiry.
const ACCESS_TOKEN_LIFETIME_MS = 3_600_000;

/**
 * Removes the tokens that match a cleanup policy, by id, and says which and why.
 *
 * - **expired**: the access token has expired and there is no refresh token, so it can never be
 *   renewed. A token without an expiry never counts as expired.
 * - **idle** (`idleMs`): the last use is older than `idleMs`, where the last use is the later of
 *   the recorded last use and the last grant or refresh (the expiry minus one hour). So a token
 *   never handed out still counts from when it was granted, and one the TokenManager refreshes
 *   counts as used. A token with neither an expiry nor a recorded use is never idle.
 * - **revoked**: Zoho refused its refresh token (recorded by the TokenManager) at or after its last
 *   grant or refresh, so a user who signed in again since is kept.
 *
 * Idle and revoked need a store that tracks activity (`hasActivityTracking`); on another store
 * they fail with `TokenStoreError` `NOT_SUPPORTED`. Each token (and all activity) is read again
 * just before the deletes, so one renewed, used or signed in again since the listing is kept. On
 * a store with a refresh lock (every built-in store but MemoryStore) each token is read again and
 * deleted while holding the lock the TokenManager refreshes it under, so no refresh lands in
 * between; a token whose lock stays busy past the store's lock timeout is being refreshed, and
 * is kept. Other writers are not covered (a sign-in, which saves over the user's row under a lock
 * of its own; a save that bypasses the TokenManager; a use recorded in that instant): the
 * `TokenStore` contract has no conditional delete, so run it when few sign-ins are expected, or
 * with `dryRun` first.
 *
 * @throws TypeError when no policy is given or `idleMs` is not a positive number.
 *
 * @example
 * ```ts
 * import { purgeTokens } from 'zoho-token-store';
 * const { purged, kept } = await purgeTokens(store, { idleMs: 90 * 86_400_000, revoked: true });
 * for (const token of purged) console.log(token.id, token.userName, token.reason);
 * ```
 */
export async function purgeTokens(store: TokenStore<TokenLike>, options: PurgeOptions): Promise<PurgeResult> {
  const { expired = false, idleMs, revoked = false, dryRun = false } = options;
  if (idleMs !== undefined && !(typeof idleMs === 'number' && idleMs > 0 && Number.isFinite(idleMs))) {
    throw new TypeError('purgeTokens: idleMs must be a positive number of ms');
  }
  if (!expired && !revoked && idleMs === undefined) {
    throw new TypeError('purgeTokens: choose at least one of expired, idleMs or revoked');
  }
  const needsActivity = revoked || idleMs !== undefined;
  if (needsActivity && !hasActivityTracking(store)) {
    throw new TokenStoreError(
      TokenStoreErrorCode.NOT_SUPPORTED,
      'purgeTokens: this store does not track token activity, so idle and revoked tokens cannot be told',
    );
  }
  const now = options.now ?? Date.now();
  const readActivity = async (): Promise<ReadonlyMap<string, TokenActivity>> =>
    hasActivityTracking(store) && needsActivity
      ? new Map((await store.getActivity()).map((entry) => [entry.id, entry]))
      : new Map();
  const reasonOf = (token: TokenLike, activity: ReadonlyMap<string, TokenActivity>): PurgeReason | null => {
    const id = token.getId();
    return judge(token, id === null ? undefined : activity.get(id), { expired, idleMs, revoked, now });
  };

  const tokens = await store.getTokens();
  const activity = await readActivity();
  const candidates = tokens.flatMap((token) => {
    const reason = reasonOf(token, activity);
    return reason === null || !token.getId() ? [] : [{ token, reason }];
  });
  if (dryRun) {
    const purged = candidates.map(({ token, reason }) => ({ ...summarizeToken(token), reason }));
    return { purged, kept: tokens.length - purged.length };
  }

  const fresh = await readActivity();
  const purged: PurgedToken[] = [];
  let vanished = 0;
  const purgeOne = async (id: string) => {
    const current = await store.findTokenById(id);
    if (current === null) {
      vanished++;
      return;
    }
    const reason = reasonOf(current, fresh);
    if (reason === null) return;
    await store.deleteToken(id);
    purged.push({ ...summarizeToken(current), reason });
  };
  for (const { token } of candidates) {
    const id = token.getId() as string;
    // Under the token's refresh lock, so no refresh lands between the re-read and the delete.
    await withTokenLock(store, id, () => purgeOne(id)).catch((error: unknown) => {
      // Busy past the lock timeout: someone is refreshing it, so it is in use; keep it.
      if (!isTokenStoreError(error) || error.code !== TokenStoreErrorCode.LOCK_TIMEOUT) throw error;
    });
  }
  return { purged, kept: tokens.length - purged.length - vanished };
}

function judge(
  token: TokenLike,
  activity: TokenActivity | undefined,
  policy: { expired: boolean; idleMs: number | undefined; revoked: boolean; now: number },
): PurgeReason | null {
  const expiry = expiryOf(token);
  const lastGrant = expiry === null ? null : expiry - ACCESS_TOKEN_LIFETIME_MS;
  const revokedAt = activity?.revokedAt ?? null;
  if (policy.revoked && revokedAt !== null && (lastGrant === null || revokedAt >= lastGrant)) return 'revoked';
  const refreshToken = token.getRefreshToken();
  const renewable = typeof refreshToken === 'string' && refreshToken.length > 0;
  if (policy.expired && expiry !== null && expiry <= policy.now && !renewable) return 'expired';
  if (policy.idleMs !== undefined) {
    const lastUse = Math.max(activity?.lastUsedAt ?? Number.NEGATIVE_INFINITY, lastGrant ?? Number.NEGATIVE_INFINITY);
    if (lastUse !== Number.NEGATIVE_INFINITY && policy.now - lastUse > policy.idleMs) return 'idle';
  }
  return null;
}

function expiryOf(token: TokenLike): number | null {
  const raw = token.getExpiresIn();
  if (raw == null || raw === '') return null;
  const expiry = Number(raw);
  return Number.isFinite(expiry) ? expiry : null;
}
