import { ZohoTokenStoreError } from '../zoho-token-store-error.js';

/** Codes carried by {@link OAuthError}. Compare against these, never against messages. */
export const OAuthErrorCode = {
  /** Zoho's `invalid_code`: the grant code is spent or expired, or the refresh token was revoked. The user must authorise again. */
  INVALID_GRANT: 'INVALID_GRANT',
  /** Zoho's `invalid_client`: the client id is unknown to this data center. */
  INVALID_CLIENT: 'INVALID_CLIENT',
  /** Zoho's `invalid_client_secret`. */
  INVALID_CLIENT_SECRET: 'INVALID_CLIENT_SECRET',
  /** Zoho's `invalid_redirect_uri`: the redirect URI differs from the one registered for the client. */
  INVALID_REDIRECT_URI: 'INVALID_REDIRECT_URI',
  /**
   * Zoho's `missing_org_info`: a client credentials grant without `soid`, or (in the emulator; Zoho's
   * answer there is unconfirmed) with one naming no org of the client.
   */
  MISSING_ORG_INFO: 'MISSING_ORG_INFO',
  /** Zoho's "Access Denied": too many requests. Retryable, but only after `retryAfterMs`; the client never retries it itself. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The accounts server answered with a 5xx status, also after the client's retries. */
  SERVER_ERROR: 'SERVER_ERROR',
  /** The request did not reach the accounts server, or the connection broke; `cause` holds fetch's error. */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** An attempt took longer than `timeoutMs`, also after the client's retries. */
  TIMEOUT: 'TIMEOUT',
  /** A body that is not JSON, or JSON that is neither a known error nor a usable answer. */
  UNEXPECTED_RESPONSE: 'UNEXPECTED_RESPONSE',
  /** Revoke of a token the accounts server does not know (already revoked, or never issued there). */
  INVALID_TOKEN: 'INVALID_TOKEN',
  /**
   * An OAuth redirect names an accounts server or location that is no known Zoho data center. Refused
   * because the client secret would be sent to it; see `allowCustomAccountsServer`.
   */
  UNKNOWN_DATA_CENTER: 'UNKNOWN_DATA_CENTER',
  /**
   * The environment's accounts server is not where its secrets may go: for a Zoho data center, another
   * server than that data center's; for a custom environment, plain http off loopback (without
   * `allowInsecureHttp`) or credentials in the URL. Nothing was sent.
   */
  UNTRUSTED_ACCOUNTS_SERVER: 'UNTRUSTED_ACCOUNTS_SERVER',
  /** The answer's body is larger than any the accounts server sends (1 MiB); reading stopped there. Not retried. */
  RESPONSE_TOO_LARGE: 'RESPONSE_TOO_LARGE',
} as const;

export type OAuthErrorCode = (typeof OAuthErrorCode)[keyof typeof OAuthErrorCode];

const RETRYABLE: ReadonlySet<OAuthErrorCode> = new Set([
  OAuthErrorCode.RATE_LIMITED,
  OAuthErrorCode.SERVER_ERROR,
  OAuthErrorCode.NETWORK_ERROR,
  OAuthErrorCode.TIMEOUT,
]);

/** Details of an {@link OAuthError} besides its code and message. */
export interface OAuthErrorOptions {
  /** The error behind this one (fetch's, a JSON parse error, …). */
  cause?: unknown;
  /** The HTTP status of the accounts server's answer, when there was one. */
  status?: number;
  /** How long to wait before trying again, at most 10 minutes; set for {@link OAuthErrorCode.RATE_LIMITED}. */
  retryAfterMs?: number;
  /** The `error` value Zoho sent (such as `invalid_code`), when it is a plain code. */
  zohoError?: string;
}

/**
 * The one error type the accounts client raises (a {@link ZohoTokenStoreError}). Its message never holds a token, code or secret,
 * so it is safe to log.
 *
 * @example
 * ```ts
 * import { isOAuthError, OAuthErrorCode, refreshAccessToken } from 'zoho-token-store';
 * try {
 *   await refreshAccessToken(env, client, refreshToken);
 * } catch (error) {
 *   if (isOAuthError(error) && error.code === OAuthErrorCode.INVALID_GRANT) askTheUserToSignInAgain();
 *   else if (isOAuthError(error) && error.retryable) retryIn(error.retryAfterMs ?? 1_000);
 *   else throw error;
 * }
 * ```
 */
export class OAuthError extends ZohoTokenStoreError {
  override readonly name = 'OAuthError';
  declare readonly code: OAuthErrorCode;
  /** The HTTP status of the answer, absent when none arrived (network error, timeout). */
  readonly status: number | undefined;
  /** Whether the same call may succeed later: rate limits, 5xx, network errors and timeouts. */
  readonly retryable: boolean;
  /** How long to wait before trying again, when the server's answer implies one. */
  readonly retryAfterMs: number | undefined;
  /** Zoho's own `error` value, such as `invalid_code` or `Access Denied`. */
  readonly zohoError: string | undefined;

  constructor(code: OAuthErrorCode, message: string, options: OAuthErrorOptions = {}) {
    super(code, message, options);
    this.status = options.status;
    this.retryable = RETRYABLE.has(code);
    this.retryAfterMs = options.retryAfterMs;
    this.zohoError = options.zohoError;
  }
}

/** True for an {@link OAuthError}, also one from another copy of this package (matched by name). */
export function isOAuthError(value: unknown): value is OAuthError {
  return value instanceof Error && value.name === 'OAuthError' && typeof (value as OAuthError).code === 'string';
}
