import { hasActivityTracking, summarizeToken, type TokenActivity, type TokenLike } from 'zoho-token-store';
import { formExpiredReply, pageReply, signInAgainReply } from './error-replies.js';
import { htmlReply, type Reply, redirect } from './http-reply.js';
import { type AdminRow, adminPage } from './pages.js';
import { type PortalContext, type PortalRequest, type Route, viewerOf } from './portal-context.js';
import type { Session } from './sessions.js';
import { emailOfUser } from './user-tokens.js';

const NOTICES: Readonly<Record<string, string>> = {
  revoked: 'The token was revoked at Zoho and deleted. Its user must sign in again.',
  deleted: 'The token was deleted from the store.',
  gone: 'That token was no longer in the store.',
};

/**
 * Admins only, and only while their Zoho access lasts: the session cookie outlives a token that was
 * revoked or deleted, so it alone lets no one in. Anyone else signed in is told so, anyone signed
 * out goes to sign-in.
 */
async function guard(portal: PortalContext, request: PortalRequest): Promise<{ session: Session } | { reply: Reply }> {
  const { session } = request;
  if (!session) return { reply: redirect('/') };
  if (!(await portal.tokens.managerFor(session))) return { reply: signInAgainReply(portal, 'removed') };
  if (!portal.isAdmin(session.email)) {
    return {
      reply: pageReply(portal, request, 403, 'Admins only', 'Your account may not manage the stored tokens.'),
    };
  }
  return { session };
}

/**
 * `GET /admin`: what the store holds, secrets masked, with last use where the store tracks it.
 *
 * @example
 * ```ts
 * routes.set('GET /admin', admin);
 * ```
 */
export const admin: Route = async (portal, request) => {
  const allowed = await guard(portal, request);
  if ('reply' in allowed) return allowed.reply;
  const { store } = portal;
  const tracked = hasActivityTracking(store);
  const activity = new Map<string, TokenActivity>();
  if (tracked) for (const entry of await store.getActivity()) activity.set(entry.id, entry);
  const rows: AdminRow[] = (await store.getTokens()).map((token) => ({
    token: summarizeToken(token),
    activity: tracked ? activity.get(token.getId() ?? '') : null,
  }));
  rows.sort((a, b) => (a.token.userName ?? '').localeCompare(b.token.userName ?? ''));
  const notice = request.url.searchParams.get('done');
  const text = notice !== null && Object.hasOwn(NOTICES, notice) ? (NOTICES[notice] as string) : null;
  const viewer = viewerOf(portal, allowed.session);
  const page = adminPage({ footer: portal.footer(viewer) }, viewer, rows, tracked, text);
  return htmlReply(200, page);
};

/**
 * `POST /admin/revoke`: ends the token at Zoho and deletes it.
 *
 * @example
 * ```ts
 * routes.set('POST /admin/revoke', adminRevoke); // form fields: id, csrf
 * ```
 */
export const adminRevoke: Route = (portal, request) =>
  act(portal, request, 'revoked', (id) => portal.tokens.revokeById(id));

/**
 * `POST /admin/delete`: deletes the token from the store only.
 *
 * @example
 * ```ts
 * routes.set('POST /admin/delete', adminDelete); // form fields: id, csrf
 * ```
 */
export const adminDelete: Route = (portal, request) =>
  act(portal, request, 'deleted', (id) => portal.tokens.deleteById(id));

async function act(
  portal: PortalContext,
  request: PortalRequest,
  done: 'revoked' | 'deleted',
  change: (id: string) => Promise<TokenLike | null>,
): Promise<Reply> {
  const allowed = await guard(portal, request);
  if ('reply' in allowed) return allowed.reply;
  const form = await request.form();
  if (!portal.sessions.csrfMatches(allowed.session, form.get('csrf'))) return formExpiredReply(portal, request);
  const id = form.get('id');
  const token = id ? await change(id) : null;
  if (!token) return redirect('/admin?done=gone');
  // Revoking your own access signs you out here as well.
  if (emailOfUser(token) === allowed.session.email) {
    return redirect('/?notice=revoked', [portal.sessions.end()]);
  }
  return redirect(`/admin?done=${done}`);
}
