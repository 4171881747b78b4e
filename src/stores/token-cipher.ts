import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';

/**
 * The token fields that are encrypted at rest; every other field stays plain for matching and listing.
 *
 * @example
 * ```ts
 * const field: SecretField = 'refreshToken';
 * cipher.seal(field, '1000.r…');
 * ```
 */
export type SecretField = 'clientSecret' | 'grantToken' | 'refreshToken' | 'accessToken';

/**
 * The prefix of every value we encrypted; anything else read from a store is plain.
 *
 * @example
 * ```ts
 * import { SEALED_PREFIX } from 'zoho-token-store/stores/encrypted';
 * const sealed = token.getRefreshToken()?.startsWith(SEALED_PREFIX); // read without the key?
 * ```
 */
export const SEALED_PREFIX = 'enc:v1:';

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
// Standard or URL-safe base64 of exactly 32 bytes, with or without its one `=` of padding.
const KEY_32 = /^[A-Za-z0-9+/_-]{43}=?$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface KeyMaterial {
  readonly id: string;
  readonly encKey: Buffer;
  readonly macKey: Buffer;
}

/**
 * A fresh random key for a keyring, as `id:base64key`. Put it first in `ZOHO_TOKEN_KEY` to make
 * it the key new values are written under; keep older keys after it until `rekey` has run.
 *
 * @param id The key's id: letters, digits, `.`, `_`, `-`. Default: `k` and today's UTC date,
 *   plus a random suffix so two keys made on one day differ.
 * @example
 * ```ts
 * import { generateKey } from 'zoho-token-store/stores/encrypted';
 * console.log(generateKey()); // 'k20261124-3fa9c1:q5mB…=': put it first in ZOHO_TOKEN_KEY
 * ```
 */
