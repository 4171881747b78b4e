import { ZohoTokenStoreError } from './zoho-token-store-error.js';

/** Codes carried by {@link TokenStoreError}. Compare against these, never against messages. */
export const TokenStoreErrorCode = {
  /**
   * The argument is not a token object (it lacks the official accessor methods), or a field of
   * it holds a NUL or a lone UTF-16 surrogate, which no store keeps as it is.
   */
  INVALID_TOKEN: 'INVALID_TOKEN',
  /** An id argument is not a non-empty string, or holds a NUL or a lone UTF-16 surrogate. */
  INVALID_ID: 'INVALID_ID',
  /** The token names a user, id or client but carries no grant, refresh or access token to store. */
  NOTHING_TO_SAVE: 'NOTHING_TO_SAVE',
  /** The token's id belongs to a stored row of another user. */
  ID_CONFLICT: 'ID_CONFLICT',
  /** The underlying storage (database, file, …) failed; `cause` holds the driver's error. */
  STORAGE_FAILURE: 'STORAGE_FAILURE',
  /** A refresh lock was not acquired within the store's `lockTimeoutMs`. */
  LOCK_TIMEOUT: 'LOCK_TIMEOUT',
  /**
   * A conditional save (`saveTokenIfUnchanged`) found the token's row changed or gone since it was
   * read: another process saved or deleted it meanwhile. Nothing was written.
   */
  TOKEN_CHANGED: 'TOKEN_CHANGED',
  /** The store was used after `close()`. */
  CLOSED: 'CLOSED',
  /**
   * Stored data failed its integrity check: a token file that is truncated, edited or not ours,
   * or an encrypted row whose index does not match its sealed secrets. Nothing was replaced.
   */
  CORRUPT_DATA: 'CORRUPT_DATA',
  /**
   * A token file another user owns (root excepted) or that group or others may write: another user
   * could have planted or changed it. It was not read, and nothing was replaced.
   */
  UNTRUSTED_FILE: 'UNTRUSTED_FILE',
  /**
   * No usable encryption key: none given (option or `ZOHO_TOKEN_KEY`), one that is not 32 bytes,
   * or a store opened without a key that holds encrypted tokens (never handed out as tokens).
   */
  NO_KEY: 'NO_KEY',
  /** A value was encrypted under a key id the keyring does not hold. */
  UNKNOWN_KEY: 'UNKNOWN_KEY',
  /** A value did not decrypt: the key for its id is wrong, or the value was tampered with or moved from another row. */
  WRONG_KEY: 'WRONG_KEY',
  /**
   * An encrypted store holds a secret in plain text: written around the encryption, or before it
   * was turned on. Read only in `EncryptedStore`'s `migration` mode, until `rekey`.
   */
  NOT_ENCRYPTED: 'NOT_ENCRYPTED',
  /**
   * An encrypted store holds a row in the format of an earlier version (`enc:v1:`), whose values
   * are not bound to their row. Read only in `EncryptedStore`'s `migration` mode, until `rekey`.
   */
  OLD_FORMAT: 'OLD_FORMAT',
  /** A store URL that `openStore` cannot open: an unknown scheme or a malformed URL. */
  INVALID_STORE_URL: 'INVALID_STORE_URL',
  /** The store cannot do this (for example, it does not track token activity). */
  NOT_SUPPORTED: 'NOT_SUPPORTED',
  /**
   * A plain email names a user who has tokens in several orgs (`email:zgid` rows of different
   * zgids), and nothing else the token carries decides which: name the user as `email:zgid`.
   */
  AMBIGUOUS_USER: 'AMBIGUOUS_USER',
  /** No stored token has the id asked for, where the caller cannot do without one (a legacy SDK's `getTokenById`). */
  NOT_FOUND: 'NOT_FOUND',
} as const;

export type TokenStoreErrorCode = (typeof TokenStoreErrorCode)[keyof typeof TokenStoreErrorCode];

/**
 * The one error type every store raises (a {@link ZohoTokenStoreError}). A failed call leaves the stored data as it was.
 *
 * @example
 * ```ts
 * import { isTokenStoreError, TokenStoreErrorCode } from 'zoho-token-store';
 * try {
 *   await store.saveToken(token);
 * } catch (error) {
 *   if (isTokenStoreError(error) && error.code === TokenStoreErrorCode.STORAGE_FAILURE) retryLater();
 *   else throw error;
 * }
 * ```
 */
export class TokenStoreError extends ZohoTokenStoreError {
  override readonly name = 'TokenStoreError';
  declare readonly code: TokenStoreErrorCode;

  constructor(code: TokenStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** True for a {@link TokenStoreError}, also one from another copy of this package (matched by name). */
export function isTokenStoreError(value: unknown): value is TokenStoreError {
  return (
    value instanceof Error && value.name === 'TokenStoreError' && typeof (value as TokenStoreError).code === 'string'
  );
}
