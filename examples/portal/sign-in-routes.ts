import { authorizationUrl } from 'zoho-token-store';
import { errorReply, formExpiredReply } from './error-replies.js';
import { type FriendlyError, PortalError } from './friendly-errors.js';
import { htmlReply, redirect, withCookies } from './http-reply.js';
import { signInPage } from './pages.js';
import type { Route } from './portal-context.js';

/** Leads for the dashboard, the user's email for the session. */
const SCOPES = ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ'];

/** Why a user lands on the sign-in page, by the `notice` query value; anything else shows nothing. */
const NOTICES: Readonly<Record<string, string>> = {
  reauth: 'Zoho no longer accepts your sign-in: it was revoked or has expired. Please sign in again.',
  removed: 'Your Zoho access was removed by an administrator. Please sign in again.',
  revoked: 'Your Zoho access was revoked. Please sign in again.',
  'signed-out': 'You are signed out, and the portal’s access to your Zoho account was revoked.',
};

/** The callback's own failures: the state, Zoho's `error`, or no code. */
const NOT_STARTED_HERE: FriendlyError = {
  status: 400,
  title: 'Sign-in could not be verified',
  message: 'This sign-in did not start in this browser, or it took too long. Please start again from the sign-in page.',
};
const DECLINED: FriendlyError = {
  status: 403,
  title: 'You declined access',
  message:
    'The portal needs your permission to show your Zoho CRM leads. Sign in again and choose Approve to continue.',
};
const NO_CODE: FriendlyError = {
  status: 400,
  title: 'Zoho did not sign you in',
  message: 'Zoho sent no sign-in code back. Please try again.',
};

/**
 * `GET /`: the sign-in page, or the dashboard for a signed-in user.
 *
 * @example
 * ```ts
 * routes.set('GET /', home);
 * ```
 */
export const home: Route = async (portal, request) => {
  if (request.session) return redirect('/dashboard');
  const notice = request.url.searchParams.get('notice');
  const text = notice !== null && Object.hasOwn(NOTICES, notice) ? (NOTICES[notice] as string) : null;
  return htmlReply(200, signInPage({ footer: portal.footer(null) }, text, portal.zoho.isEmulator));
};

/**
 * `GET /login`: off to Zoho's consent page, with a fresh `state` bound to this browser by a signed,
 * short-lived cookie, `access_type=offline` for a refresh token and `prompt=consent` so Zoho issues
 * one even to a user who approved the portal before.
 *
 * @example
 * ```ts
 * routes.set('GET /login', startSignIn);
 * ```
 */
export const startSignIn: Route = async (portal) => {
  const { state, cookie } = portal.sessions.beginSignIn();
  const { client, environment } = portal.zoho;
  const url = authorizationUrl(environment, {
    clientId: client.clientId,
    redirectUri: client.redirectUri,
    scope: SCOPES,
    accessType: 'offline',
    prompt: 'consent',
    state,
  });
  return redirect(url, [cookie]);
};

/**
 * The OAuth redirect: checks `state`, takes the data center from `accounts-server`/`location`,
 * exchanges the code (the manager resolves and stores the user's email) and signs the user in.
 *
 * @example
 * ```ts
 * routes.set(`GET ${portal.callbackPath}`, finishSignIn);
 * ```
 */
export const finishSignIn: Route = async (portal, request) => {
  const query = request.url.searchParams;
  // A state works once, whatever happens next.
  const endSignIn = portal.sessions.endSignIn();
  try {
    if (!portal.sessions.stateMatches(request.cookieHeader, query.get('state')))
      throw new PortalError(NOT_STARTED_HERE);
    const error = query.get('error');
    if (error === 'access_denied') throw new PortalError(DECLINED);
    const code = query.get('code');
    if (error !== null || !code) throw new PortalError(NO_CODE);
    const user = await portal.tokens.signIn(code, portal.zoho.environmentOfRedirect(query));
    return redirect('/dashboard', [endSignIn, portal.sessions.start(user.email, user.tokenId)]);
  } catch (error) {
    return withCookies(errorReply(portal, { ...request, session: null }, error), [endSignIn]);
  }
};

/**
 * `POST /logout`: revokes the user's token at Zoho, deletes it, and ends the session. The session
 * ends in this browser even when the revoke or the store fails: the error page says what went wrong.
 *
 * @example
 * ```ts
 * routes.set('POST /logout', signOut); // form field: csrf
 * ```
 */
export const signOut: Route = async (portal, request) => {
  const { session } = request;
  if (!session) return redirect('/');
  if (!portal.sessions.csrfMatches(session, (await request.form()).get('csrf')))
    return formExpiredReply(portal, request);
  try {
    await portal.tokens.signOut(session);
  } catch (error) {
    return withCookies(errorReply(portal, { ...request, session: null }, error), [portal.sessions.end()]);
  }
  return redirect('/?notice=signed-out', [portal.sessions.end()]);
};
