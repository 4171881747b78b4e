import type { OAuthToken, TokenLike } from '../token/oauth-token.js';

/**
 * Where tokens persist: the six methods of the official SDKs' `TokenStore`, all async.
 * Every method accepts tokens with the official accessor names, ours or the SDK's.
 * Failures raise a `TokenStoreError` and leave the stored data as it was.
 *
 * `T` is the class of the tokens the store hands back from `getTokens` and `findTokenById`.
 */
export interface TokenStore<T extends TokenLike = OAuthToken> {
  /**
   * Finds the stored token matching the given, partly filled one — by user name; else by
   * access token (when no client id/secret is given); else by grant token, then refresh
   * token (with client credentials) — fills in what the given token lacks and returns it.
   * Returns `null` when nothing matches.
   */
  findToken<U extends TokenLike>(token: U): Promise<U | null>;

  /**
   * Inserts or updates the token, matching an existing row as `findToken` does (and by id),
   * so no user ever has two rows. A new row gets a fresh unique id, set on the token.
   * Fields the token leaves null keep their stored values.
   */
  saveToken(token: TokenLike): Promise<void>;

  /** Deletes the token with this id; an unknown id is a no-op. */
  deleteToken(id: string): Promise<void>;

  /** Every stored token. */
  getTokens(): Promise<T[]>;

  /** Deletes every stored token. */
  deleteTokens(): Promise<void>;

  /** The token with this id, or `null`. */
  findTokenById(id: string): Promise<T | null>;
}
