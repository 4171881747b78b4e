import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import type { TokenLike } from '../token/oauth-token.js';
import type { TokenRecord } from '../token/token-record.js';

/**
 * A save that happens only if the token's row is still the one read: a compare-and-set, decided
 * in the same atomic step as the write. The TokenManager saves a refresh this way, so a holder of
 * the refresh lock that lost it without knowing (paused past its lease, or cut off until the
 * server dropped its session) cannot overwrite the newer token another process saved meanwhile.
 * Every built-in store offers it, and `EncryptedStore` when its inner store does.
 *
 * @example
 * ```ts
 * import { hasConditionalSave, isTokenStoreError, TokenStoreErrorCode } from 'zoho-token-store';
 * const read = await store.findTokenById(id);
 * const next = new OAuthToken({ id, accessToken: '1000.new…', expiresIn: String(Date.now() + 3_600_000) });
 * try {
 *   if (read && hasConditionalSave(store)) await store.saveTokenIfUnchanged(next, read);
 * } catch (error) {
 *   if (!(isTokenStoreError(error) && error.code === TokenStoreErrorCode.TOKEN_CHANGED)) throw error;
 *   // Someone else saved or deleted it first: read it again.
 * }
 * ```
 */
export interface ConditionalSave {
  /**
   * Saves `token` as `saveToken` would, into the row of `read` (a token this store returned), only
   * if that row still holds the tokens, expiry and client secret it was read with.
   *
   * @throws TokenStoreError `TOKEN_CHANGED` when the row changed or is gone since: nothing is written.
   */
  saveTokenIfUnchanged(token: TokenLike, read: TokenLike): Promise<void>;
}

/**
 * True when the store offers {@link ConditionalSave}.
 *
 * @example
 * ```ts
 * import { hasConditionalSave } from 'zoho-token-store';
 * if (hasConditionalSave(store)) await store.saveTokenIfUnchanged(next, read);
 * ```
 */
export function hasConditionalSave(store: object): store is ConditionalSave {
  return typeof (store as Partial<ConditionalSave>).saveTokenIfUnchanged === 'function';
}

/** The fields a refresh, a new sign-in or a re-encryption changes: a row with the same ones has not moved on. */
const VERSION_FIELDS = ['accessToken', 'refreshToken', 'grantToken', 'expiryTime', 'clientSecret'] as const;

/** Whether the stored row is still the version `read` was (an empty value and none count as the same). */
export function sameVersion(row: TokenRecord, read: TokenRecord): boolean {
  return VERSION_FIELDS.every((field) => (row[field] ?? '') === (read[field] ?? ''));
}

/** The error of a conditional save whose row moved on. */
export function tokenChanged(operation: string): TokenStoreError {
  return new TokenStoreError(
    TokenStoreErrorCode.TOKEN_CHANGED,
    `${operation}: the token was saved or deleted by someone else since it was read; nothing was written`,
  );
}
