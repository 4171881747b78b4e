/** Attributes of a cookie the portal sets. Every one is HttpOnly, SameSite=Lax and valid site-wide. */
export interface CookieOptions {
  /** Lifetime in seconds; 0 deletes the cookie. */
  maxAgeSeconds: number;
  /** Add `Secure`: when the portal is served over https. */
  secure: boolean;
}

/**
 * A `Set-Cookie` value. HttpOnly keeps it from page scripts; SameSite=Lax keeps it off cross-site
 * POSTs but on the top-level GET that comes back from Zoho's consent page.
 *
 * @example
 * ```ts
 * setCookie('portal_session', signed, { maxAgeSeconds: 3600, secure: false });
 * // 'portal_session=…; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax'
 * ```
 */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  const secure = options.secure ? '; Secure' : '';
  return `${name}=${value}; Path=/; Max-Age=${options.maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;
}

/**
 * The cookies of a request's `Cookie` header, first value of each name.
 *
 * @example
 * ```ts
 * parseCookies('a=1; b=2').get('b'); // '2'
 * ```
 */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}
