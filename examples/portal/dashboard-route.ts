import { performance } from 'node:perf_hooks';
import { createCrmClient, summarizeToken } from 'zoho-token-store';
import { signInAgainReply } from './error-replies.js';
import { mustSignInAgain } from './friendly-errors.js';
import { htmlReply, redirect } from './http-reply.js';
import { dashboardPage, type Lead } from './pages.js';
import { type Route, viewerOf } from './portal-context.js';

const LEAD_FIELDS = 'First_Name,Last_Name,Company,Email,Lead_Status';

/**
 * `GET /dashboard`: the user's leads, fetched with their stored token. The time spent getting the
 * token (manager and store) goes out as `Server-Timing: token`, beside the CRM call's.
 *
 * @example
 * ```ts
 * routes.set('GET /dashboard', dashboard);
 * ```
 */
export const dashboard: Route = async (portal, request) => {
  const { session } = request;
  if (!session) return redirect('/');
  const viewer = viewerOf(portal, session);

  try {
    const started = performance.now();
    const manager = await portal.tokens.managerFor(session);
    if (!manager) return signInAgainReply(portal, 'removed');
    await manager.getAccessToken();
    const tokenMs = performance.now() - started;

    // A 401 INVALID_TOKEN (expired early, or revoked) makes the client tell the manager, which refreshes once.
    const crm = createCrmClient({ tokens: manager });
    const answer = await crm.request<{ data?: Lead[] } | null>('GET', '/crm/v8/Leads', {
      query: { fields: LEAD_FIELDS, per_page: 20 },
    });
    const crmMs = performance.now() - started - tokenMs;
    const token = summarizeToken(await manager.getToken());
    return htmlReply(200, dashboardPage({ footer: portal.footer(viewer) }, viewer, answer?.data ?? [], token), {
      'server-timing': `token;dur=${tokenMs.toFixed(3)}, crm;dur=${crmMs.toFixed(3)}`,
    });
  } catch (error) {
    if (mustSignInAgain(error)) {
      await portal.tokens.discard(session);
      return signInAgainReply(portal, 'reauth');
    }
    throw error;
  }
};
