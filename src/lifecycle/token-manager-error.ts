import { ZohoTokenStoreError } from '../zoho-token-store-error.js';

/** Codes carried by {@link TokenManagerError}. */
export const TokenManagerErrorCode = {
  /** The store holds no token for the reference, and there is no grant token to exchange. */
  TOKEN_NOT_FOUND: 'TOKEN_NOT_FOUND',
  /** Zoho refused the grant or refresh token (spent, expired or revoked): the user must sign in again. */
  REAUTHORIZATION_REQUIRED: 'REAUTHORIZATION_REQUIRED',
  /** The access token expired and there is no refresh token or client credentials to renew it. */
  CANNOT_REFRESH: 'CANNOT_REFRESH',
  /**
   * The stored token was deleted (by an admin, `zoho-tokens delete`, revoke or purge), during a
   * refresh or since: the renewal is not saved, the manager drops its token, and the user must sign in again.
   */
  TOKEN_DELETED: 'TOKEN_DELETED',
  /**
   * The stored token changed while this manager refreshed it (its refresh lock lapsed, and another
   * process saved meanwhile), and what is stored now is not a valid access token: the refresh was
   * not saved over it. Call again: the next call starts from the stored token.
   */
  TOKEN_CHANGED: 'TOKEN_CHANGED',
  /** Zoho throttled this client ("Access Denied"); `retryAfterMs` says when to try again. */
  RATE_LIMITED: 'RATE_LIMITED',
} as const;

export type TokenManagerErrorCode = (typeof TokenManagerErrorCode)[keyof typeof TokenManagerErrorCode];

/** A token the TokenManager cannot provide (a {@link ZohoTokenStoreError}); `cause` holds the Zoho or store error behind it. */
export class TokenManagerError extends ZohoTokenStoreError {
  override readonly name = 'TokenManagerError';
  declare readonly code: TokenManagerErrorCode;
  readonly retryAfterMs: number | undefined;

  constructor(code: TokenManagerErrorCode, message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(code, message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True for a {@link TokenManagerError}, also one from another copy of this package. */
export function isTokenManagerError(value: unknown): value is TokenManagerError {
  return (
    value instanceof Error &&
    value.name === 'TokenManagerError' &&
    typeof (value as TokenManagerError).code === 'string'
  );
}
