import type { TokenParams, TokenResult } from './accounts-state.js';
import { consentPage, errorPage } from './consent-page.js';
import type { EmulatorContext } from './context.js';
import type { CrmUser } from './crm-directory.js';
import { html, json, type ParsedRequest, type Reply, redirect } from './http-io.js';
import { parseScopes } from './scopes.js';

/** Zoho's throttling answer, word for word. */
export const ACCESS_DENIED_BODY = Object.freeze({
  error_description: 'You have made too many requests continuously. Please try again after some time.',
  error: 'Access Denied',
  status: 'failure',
});

/** The body of `POST /oauth/v2/token/revoke` for an unknown token (Zoho documents only the 400 status). */
export const REVOKE_UNKNOWN_BODY = Object.freeze({ error: 'invalid_token', status: 'failure' });

const ACCESS_TOKEN_TTL_S = 3_600;

const notAllowed = (allow: string): Reply => {
  const reply = json(405, { error: 'invalid_request', error_description: `use ${allow}` });
  return { ...reply, headers: { ...reply.headers, allow } };
};

/** `GET /oauth/v2/auth` shows the consent page; its form posts the decision back to `POST /oauth/v2/auth`. */
export function handleAuth(ctx: EmulatorContext, req: ParsedRequest): Reply {
  if (req.method !== 'GET' && req.method !== 'POST') return notAllowed('GET, POST');
  const param = (name: string) => req.params.get(name);
  // Zoho's CRM docs send the client credentials grant here; its accounts docs, to the token endpoint.
  if (req.method === 'POST' && param('grant_type') === 'client_credentials') return handleToken(ctx, req);
  const client = ctx.accounts.client(param('client_id'));
  if (!client) return html(400, errorPage('Invalid client: no such client_id.'));
  const redirectUri = param('redirect_uri') ?? '';
  // Never redirect to a URI the client did not register: show an error instead.
  if (!ctx.accounts.redirectAllowed(client, redirectUri)) {
    return html(400, errorPage('Invalid redirect URI: it is not registered for this client.'));
  }
  if (param('response_type') !== 'code') return html(400, errorPage('response_type must be code.'));
  const scope = param('scope') ?? '';
  if (parseScopes(scope).length === 0) return html(400, errorPage('Invalid OAuth scope.'));
  const request = {
    clientId: client.clientId,
    redirectUri,
    scope,
    accessType: param('access_type') === 'offline' ? 'offline' : 'online',
    state: param('state'),
  } as const;
  const back = (query: Record<string, string | undefined>): Reply => {
    const target = new URL(redirectUri);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) target.searchParams.append(name, value);
    return redirect(target.href);
  };
  const approve = (user: CrmUser): Reply => {
    const code = ctx.accounts.issueCode(
      { ...request, userEmail: user.email, scopes: parseScopes(scope) },
      { throttle: true },
    );
    if (code === null) return back({ error: 'access_denied', state: request.state });
    return back({ state: request.state, code, location: 'us', 'accounts-server': ctx.url });
  };

  const users = ctx.directory.allUsers();
  if (req.method === 'GET') {
    const selected = ctx.directory.user(param('login_hint') ?? '') ?? (users[0] as CrmUser);
    if (ctx.options.autoApprove) return approve(selected);
    return html(200, consentPage(request, users, selected));
  }
  const decision = param('decision');
  if (decision === 'deny') return back({ error: 'access_denied', state: request.state });
  const user = ctx.directory.user(param('user_email') ?? '');
  if (decision !== 'approve' || !user) return html(400, errorPage('Choose a user, then Approve or Deny.'));
  return approve(user);
}

/** `POST /oauth/v2/token`: the authorization-code, refresh-token and client credentials grants. */
export function handleToken(ctx: EmulatorContext, req: ParsedRequest): Reply {
  if (req.method !== 'POST') return notAllowed('POST');
  const param = (name: string) => req.params.get(name);
  const params: TokenParams = {
    clientId: param('client_id'),
    clientSecret: param('client_secret'),
    code: param('code'),
    redirectUri: param('redirect_uri'),
    refreshToken: param('refresh_token'),
    scope: param('scope'),
    soid: param('soid'),
  };
  const grantType = param('grant_type');
  const result: TokenResult =
    grantType === 'authorization_code'
      ? ctx.accounts.exchangeCode(params)
      : grantType === 'refresh_token'
        ? ctx.accounts.refresh(params)
        : grantType === 'client_credentials'
          ? ctx.accounts.clientCredentials(params, ctx.directory)
          : { kind: 'error', error: 'unsupported_grant_type' };

  if (result.kind === 'throttled') return json(ctx.options.accessDeniedStatus, ACCESS_DENIED_BODY);
  if (result.kind === 'error') {
    // Zoho answers token errors with HTTP 200; only invalid_redirect_uri's status is unconfirmed.
    const status = result.error === 'invalid_redirect_uri' ? ctx.options.invalidRedirectUriStatus : 200;
    return json(status, { error: result.error });
  }
  const refresh = result.refreshToken === null ? {} : { refresh_token: result.refreshToken };
  // The client credentials answer names its scopes, space-separated.
  const scope = result.scopes === undefined ? {} : { scope: result.scopes.join(' ') };
  const body = ctx.options.legacyExpiresShape
    ? {
        access_token: result.accessToken,
        ...refresh,
        ...scope,
        expires_in_sec: ACCESS_TOKEN_TTL_S,
        api_domain: ctx.url,
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_TTL_S * 1_000,
      }
    : {
        access_token: result.accessToken,
        ...refresh,
        ...scope,
        api_domain: ctx.url,
        token_type: 'Bearer',
        expires_in: ACCESS_TOKEN_TTL_S,
      };
  return json(200, body);
}

/** `POST /oauth/v2/token/revoke?token=<refresh token>`. */
export function handleRevoke(ctx: EmulatorContext, req: ParsedRequest): Reply {
  if (req.method !== 'POST') return notAllowed('POST');
  if (ctx.accounts.revoke(req.params.get('token') ?? '')) return json(200, { status: 'success' });
  return json(400, REVOKE_UNKNOWN_BODY);
}
