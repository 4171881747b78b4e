import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import type { TokenRecord } from '../token/token-record.js';

/** Every format `EncryptedStore` has written starts `enc:v<version>:`; no Zoho token does. */
const SEALED = /^enc:v[0-9]+:/;

/** The secret fields of a record, the only ones `EncryptedStore` seals. */
export const SECRET_FIELDS = ['clientSecret', 'grantToken', 'refreshToken', 'accessToken'] as const;

/**
 * Whether a stored value was written by `EncryptedStore`: ciphertext or a blind index, which
 * must never be used or shown as the secret itself.
 *
 * @example
 * ```ts
 * isSealedValue('enc:v2:k1:Qm9…'); // true
 * isSealedValue('1000.3f4a…');     // false
 * ```
 */
export function isSealedValue(value: string | null | undefined): boolean {
  return typeof value === 'string' && SEALED.test(value);
}

/**
 * Fails closed on a record holding encrypted values, read or about to be overwritten by a store
 * that has no key: returning them would hand ciphertext out as a token (sent to Zoho, refused,
 * and then deleted as revoked), and overwriting them would mix plain and encrypted values.
 */
export function refuseSealed(record: TokenRecord, operation: string): void {
  if (!SECRET_FIELDS.some((field) => isSealedValue(record[field]))) return;
  throw new TokenStoreError(
    TokenStoreErrorCode.NO_KEY,
    `${operation}: token ${record.id} is encrypted and this store has no key: open it with the keyring (ZOHO_TOKEN_KEY, or EncryptedStore)`,
  );
}
