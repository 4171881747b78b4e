import { randomBytes } from 'node:crypto';
import { parseCookies, setCookie } from './cookies.js';
import { type SignedValues, sameSecret } from './signed-values.js';

const SESSION_COOKIE = 'portal_session';
const STATE_COOKIE = 'portal_oauth_state';
/** A student who comes back within a month is still signed in; the Zoho token itself is refreshed as needed. */
const SESSION_MAX_AGE_MS = 30 * 24 * 3_600_000;
/** Zoho's grant codes live minutes; a sign-in that takes longer starts over. */
const STATE_MAX_AGE_MS = 10 * 60_000;

/** A signed-in browser: who it is, which stored token it signed in with, and what its forms send back. */
export interface Session {
  /** The user's Zoho CRM email. The session never holds a Zoho token, only this and the row id. */
  email: string;
  /**
   * The id of the stored token the sign-in saved: the session is good only while the user's stored
   * token is that row, so a token deleted or revoked (and signed in again since) ends it everywhere.
   */
  tokenId: string;
  /** Must come back with every POST, as the form field `csrf`. */
  csrfToken: string;
}

/** Options of {@link Sessions}. */
export interface SessionOptions {
  /**
   * The portal is served over https: cookies are `Secure` and named `__Host-…`, which browsers accept
   * only from this origin over https, with `Path=/` and no `Domain`, so no sibling site can set them.
   */
  secure: boolean;
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * The portal's browser state, all in signed cookies: the session (the user's email, the id of
 * their stored token, and when it began) and, during sign-in, the OAuth `state` that binds Zoho's
 * redirect to this browser.
 *
 * @example
 * ```ts
 * const sessions = new Sessions(new SignedValues(key), { secure: false });
 * response.setHeader('set-cookie', sessions.start('ana.lopez@zylker.com', '4821736455'));
 * const session = sessions.read(request.headers.cookie); // { email, tokenId, csrfToken } or null
 * ```
 */
export class Sessions {
  readonly #signer: SignedValues;
  readonly #secure: boolean;
  readonly #now: () => number;
  readonly #sessionCookie: string;
  readonly #stateCookie: string;

  constructor(signer: SignedValues, options: SessionOptions) {
    this.#signer = signer;
    this.#secure = options.secure;
    this.#now = options.now ?? Date.now;
    const prefix = options.secure ? '__Host-' : '';
    this.#sessionCookie = `${prefix}${SESSION_COOKIE}`;
    this.#stateCookie = `${prefix}${STATE_COOKIE}`;
  }

  /** The `Set-Cookie` value that signs this user in, with the stored token `tokenId`. */
  start(email: string, tokenId: string): string {
    const value = this.#signer.sign(SESSION_COOKIE, { email, tokenId, issuedAt: this.#now() });
    return this.#cookie(this.#sessionCookie, value, SESSION_MAX_AGE_MS);
  }

  /** The `Set-Cookie` value that signs the browser out. */
  end(): string {
    return this.#cookie(this.#sessionCookie, '', 0);
  }

  /** The session of a `Cookie` header, or null when there is none or it is forged, edited or too old. */
  read(cookieHeader: string | undefined): Session | null {
    const value = parseCookies(cookieHeader).get(this.#sessionCookie);
    if (!value) return null;
    const payload = this.#signer.verify(SESSION_COOKIE, value) as {
      email?: unknown;
      tokenId?: unknown;
      issuedAt?: unknown;
    } | null;
    const { email, tokenId, issuedAt } = payload ?? {};
    if (typeof email !== 'string' || typeof tokenId !== 'string' || typeof issuedAt !== 'number') return null;
    const age = this.#now() - issuedAt;
    if (age < 0 || age > SESSION_MAX_AGE_MS) return null;
    return { email, tokenId, csrfToken: this.#signer.tag('csrf', value) };
  }

  /** Whether a form's `csrf` field is this session's token. */
  csrfMatches(session: Session, token: string | null): boolean {
    return token !== null && sameSecret(token, session.csrfToken);
  }

  /** A fresh OAuth `state` for the authorization URL, and the cookie that binds it to this browser. */
  beginSignIn(): { state: string; cookie: string } {
    const state = randomBytes(24).toString('base64url');
    const value = this.#signer.sign(STATE_COOKIE, { state, expiresAt: this.#now() + STATE_MAX_AGE_MS });
    return { state, cookie: this.#cookie(this.#stateCookie, value, STATE_MAX_AGE_MS) };
  }

  /** Whether the `state` Zoho sent back is the one this browser's sign-in began with, in time. */
  stateMatches(cookieHeader: string | undefined, state: string | null): boolean {
    const value = parseCookies(cookieHeader).get(this.#stateCookie);
    if (!value || !state) return false;
    const payload = this.#signer.verify(STATE_COOKIE, value) as { state?: unknown; expiresAt?: unknown } | null;
    if (typeof payload?.state !== 'string' || typeof payload.expiresAt !== 'number') return false;
    return sameSecret(state, payload.state) && this.#now() <= payload.expiresAt;
  }

  /** The `Set-Cookie` value that ends a sign-in attempt: a state works once. */
  endSignIn(): string {
    return this.#cookie(this.#stateCookie, '', 0);
  }

  #cookie(name: string, value: string, maxAgeMs: number): string {
    return setCookie(name, value, { maxAgeSeconds: Math.floor(maxAgeMs / 1000), secure: this.#secure });
  }
}
