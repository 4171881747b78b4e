import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SafeHtml } from './html.js';

/** What a route answers: a status, an HTML page or nothing, and headers (cookies among them). */
export interface Reply {
  status: number;
  body?: SafeHtml;
  headers?: Record<string, string | string[]>;
}

/** Every answer's headers: no scripts at all, no framing, no caching, and no Referer that could carry a code. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * A page.
 *
 * @example
 * ```ts
 * return htmlReply(200, html`<h1>Hello</h1>`);
 * ```
 */
export function htmlReply(status: number, body: SafeHtml, headers: Record<string, string | string[]> = {}): Reply {
  return { status, body, headers };
}

/**
 * A 303 See Other: after a form or the OAuth callback, the browser GETs `location` and a reload
 * does not repeat what was done.
 *
 * @example
 * ```ts
 * return redirect('/dashboard', [sessions.start(email, tokenId)]);
 * ```
 */
export function redirect(location: string, cookies: string[] = []): Reply {
  return { status: 303, headers: { location, ...(cookies.length > 0 && { 'set-cookie': cookies }) } };
}

/**
 * The reply with these cookies added to the ones it sets.
 *
 * @example
 * ```ts
 * return withCookies(errorReply(portal, request, error), [sessions.endSignIn()]);
 * ```
 */
export function withCookies(reply: Reply, cookies: string[]): Reply {
  const set = reply.headers?.['set-cookie'] ?? [];
  return { ...reply, headers: { ...reply.headers, 'set-cookie': [...(Array.isArray(set) ? set : [set]), ...cookies] } };
}

/**
 * Writes a reply with the security headers.
 *
 * @example
 * ```ts
 * sendReply(res, htmlReply(200, html`<h1>Hello</h1>`));
 * ```
 */
export function sendReply(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, {
    ...SECURITY_HEADERS,
    ...(reply.body !== undefined && { 'content-type': 'text/html; charset=utf-8' }),
    ...reply.headers,
  });
  res.end(reply.body === undefined ? undefined : String(reply.body));
}

const MAX_FORM_BYTES = 16_384;

/**
 * The fields of a urlencoded form POST (the portal's forms are small; a larger or other body reads
 * as no fields).
 *
 * @example
 * ```ts
 * const form = await readForm(req);
 * form.get('csrf');
 * ```
 */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
  const chunks: Buffer[] = [];
  let size = 0;
  // Read to the end even past the limit (keeping nothing): stopping early would destroy the request,
  // and the browser would get a reset connection instead of the reply.
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_FORM_BYTES) chunks.push(chunk as Buffer);
  }
  return size > MAX_FORM_BYTES ? new URLSearchParams() : new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
