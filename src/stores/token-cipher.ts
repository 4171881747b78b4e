import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { isSealedValue, SECRET_FIELDS } from '../store/sealed-values.js';
import type { TokenRecord } from '../token/token-record.js';

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

/** Format 1: each value deterministically sealed in its own column; read until `rekey` moves it on. */
const V1 = 'enc:v1:';
/** Format 2: blind indexes in the lookup columns, every secret of the row sealed in `client_secret`. */
const V2 = 'enc:v2:';

/** The plain fields a format-2 row's sealed secrets are bound to: a save that changes one reseals the row. */
export const ROW_BINDING = [
  'id',
  'userName',
  'clientId',
  'apiDomain',
] as const satisfies readonly (keyof TokenRecord)[];

/** The columns a token is looked up by value in; the others are never compared. */
const INDEXED = ['grantToken', 'refreshToken', 'accessToken'] as const satisfies readonly SecretField[];

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
// Standard or URL-safe base64 of exactly 32 bytes, with or without its one `=` of padding.
const KEY_32 = /^[A-Za-z0-9+/_-]{43}=?$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface KeyMaterial {
  readonly id: string;
  /** Format 1 only (read, and looked up by): its encryption key and synthetic-IV key. */
  readonly v1EncKey: Buffer;
  readonly v1MacKey: Buffer;
  /** Format 2: the key rows are sealed under, and the key of the blind indexes. */
  readonly sealKey: Buffer;
  readonly indexKey: Buffer;
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
 * AES-256-GCM for the secrets of a token row, under a keyring of `id:base64key` entries (the
 * first is the primary, used for every write), with HMAC-SHA256 blind indexes for lookups.
 *
 * Format 2 (written now), per row: the grant, refresh and access token columns hold blind
 * indexes, `enc:v2:<keyId>:i:<HMAC(indexKey, field, value)>`, which the store matches exactly,
 * as it would the plain values; the `client_secret` column holds `enc:v2:<keyId>:s:<nonce |
 * ciphertext | tag>`, the four secrets sealed together under a random 96-bit nonce, with the
 * row's id, user name, client id and API domain as GCM additional data. So sealed secrets open
 * only in the row they were sealed for: copied to another user's row, or left in place while
 * that row's user name, client or API domain is rewritten, they fail to open (`WRONG_KEY`); an index that does not match the sealed value it stands beside
 * fails with `CORRUPT_DATA`. Each key yields its encryption and index keys by HKDF-SHA256 over
 * its bytes and id.
 *
 * What the stored form shows: which rows share a grant, refresh or access token (the indexes
 * are equal), the total length of a row's secrets, which key sealed it; never a value.
 *
 * Format 1 (`enc:v1:`, a deterministic synthetic-IV seal of each value in its own column, not
 * bound to its row) is still read, so a store written by an earlier version keeps working until
 * `rekey` rewrites it in format 2.
 *
 * @example
 * ```ts
 * import { generateKey, TokenCipher } from './token-cipher.js';
 * const cipher = new TokenCipher(generateKey('k1'));
 * const stored = cipher.sealRow(record);          // what the store keeps
 * cipher.openRow(stored, 'token 1234567890');     // the record again
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
   * The blind index a lookup by `value` matches in format 2, under the primary key or `keyId`;
   * `''` for null or an empty value (no secret, and stores treat it as absent when matching).
   */
  index(field: SecretField, value: string | null, keyId: string = this.#primary.id): string {
    if (value === null || value === '') return '';
    const key = this.#keys.get(keyId) as KeyMaterial;
    const mac = createHmac('sha256', key.indexKey).update(`${field}\u0000`).update(value, 'utf8').digest();
    return `${V2}${key.id}:i:${mac.toString('base64url')}`;
  }

  /** The format-1 form of a value under `keyId`, which a row of format 1 is looked up by. */
  legacyIndex(field: SecretField, value: string | null, keyId: string): string | null {
    if (value === null || value === '') return value;
    const key = this.#keys.get(keyId) as KeyMaterial;
    const plaintext = Buffer.from(value, 'utf8');
    const iv = createHmac('sha256', key.v1MacKey)
      .update(`${field}\u0000`)
      .update(plaintext)
      .digest()
      .subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.v1EncKey, iv);
    cipher.setAAD(Buffer.from(`zoho-token-store:v1:${key.id}:${field}`, 'utf8'));
    const body = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return `${V1}${key.id}:${body.toString('base64url')}`;
  }

  /**
   * The row as the store keeps it (format 2, primary key): indexes in the lookup columns, every
   * secret sealed in `clientSecret`, bound to the record's id and plain fields.
   */
  sealRow(record: TokenRecord): TokenRecord {
    const key = this.#primary;
    const nonce = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.sealKey, nonce);
    cipher.setAAD(rowBinding(key.id, record));
    const secrets = Buffer.from(JSON.stringify(SECRET_FIELDS.map((field) => record[field])), 'utf8');
    const body = Buffer.concat([nonce, cipher.update(secrets), cipher.final(), cipher.getAuthTag()]);
    const stored: Record<string, string | null> = {
      ...record,
      clientSecret: `${V2}${key.id}:s:${body.toString('base64url')}`,
    };
    for (const field of INDEXED) stored[field] = this.index(field, record[field]);
    return stored as unknown as TokenRecord;
  }

  /**
   * The plaintext of a stored row, of either format.
   *
   * @param where Names the row in errors, e.g. `token 1234567890`; never a secret.
   * @param migration Whether a row not in the current format is read: a secret stored in plain
   *   text (a store written before encryption was turned on) or a row of format 1 (written by an
   *   earlier version, not bound to its row), until `rekey`; otherwise it fails.
   * @throws TokenStoreError `UNKNOWN_KEY` when the keyring lacks the row's key id; `WRONG_KEY`
   *   when it does not decrypt (another key under that id, or the row was altered or its sealed
   *   value moved from another row); `CORRUPT_DATA` when an index does not match the sealed
   *   value or the stored form is malformed; outside migration, `NOT_ENCRYPTED` for a plain secret
   *   and `OLD_FORMAT` for a row of format 1.
   */
  openRow(stored: TokenRecord, where: string, migration = false): TokenRecord {
    const sealed = stored.clientSecret;
    if (sealed?.startsWith(V2)) return this.#openV2(stored, sealed, where);
    const opened: Record<string, string | null> = { ...stored };
    for (const field of SECRET_FIELDS) {
      const value = stored[field];
      if (value === null || value === '') continue;
      if (value.startsWith(V1)) {
        // Format 1 binds a value to its field only: copied from another row it would still open.
        if (!migration) {
          throw new TokenStoreError(
            TokenStoreErrorCode.OLD_FORMAT,
            `${where} is in the encryption format of an earlier version, not bound to its row: run zoho-tokens rekey --migrate`,
          );
        }
        opened[field] = this.#openV1(field, value, where);
      } else if (isSealedValue(value))
        throw corrupt(`the ${field} of ${where} is in an encrypted form that does not belong in its column`);
      else if (!migration) {
        throw new TokenStoreError(
          TokenStoreErrorCode.NOT_ENCRYPTED,
          `the ${field} of ${where} is stored in plain text in an encrypted store: written around the encryption, or before it was turned on (run zoho-tokens rekey --migrate if it was)`,
        );
      }
    }
    return opened as unknown as TokenRecord;
  }

  /** Whether a stored row is already in its final form: format 2 under the primary key, or without secrets. */
  isCurrent(stored: TokenRecord): boolean {
    const sealed = stored.clientSecret;
    if (sealed?.startsWith(`${V2}${this.#primary.id}:s:`)) return true;
    return SECRET_FIELDS.every((field) => stored[field] === null || stored[field] === '');
  }

  #openV2(stored: TokenRecord, sealed: string, where: string): TokenRecord {
    const [keyId = '', kind, encoded = ''] = sealed.slice(V2.length).split(':');
    const key = this.#keyFor(keyId, where);
    if (kind !== 's') throw corrupt(`the secrets of ${where} are not in their sealed form`);
    const body = Buffer.from(encoded, 'base64url');
    let secrets: unknown;
    try {
      if (body.length < IV_BYTES + TAG_BYTES) throw new Error('too short to be a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key.sealKey, body.subarray(0, IV_BYTES));
      decipher.setAAD(rowBinding(key.id, stored));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      const plaintext = Buffer.concat([
        decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]);
      secrets = JSON.parse(plaintext.toString('utf8'));
    } catch (error) {
      throw new TokenStoreError(
        TokenStoreErrorCode.WRONG_KEY,
        `the secrets of ${where} do not decrypt under key ${keyId}: the key is wrong, or the row was altered or its secrets copied from another row`,
        { cause: error },
      );
    }
    if (!Array.isArray(secrets) || secrets.length !== SECRET_FIELDS.length || !secrets.every(isStringOrNull)) {
      throw corrupt(`the sealed secrets of ${where} are malformed`);
    }
    const opened: Record<string, string | null> = { ...stored };
    SECRET_FIELDS.forEach((field, i) => {
      opened[field] = secrets[i] as string | null;
    });
    for (const field of INDEXED) {
      if ((stored[field] ?? '') !== this.index(field, opened[field] ?? null, key.id)) {
        throw corrupt(`the ${field} index of ${where} does not match its sealed value: the row was altered`);
      }
    }
    return opened as unknown as TokenRecord;
  }

  #openV1(field: SecretField, stored: string, where: string): string {
    const colon = stored.indexOf(':', V1.length);
    const keyId = stored.slice(V1.length, colon < 0 ? undefined : colon);
    // No `:` after the key id: no body at all, which fails below as too short.
    const encoded = colon < 0 ? '' : stored.slice(colon + 1);
    const key = this.#keyFor(keyId, where);
    const body = Buffer.from(encoded, 'base64url');
    try {
      if (body.length < IV_BYTES + TAG_BYTES) throw new Error('too short to be a sealed value');
      const decipher = createDecipheriv('aes-256-gcm', key.v1EncKey, body.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(`zoho-token-store:v1:${key.id}:${field}`, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch (error) {
      throw new TokenStoreError(
        TokenStoreErrorCode.WRONG_KEY,
        `the ${field} of ${where} does not decrypt under key ${keyId}: the key is wrong or the value was altered`,
        { cause: error },
      );
    }
  }

  #keyFor(keyId: string, where: string): KeyMaterial {
    const key = this.#keys.get(keyId);
    if (key !== undefined) return key;
    const named = KEY_ID.test(keyId) ? `key ${keyId}` : 'a malformed key id';
    throw new TokenStoreError(
      TokenStoreErrorCode.UNKNOWN_KEY,
      `${where} is encrypted under ${named}, which the keyring (${this.keyIds.join(', ')}) does not hold`,
    );
  }
}

/**
 * The GCM additional data of a format-2 row: its key id, id, user name, client id and API
 * domain, so its sealed secrets open only in this row, for this user, client and API domain.
 */
function rowBinding(keyId: string, record: TokenRecord): Buffer {
  const bound = ROW_BINDING.map((field) => record[field]);
  return Buffer.from(`zoho-token-store:v2:${keyId}:${JSON.stringify(bound)}`, 'utf8');
}

const isStringOrNull = (value: unknown): value is string | null => value === null || typeof value === 'string';

function corrupt(message: string): TokenStoreError {
  return new TokenStoreError(TokenStoreErrorCode.CORRUPT_DATA, message);
}

function derive(id: string, key: Buffer): KeyMaterial {
  // The id is part of every derivation: one key material listed under two ids (a copy-paste
  // rotation) must not seal a value under the same GCM key and IV twice with other AAD, which
  // would give away GCM's authentication key.
  const expand = (purpose: string, version: string) =>
    Buffer.from(hkdfSync('sha256', key, 'zoho-token-store', `zoho-token-store ${purpose} ${version} key ${id}`, 32));
  return {
    id,
    v1EncKey: expand('aes-256-gcm', 'v1'),
    v1MacKey: expand('synthetic-iv hmac-sha256', 'v1'),
    sealKey: expand('aes-256-gcm row', 'v2'),
    indexKey: expand('blind-index hmac-sha256', 'v2'),
  };
}

function noKey(message: string): TokenStoreError {
  return new TokenStoreError(TokenStoreErrorCode.NO_KEY, message);
}
