import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Small JSON values signed with HMAC-SHA256, for cookies the browser keeps but must not be able to
 * forge or edit. Each value is signed for one purpose, so a value made for one cookie is refused
 * as another (a sign-in state is no session).
 *
 * @example
 * ```ts
 * const signer = new SignedValues(randomBytes(32));
 * const cookie = signer.sign('session', { email: 'ana.lopez@zylker.com' });
 * signer.verify('session', cookie); // { email: 'ana.lopez@zylker.com' }
 * signer.verify('state', cookie); // null
 * ```
 */
export class SignedValues {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length < 32) throw new RangeError('the signing key must be at least 32 bytes');
    this.#key = key;
  }

  /** `payload.signature`, both base64url, safe in a cookie without quoting. */
  sign(purpose: string, value: unknown): string {
    const payload = Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${payload}.${this.tag(purpose, payload)}`;
  }

  /** The value signed for this purpose, or null when the text is malformed, edited or signed otherwise. */
  verify(purpose: string, signed: string): unknown {
    const dot = signed.indexOf('.');
    if (dot <= 0) return null;
    const payload = signed.slice(0, dot);
    if (!this.matches(purpose, payload, signed.slice(dot + 1))) return null;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
  }

  /** The MAC of `text` for this purpose, base64url. */
  tag(purpose: string, text: string): string {
    return createHmac('sha256', this.#key).update(`${purpose}\u0000${text}`).digest('base64url');
  }

  /** Whether `tag` is the MAC of `text` for this purpose, compared in constant time. */
  matches(purpose: string, text: string, tag: string): boolean {
    return sameSecret(tag, this.tag(purpose, text));
  }
}

/**
 * Compares a value from the browser with the expected secret in constant time, so response times
 * tell nothing about how much of a guess was right.
 *
 * @example
 * ```ts
 * sameSecret(form.get('csrf') ?? '', session.csrfToken);
 * ```
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
