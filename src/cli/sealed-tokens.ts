import type { TokenLike } from '../index.js';
import { isSealedValue } from '../stores/encrypted.js';
import { plural } from './text-format.js';

/**
 * How the CLI shows a secret it read still encrypted: its mask would describe ciphertext, not the secret.
 *
 * @example
 * ```ts
 * for (const field of sealedFields(token)) summary[field] = SEALED_LABEL;
 * ```
 */
export const SEALED_LABEL = 'encrypted';

/** The secret fields of a token with their values as read. */
function secretsOf(token: TokenLike) {
  return {
    clientSecret: token.getClientSecret(),
    grantToken: token.getGrantToken(),
    refreshToken: token.getRefreshToken(),
    accessToken: token.getAccessToken(),
  };
}

/**
 * Whether a token read from a store opened without a key holds a value `EncryptedStore` wrote:
 * such a value is ciphertext, and must be neither sent to Zoho nor shown as if it were the secret.
 *
 * @example
 * ```ts
 * if (isSealed(token)) throw new CommandError('the token is encrypted: set ZOHO_TOKEN_KEY');
 * ```
 */
export function isSealed(token: TokenLike): boolean {
  return sealedFields(token).length > 0;
}

/**
 * The secret fields of a token whose values are still encrypted.
 *
 * @example
 * ```ts
 * sealedFields(token); // ['clientSecret', 'refreshToken', 'accessToken'] when read without ZOHO_TOKEN_KEY
 * ```
 */
export function sealedFields(token: TokenLike): (keyof ReturnType<typeof secretsOf>)[] {
  return Object.entries(secretsOf(token))
    .filter(([, value]) => isSealedValue(value))
    .map(([field]) => field as keyof ReturnType<typeof secretsOf>);
}

/**
 * The warning `list` and `show` print on stderr when secrets were read still encrypted, or
 * nothing when `count` is 0.
 *
 * @example
 * ```ts
 * io.stderr.write(sealedWarning(tokens.filter(isSealed).length));
 * ```
 */
export function sealedWarning(count: number): string {
  if (count === 0) return '';
  return `zoho-tokens: ZOHO_TOKEN_KEY is not set, so the secrets of ${plural(count, 'token')} show as "${SEALED_LABEL}"\n`;
}
