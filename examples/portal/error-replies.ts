import { describeError } from './friendly-errors.js';
import { htmlReply, type Reply, redirect } from './http-reply.js';
import { errorPage } from './pages.js';
import { type PortalContext, type PortalRequest, viewerOf } from './portal-context.js';

/**
 * The friendly page for a failure: its status, a title, a sentence, and the way back. The error is
 * logged by name and code only, never with a stack or a value.
 *
 * @example
 * ```ts
 * try { … } catch (error) { return errorReply(portal, request, error); }
 * ```
 */
export function errorReply(portal: PortalContext, request: PortalRequest, error: unknown): Reply {
  const { status, title, message } = describeError(error);
  if (status >= 500) {
    const { name, code } = error as { name?: unknown; code?: unknown };
    portal.log(`${request.method} ${request.url.pathname} failed: ${String(name)}${code ? ` ${String(code)}` : ''}`);
  }
  return pageReply(portal, request, status, title, message);
}

/**
 * The 404 page.
 *
 * @example
 * ```ts
 * const reply = route ? await route(portal, request) : notFoundReply(portal, request);
 * ```
 */
export function notFoundReply(portal: PortalContext, request: PortalRequest): Reply {
  return pageReply(portal, request, 404, 'Page not found', 'There is no page at this address.');
}

/**
 * A POST without this session's CSRF token: from another site, or a page from an older session.
 *
 * @example
 * ```ts
 * if (!portal.sessions.csrfMatches(session, form.get('csrf'))) return formExpiredReply(portal, request);
 * ```
 */
export function formExpiredReply(portal: PortalContext, request: PortalRequest): Reply {
  return pageReply(portal, request, 403, 'This form has expired', 'Please reload the page and try again.');
}

/**
 * Back to the sign-in page with a notice, signed out: the session's Zoho access is gone (revoked,
 * deleted, replaced, refused on refresh), and a session without it is worth nothing. The user's
 * current manager, if any, is another session's and stays.
 *
 * @example
 * ```ts
 * if (!(await portal.tokens.managerFor(session))) return signInAgainReply(portal, 'removed');
 * ```
 */
export function signInAgainReply(portal: PortalContext, notice: 'reauth' | 'removed'): Reply {
  return redirect(`/?notice=${notice}`, [portal.sessions.end()]);
}

/**
 * A page with a title and a sentence, leading back to the dashboard or to sign-in.
 *
 * @example
 * ```ts
 * return pageReply(portal, request, 403, 'Admins only', 'Your account may not manage the stored tokens.');
 * ```
 */
export function pageReply(
  portal: PortalContext,
  request: PortalRequest,
  status: number,
  title: string,
  message: string,
): Reply {
  const viewer = request.session && viewerOf(portal, request.session);
  const next = viewer ? { href: '/dashboard', label: 'Back to the dashboard' } : { href: '/', label: 'Go to sign-in' };
  return htmlReply(status, errorPage({ viewer, footer: portal.footer(viewer) }, title, message, next));
}
