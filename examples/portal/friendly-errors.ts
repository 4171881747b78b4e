import {
  CrmErrorCode,
  isCrmError,
  isOAuthError,
  isTokenManagerError,
  isTokenStoreError,
  OAuthErrorCode,
  TokenManagerErrorCode,
  TokenStoreErrorCode,
} from 'zoho-token-store';

/** What a user is told about a failure: an HTTP status, a title and one plain sentence or two. */
export interface FriendlyError {
  status: number;
  title: string;
  message: string;
}

/**
 * A failure the portal itself detects, with the words to show for it.
 *
 * @example
 * ```ts
 * throw new PortalError({ status: 400, title: 'Sign-in could not be verified', message: 'Please start again.' });
 * ```
 */
export class PortalError extends Error {
  override readonly name = 'PortalError';
  readonly status: number;
  readonly title: string;

  constructor({ status, title, message }: FriendlyError) {
    super(message);
    this.status = status;
    this.title = title;
  }
}

/**
 * Zoho refused the grant code of a callback: spent by an earlier one, or older than its few minutes.
 *
 * @example
 * ```ts
 * throw new PortalError(SIGN_IN_EXPIRED);
 * ```
 */
export const SIGN_IN_EXPIRED: Readonly<FriendlyError> = Object.freeze({
  status: 400,
  title: 'Sign-in expired',
  message: 'That sign-in code has expired or was already used. Please sign in again.',
});

/** CRM calls that got no usable answer: the network, a timeout, or a page that is not Zoho's JSON. */
const CRM_UNREACHABLE: ReadonlySet<string> = new Set([
  CrmErrorCode.NETWORK_ERROR,
  CrmErrorCode.TIMEOUT,
  CrmErrorCode.UNEXPECTED_RESPONSE,
]);

/** Token failures after which only a new sign-in helps. */
const SIGN_IN_AGAIN: ReadonlySet<string> = new Set([
  TokenManagerErrorCode.REAUTHORIZATION_REQUIRED,
  TokenManagerErrorCode.TOKEN_NOT_FOUND,
  TokenManagerErrorCode.TOKEN_DELETED,
  TokenManagerErrorCode.CANNOT_REFRESH,
]);

/** Store errors about stored data this portal cannot use (a missing or wrong key, altered rows): kept, never retried as tokens. */
const UNREADABLE: ReadonlySet<string> = new Set([
  TokenStoreErrorCode.NO_KEY,
  TokenStoreErrorCode.UNKNOWN_KEY,
  TokenStoreErrorCode.WRONG_KEY,
  TokenStoreErrorCode.NOT_ENCRYPTED,
  TokenStoreErrorCode.CORRUPT_DATA,
  TokenStoreErrorCode.UNTRUSTED_FILE,
]);

/** Store errors about the input (a NUL in a code from the query string, say): the request's fault, not the store's. */
const REFUSED_INPUT: ReadonlySet<string> = new Set([TokenStoreErrorCode.INVALID_TOKEN, TokenStoreErrorCode.INVALID_ID]);

/**
 * True when the user's Zoho access is gone (revoked, deleted, expired for good): send them to sign in.
 *
 * @example
 * ```ts
 * if (mustSignInAgain(error)) return redirect('/?notice=reauth', [sessions.end()]);
 * ```
 */
export function mustSignInAgain(error: unknown): boolean {
  return isTokenManagerError(error) && SIGN_IN_AGAIN.has(error.code);
}

/**
 * The friendly words for any failure. Messages are fixed texts: nothing from the error (which could
 * quote a value) reaches the page.
 *
 * @example
 * ```ts
 * const { status, title, message } = describeError(error);
 * ```
 */
export function describeError(error: unknown): FriendlyError {
  if (error instanceof PortalError) return { status: error.status, title: error.title, message: error.message };
  if (isTokenManagerError(error)) {
    if (error.code === TokenManagerErrorCode.RATE_LIMITED) {
      const seconds = Math.ceil((error.retryAfterMs ?? 60_000) / 1000);
      return zohoBusy(`Zoho asked us to slow down. Please try again in ${seconds} seconds.`);
    }
    return {
      status: 401,
      title: 'Please sign in again',
      message: 'Zoho no longer accepts this sign-in: it expired, was already used or was revoked.',
    };
  }
  if (isOAuthError(error)) {
    switch (error.code) {
      case OAuthErrorCode.UNKNOWN_DATA_CENTER:
        return {
          status: 400,
          title: 'Unknown Zoho server',
          message: 'The sign-in came back from a server that is not a Zoho data center, so it was refused.',
        };
      case OAuthErrorCode.INVALID_GRANT:
        return SIGN_IN_EXPIRED;
      case OAuthErrorCode.RATE_LIMITED:
        return zohoBusy('Zoho asked us to slow down. Please try again in a minute.');
      case OAuthErrorCode.INVALID_CLIENT:
      case OAuthErrorCode.INVALID_CLIENT_SECRET:
      case OAuthErrorCode.INVALID_REDIRECT_URI:
        return {
          status: 500,
          title: 'The portal is misconfigured',
          message:
            'Zoho does not accept this portal’s client id, secret or redirect URL. Please tell the administrator.',
        };
      default:
        return zohoUnreachable();
    }
  }
  if (isCrmError(error)) {
    if (CRM_UNREACHABLE.has(error.code)) return zohoUnreachable();
    if (error.code === CrmErrorCode.UNTRUSTED_API_DOMAIN) {
      return {
        status: 500,
        title: 'Your stored sign-in points to a server that is not Zoho',
        message: 'It was not used, and nothing was sent there. Please tell the administrator.',
      };
    }
    return {
      status: 502,
      title: 'Zoho CRM did not answer as expected',
      message: 'Your data could not be loaded right now. Please try again shortly.',
    };
  }
  if (isTokenStoreError(error) && REFUSED_INPUT.has(error.code)) {
    return {
      status: 400,
      title: 'That request could not be used',
      message: 'It carried a value that no sign-in code or token can hold. Please start again.',
    };
  }
  if (isTokenStoreError(error) && UNREADABLE.has(error.code)) {
    return {
      status: 500,
      title: 'The portal cannot read its stored sign-ins',
      message: 'They were kept as they are. Please tell the administrator (the encryption key or the token file).',
    };
  }
  if (isTokenStoreError(error)) {
    return {
      status: 503,
      title: 'Sign-ins are unavailable',
      message: 'The token store cannot be reached right now. Please try again shortly.',
    };
  }
  return {
    status: 500,
    title: 'Something went wrong',
    message: 'The portal hit an unexpected problem. Please try again.',
  };
}

const zohoBusy = (message: string): FriendlyError => ({ status: 503, title: 'Zoho is busy', message });

const zohoUnreachable = (): FriendlyError => ({
  status: 502,
  title: 'Zoho could not be reached',
  message: 'The connection to Zoho failed. Please try again shortly.',
});