export function generateKey(
  id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`,
): string {
  if (!KEY_ID.test(id)) {
    throw new TypeError('generateKey: the id must be 1 to 64 letters, digits, ".", "_" or "-"');
  }
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/**
 * Deterministic AES-256-GCM for token fields, under a keyring of `id:base64key` entries (the
 * first is the primary, used for every write).
 *
 * Each key yields, by HKDF-SHA256 over its bytes and id, an encryption key and a MAC key. The IV
 * is the first 12 bytes of HMAC(macKey, field, plaintext), a synthetic IV: equal plaintexts of
 * one field under one key give equal ciphertexts, so the ciphertext itself is the keyed blind
 * index a store looks values up by, and two different plaintexts share an IV only as often as a
 * 96-bit HMAC prefix collides, which is never in practice. The field name and key id are the GCM
 * additional data, so a value moved to another column or relabelled fails to decrypt. The tag is
 * checked by OpenSSL (in constant time) before any plaintext is returned.
 *
 * What the stored form shows, as with any blind index: which values of a field are equal, each
 * value's length (GCM adds no padding), its key id, and which fields are null or empty; never a
 * value. The row is not bound (equal values must seal equally in every row), so someone who can
 * write to the storage can copy a sealed value from one row to the same field of another.
 *
 * @example
 * ```ts
 * import { generateKey, TokenCipher } from './token-cipher.js';
 * const cipher = new TokenCipher(generateKey('k1'));
 * const sealed = cipher.seal('refreshToken', '1000.r…'); // 'enc:v1:k1:…'
 * cipher.open('refreshToken', sealed); // '1000.r…'
 * ```
 */
export class TokenCipher {
  readonly #keys: ReadonlyMap<string, KeyMaterial>;
  readonly #primary: KeyMaterial;

  /** @throws TokenStoreError `NO_KEY` when the keyring is missing, empty or malformed; the message never shows key material. */
  constructor(keyring: string | undefined) {
    if (keyring === undefined || keyring.trim() === '') {
      throw noKey('no encryption key: pass keys, or set ZOHO_TOKEN_KEY to id:base64key (a 32-byte key)');
    }
    const keys = new Map<string, KeyMaterial>();
    for (const [index, entry] of keyring.split(',').entries()) {
      const at = `entry ${index + 1} of the keyring`;
      const colon = entry.indexOf(':');
      const id = entry.slice(0, colon).trim();
      const encoded = entry.slice(colon + 1).trim();
      if (colon < 0 || !KEY_ID.test(id)) {
        throw noKey(`${at} is not id:base64key (the id: 1 to 64 letters, digits, ".", "_" or "-")`);
      }
      const key = Buffer.from(encoded.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
      // The id is not named: a keyring with id and key swapped would show key material.
      if (!KEY_32.test(encoded) || key.length !== 32) throw noKey(`${at}: the key is not 32 bytes in base64`);
      if (keys.has(id)) throw noKey(`${at} repeats the id of an earlier entry`);
      keys.set(id, derive(id, key));
    }
    this.#keys = keys;
    this.#primary = keys.values().next().value as KeyMaterial;
  }

  /** The id of the key new values are written under. */
  get primaryId(): string {
    return this.#primary.id;
  }

  /** Every key id, primary first. */
  get keyIds(): readonly string[] {
    return [...this.#keys.keys()];
  }

  /**
   * The stored form of a value: `enc:v1:<keyId>:<base64url(iv | ciphertext | tag)>`, under the
   * primary key or the key `keyId`. Null stays null; an empty string stays empty (it carries no
   * secret, and stores treat it as "absent" when matching).
   */
  seal(field: SecretField, value: string | null, keyId: string = this.#primary.id): string | null {
    if (value === null || value === '') return value;
    const key = this.#keys.get(keyId) as KeyMaterial;
    const plaintext = Buffer.from(value, 'utf8');
    const iv = createHmac('sha256', key.macKey)
      .update(`${field}\u0000`)
      .update(plaintext)
      .digest()
      .subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.encKey, iv);
    cipher.setAAD(additionalData(key.id, field));
    const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `${SEALED_PREFIX}${key.id}:${body.toString('base64url')}`;
  }

  /**
   * The plaintext of a stored value. A value without the `enc:v1:` prefix is plain (a store
   * written before encryption was turned on) and is returned as it is.
   *
   * @param where Names the value in errors, e.g. `token 1234567890`; never a secret.
   * @throws TokenStoreError `UNKNOWN_KEY` when the keyring lacks the value's key id; `WRONG_KEY`
   *   when it does not decrypt (another key under that id, or the value was altered).
   */
  open(field: SecretField, stored: string | null, where = 'a stored token'): string | null {
    if (stored === null || !stored.startsWith(SEALED_PREFIX)) return stored;
    const colon = stored.indexOf(':', SEALED_PREFIX.length);
    const keyId = stored.slice(SEALED_PREFIX.length, colon < 0 ? undefined : colon);
    // No `:` after the key id: no body at all, which fails below as too short.
    const encoded = colon < 0 ? '' : stored.slice(colon + 1);
    const key = this.#keys.get(keyId);
    if (key === undefined) {
      const named = KEY_ID.test(keyId) ? `key ${keyId}` : 'a malformed key id';
      throw new TokenStoreError(
        TokenStoreErrorCode.UNKNOWN_KEY,
        `the ${field} of ${where} is encrypted under ${named}, which the keyring (${this.keyIds.join(', ')}) does not hold`,
      );
    }
    const body = Buffer.from(encoded, 'base64url');
    try {
      if (body.length < IV_BYTES + TAG_BYTES) throw new Error('too short to be a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key.encKey, body.subarray(0, IV_BYTES));
      decipher.setAAD(additionalData(key.id, field));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plaintext = Buffer.concat([
        decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return plaintext.toString('utf8');
    } catch (error) {
      throw new TokenStoreError(
        TokenStoreErrorCode.WRONG_KEY,
        `the ${field} of ${where} does not decrypt under key ${keyId}: the key is wrong or the value was altered`,
        { cause: error },
      );
    }
  }

  /** Whether a stored value is already in its final form: sealed under the primary key, or empty. */
  isCurrent(stored: string | null): boolean {
    return stored === null || stored === '' || stored.startsWith(`${SEALED_PREFIX}${this.#primary.id}:`);
  }
}

function derive(id: string, key: Buffer): KeyMaterial {
  // The id is part of every derivation: one key material listed under two ids (a copy-paste
  // rotation) must not seal a value under the same GCM key and IV twice with other AAD, which
  // would give away GCM's authentication key.
  const expand = (purpose: string) =>
    Buffer.from(hkdfSync('sha256', key, 'zoho-token-store', `zoho-token-store ${purpose} v1 key ${id}`, 32));
  return { id, encKey: expand('aes-256-gcm'), macKey: expand('synthetic-iv hmac-sha256') };
}

function additionalData(keyId: string, field: SecretField): Buffer {
  return Buffer.from(`zoho-token-store:v1:${keyId}:${field}`, 'utf8');
}

function noKey(message: string): TokenStoreError {
  return new TokenStoreError(TokenStoreErrorCode.NO_KEY, message);
}
