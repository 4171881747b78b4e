import { setTimeout as sleep } from 'node:timers/promises';
import { type Environment, isAccountsUrlOf } from './data-centers.js';
import { readTextWithin } from './limited-body.js';
import { isOAuthError, OAuthError, OAuthErrorCode } from './oauth-error.js';

/** An OAuth client registered in Zoho's API console. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** The registered redirect URI; sent with the code grant. Self-client grant codes need none. */
  redirectUri?: string | null;
}

/** Transport options shared by every accounts call. */
export interface AccountsRequestOptions {
  /** The fetch to use (a proxying or instrumented one, a test double). Default: the global fetch. */
  fetch?: typeof fetch;
  /** Limit for each attempt, in ms. Default 10 000. */
  timeoutMs?: number;
  /** Further attempts after a network error, a timeout or a 5xx answer; never after any other answer. Default 2. */
  retries?: number;
  /** Base of the exponential backoff between attempts, in ms, with full jitter and capped at 30 s. Default 200. */
  backoffMs?: number;
  /** The clock `expiresAt` is computed with. Default `Date.now`. */
  now?: () => number;
  /** Aborts the call, including a pending wait between attempts; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A successful answer of the token endpoint. */
export interface TokenGrant {
  accessToken: string;
  /** Present on a code grant with `access_type=offline`; null on a refresh or a client credentials grant. */
  refreshToken: string | null;
  /** The API domain of the user's data center, as Zoho reports it. */
  apiDomain: string | null;
  /** `Bearer`; Zoho's CRM API expects the header `Authorization: Zoho-oauthtoken …` all the same. */
  tokenType: string;
  /** Lifetime of the access token, in ms. */
  expiresInMs: number;
  /**
   * When the access token expires, in ms since the epoch: `now()` when the successful attempt was sent,
   * plus `expiresInMs`, so that network delay never makes a token look fresher than it is.
   */
  expiresAt: number;
}

/**
 * The `retryAfterMs` of a {@link OAuthErrorCode.RATE_LIMITED} error when the server gives no `Retry-After`
 * (Zoho never does). Zoho counts its limits over 10-minute windows without saying when one ends; a minute
 * is long enough not to feed the limit and short enough to notice when the window has passed.
 */
export const RATE_LIMIT_RETRY_AFTER_MS = 60_000;

/**
 * The longest `retryAfterMs` a {@link OAuthErrorCode.RATE_LIMITED} error carries: 10 minutes, the window
 * Zoho counts its limits over. A longer `Retry-After` (from a proxy, or a hostile server) is cut to it,
 * so that no answer can stop a client for days.
 */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/** No token endpoint answer comes near this; a larger one is refused without reading it all. */
const MAX_BODY_BYTES = 1024 * 1024;

const MAX_BACKOFF_MS = 30_000;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  sentAt: number;
}

/**
 * Exchanges a grant code from Zoho's OAuth redirect (or a self client) for tokens. The code works once,
 * and only at the accounts server of its data center: see `environmentFromRedirect`.
 *
 * @throws OAuthError, with {@link OAuthErrorCode.INVALID_GRANT} when the code is spent or expired.
 * @example
 * ```ts
 * const grant = await exchangeAuthorizationCode(environmentFor('US'), { clientId, clientSecret, redirectUri }, code);
 * await saveSomewhere(grant.refreshToken, grant.accessToken, grant.expiresAt);
 * ```
 */
export async function exchangeAuthorizationCode(
  env: Environment,
  client: ClientCredentials,
  code: string,
  options: AccountsRequestOptions = {},
): Promise<TokenGrant> {
  requireText(code, 'code');
  const body = clientParams(client, { grant_type: 'authorization_code', code });
  if (client.redirectUri) body.set('redirect_uri', client.redirectUri);
  return tokenGrantOf(await post(endpoint(env, '/oauth/v2/token'), body, options));
}

/**
 * Mints a new access token from a refresh token. Zoho allows 10 per refresh token per 10 minutes;
 * beyond that it answers "Access Denied" ({@link OAuthErrorCode.RATE_LIMITED}).
 *
 * @throws OAuthError, with {@link OAuthErrorCode.INVALID_GRANT} when the refresh token was revoked.
 * @example
 * ```ts
 * const { accessToken, expiresAt } = await refreshAccessToken(environmentFor('EU'), { clientId, clientSecret }, refreshToken);
 * ```
 */
export async function refreshAccessToken(
  env: Environment,
  client: ClientCredentials,
  refreshToken: string,
  options: AccountsRequestOptions = {},
): Promise<TokenGrant> {
  requireText(refreshToken, 'refreshToken');
  const body = clientParams(client, { grant_type: 'refresh_token', refresh_token: refreshToken });
  return tokenGrantOf(await post(endpoint(env, '/oauth/v2/token'), body, options));
}

/** What a client credentials grant asks for. */
export interface ClientCredentialsGrant {
  /** Such as `['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ']`; sent comma-separated. */
  scope: readonly string[] | string;
  /** The CRM org's id (`GET /crm/v8/org` → `org[0].id`); sent as `soid=ZohoCRM.<orgId>`. */
  orgId: string;
}

/**
 * Zoho's client credentials grant, for a self client with the flow enabled: an access token for the
 * org, with no refresh token (run the grant again when it expires) and no user's consent. Sent to
 * `POST {accounts}/oauth/v2/token` as Zoho's accounts docs say (`grant_type=client_credentials`,
 * `client_id`, `client_secret`, `scope`, `soid=ZohoCRM.<org id>`).
 *
 * @throws OAuthError, with {@link OAuthErrorCode.MISSING_ORG_INFO} when Zoho knows no such org for the
 * client, {@link OAuthErrorCode.RATE_LIMITED} when it throttles; TypeError for an empty scope or an
 * org id that is not digits.
 * @example
 * ```ts
 * const { accessToken, expiresAt } = await requestClientCredentialsToken(
 *   environmentFor('US'),
 *   { clientId, clientSecret },
 *   { scope: ['ZohoCRM.modules.ALL'], orgId: '600000434' },
 * );
 * ```
 */
export async function requestClientCredentialsToken(
  env: Environment,
  client: ClientCredentials,
  grant: ClientCredentialsGrant,
  options: AccountsRequestOptions = {},
): Promise<TokenGrant> {
  const scope = typeof grant.scope === 'string' ? grant.scope : grant.scope.join(',');
  requireText(scope, 'scope');
  if (typeof grant.orgId !== 'string' || !/^\d+$/.test(grant.orgId)) {
    throw new TypeError('orgId must be the CRM org id, digits only');
  }
  const body = clientParams(client, { grant_type: 'client_credentials', scope, soid: `ZohoCRM.${grant.orgId}` });
  return tokenGrantOf(await post(endpoint(env, '/oauth/v2/token'), body, options));
}

/**
 * Revokes a refresh token, and with it every access token minted from it. The token travels in the
 * query string because that is the one form Zoho documents for this endpoint.
 *
 * @throws OAuthError, with {@link OAuthErrorCode.INVALID_TOKEN} when Zoho does not know the token.
 * @example
 * ```ts
 * try {
 *   await revokeRefreshToken(environmentFor('IN'), refreshToken);
 * } catch (error) {
 *   if (!(isOAuthError(error) && error.code === OAuthErrorCode.INVALID_TOKEN)) throw error; // already gone
 * }
 * ```
 */
export async function revokeRefreshToken(
  env: Environment,
  refreshToken: string,
  options: AccountsRequestOptions = {},
): Promise<void> {
  requireText(refreshToken, 'refreshToken');
  const url = `${endpoint(env, '/oauth/v2/token/revoke')}?${new URLSearchParams({ token: refreshToken })}`;
  const answer = await post(url, undefined, options);
  // Zoho documents only the status of an unknown token (400), not its body, so any 400 body will do.
  const json = bodyOf(answer, { lenient: answer.status === 400 });
  const error = zohoErrorOf(json);
  const failed = hasError(json) || json?.status === 'failure';
  if (answer.status >= 200 && answer.status < 300 && !failed) return;
  if (answer.status === 400 || (failed && (error === undefined || UNKNOWN_TOKEN_ERRORS.has(keyOf(error))))) {
    throw new OAuthError(OAuthErrorCode.INVALID_TOKEN, 'Zoho does not know the token to revoke', {
      status: answer.status,
      ...(error === undefined ? {} : { zohoError: error }),
    });
  }
  throw unexpected(answer, error);
}

/** Parameters of {@link authorizationUrl}. */
export interface AuthorizationUrlParams {
  clientId: string;
  /** Must equal the redirect URI registered for the client. */
  redirectUri: string;
  /** Such as `['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ']`; sent comma-separated. */
  scope: string[] | string;
  /** `offline` (default) also yields a refresh token; `online` only an access token. */
  accessType?: 'offline' | 'online';
  /** `consent` asks the user again, which is how to get a new refresh token for an app already authorised. */
  prompt?: 'consent';
  /** Unguessable per-request value, checked on the redirect against CSRF. */
  state: string;
  /** Sent as `login_hint` to preselect the account; Zoho does not document it and ignores what it does not know. */
  loginHint?: string;
}

/**
 * The URL to send the user's browser to for consent. Zoho redirects back to `redirectUri` with `code`,
 * `state`, `location` and `accounts-server`.
 *
 * @example
 * ```ts
 * const url = authorizationUrl(environmentFor('US'), {
 *   clientId,
 *   redirectUri: 'https://app.example.com/oauth/callback',
 *   scope: ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ'],
 *   prompt: 'consent',
 *   state: randomUUID(),
 * });
 * ```
 */
export function authorizationUrl(env: Environment, params: AuthorizationUrlParams): string {
  requireText(params.clientId, 'clientId');
  requireText(params.redirectUri, 'redirectUri');
  requireText(params.state, 'state');
  const scope = Array.isArray(params.scope) ? params.scope.join(',') : params.scope;
  requireText(scope, 'scope');
  const url = new URL(endpoint(env, '/oauth/v2/auth'));
  url.searchParams.set('client_id', params.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', params.redirectUri);
  url.searchParams.set('scope', scope);
  url.searchParams.set('access_type', params.accessType ?? 'offline');
  if (params.prompt) url.searchParams.set('prompt', params.prompt);
  url.searchParams.set('state', params.state);
  if (params.loginHint) url.searchParams.set('login_hint', params.loginHint);
  return url.href;
}

/**
 * `path` on the environment's accounts server, once checked to be where its secrets may go.
 *
 * @throws OAuthError {@link OAuthErrorCode.UNTRUSTED_ACCOUNTS_SERVER}, before anything is sent.
 */
function endpoint(env: Environment, path: string): string {
  const url = `${env.accountsUrl}${path}`;
  if (!isAccountsUrlOf(url, env)) {
    // The URL stays out of the message: it may hold credentials.
    throw new OAuthError(
      OAuthErrorCode.UNTRUSTED_ACCOUNTS_SERVER,
      `The accounts server of ${env.name} is not one its secrets may go to (another host than its data center's, plain http off loopback, or credentials); nothing was sent`,
    );
  }
  return url;
}

function clientParams(client: ClientCredentials, grant: Record<string, string>): URLSearchParams {
  requireText(client.clientId, 'clientId');
  requireText(client.clientSecret, 'clientSecret');
  return new URLSearchParams({ ...grant, client_id: client.clientId, client_secret: client.clientSecret });
}

/** POSTs with a timeout per attempt, retrying only what a retry can fix: no answer, or a 5xx. */
async function post(url: string, body: URLSearchParams | undefined, options: AccountsRequestOptions): Promise<Answer> {
  const retries = options.retries ?? 2;
  const backoffMs = options.backoffMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError('retries must be a non-negative integer');
  if (!(backoffMs >= 0)) throw new RangeError('backoffMs must be a non-negative number');
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be a positive number');
  const origin = new URL(url).origin;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    const where = `${origin} (attempt ${attempt} of ${retries + 1})`;
    let failure: OAuthError;
    try {
      const answer = await attemptOnce(url, body, { ...options, timeoutMs }, where);
      if (answer.status < 500) return answer;
      failure = new OAuthError(OAuthErrorCode.SERVER_ERROR, `HTTP ${answer.status} from ${where}`, {
        status: answer.status,
      });
    } catch (error) {
      if (!isOAuthError(error) || !error.retryable) throw error;
      failure = error;
    }
    if (attempt > retries) throw failure;
    // Full jitter: instances that failed together must not come back together.
    const delay = Math.random() * Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (attempt - 1));
    try {
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
    } catch (error) {
      throw options.signal?.aborted ? options.signal.reason : error;
    }
  }
}

async function attemptOnce(
  url: string,
  body: URLSearchParams | undefined,
  options: AccountsRequestOptions & { timeoutMs: number },
  where: string,
): Promise<Answer> {
  const { timeoutMs } = options;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const sentAt = (options.now ?? Date.now)();
  try {
    const response = await (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: {
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { body: body.toString() } : {}),
      // A redirect would carry the client secret to wherever the accounts server points.
      redirect: 'manual',
      signal,
    });
    const text = await readTextWithin(response, MAX_BODY_BYTES);
    if (text === null) {
      throw new OAuthError(
        OAuthErrorCode.RESPONSE_TOO_LARGE,
        `The answer from ${where} is larger than ${MAX_BODY_BYTES} bytes; it was not read`,
        { status: response.status },
      );
    }
    return { status: response.status, headers: response.headers, text, sentAt };
  } catch (error) {
    if (isOAuthError(error)) throw error;
    if (options.signal?.aborted) throw options.signal.reason;
    if (timeout.aborted) {
      throw new OAuthError(OAuthErrorCode.TIMEOUT, `No answer within ${timeoutMs} ms from ${where}`, {
        cause: error,
      });
    }
    throw new OAuthError(OAuthErrorCode.NETWORK_ERROR, `Could not reach ${where}`, { cause: error });
  }
}

/** Token endpoint errors by {@link keyOf} of Zoho's `error`. */
const ERRORS: Readonly<Record<string, [OAuthErrorCode, string]>> = {
  invalid_code: [
    OAuthErrorCode.INVALID_GRANT,
    'Zoho refused the grant code or refresh token: it is spent, expired or revoked, and the user must authorise again',
  ],
  invalid_client: [OAuthErrorCode.INVALID_CLIENT, 'Zoho does not know this client id in this data center'],
  invalid_client_secret: [OAuthErrorCode.INVALID_CLIENT_SECRET, 'Zoho refused the client secret'],
  invalid_redirect_uri: [
    OAuthErrorCode.INVALID_REDIRECT_URI,
    'Zoho refused the redirect URI: it differs from the one registered for the client',
  ],
  missing_org_info: [
    OAuthErrorCode.MISSING_ORG_INFO,
    'Zoho needs the org of a client credentials grant: the soid is missing or names no org of this client',
  ],
};

const UNKNOWN_TOKEN_ERRORS: ReadonlySet<string> = new Set(['invalid_code', 'invalid_token']);

function tokenGrantOf(answer: Answer): TokenGrant {
  const json = bodyOf(answer);
  const error = zohoErrorOf(json);
  const known = error === undefined ? undefined : ERRORS[keyOf(error)];
  if (known) throw new OAuthError(known[0], `${known[1]} (${error})`, { status: answer.status, zohoError: error });
  if (answer.status < 200 || answer.status >= 300 || json === undefined || hasError(json)) {
    throw unexpected(answer, error);
  }
  const accessToken = json.access_token;
  const expiresInMs = expiresInMsOf(json);
  if (typeof accessToken !== 'string' || accessToken === '' || expiresInMs === undefined) {
    throw new OAuthError(OAuthErrorCode.UNEXPECTED_RESPONSE, 'The token answer lacks access_token or expires_in', {
      status: answer.status,
    });
  }
  return {
    accessToken,
    refreshToken: typeof json.refresh_token === 'string' && json.refresh_token !== '' ? json.refresh_token : null,
    apiDomain: typeof json.api_domain === 'string' && json.api_domain !== '' ? json.api_domain : null,
    tokenType: typeof json.token_type === 'string' ? json.token_type : 'Bearer',
    expiresInMs,
    expiresAt: answer.sentAt + expiresInMs,
  };
}

/** `expires_in` in seconds, or the older shape: `expires_in_sec` in seconds with `expires_in` in ms. */
function expiresInMsOf(json: Record<string, unknown>): number | undefined {
  const seconds = positive(json.expires_in_sec);
  if (seconds !== undefined) return seconds * 1000;
  if ('expires_in_sec' in json) return positive(json.expires_in);
  const inSeconds = positive(json.expires_in);
  return inSeconds === undefined ? undefined : inSeconds * 1000;
}

function positive(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? number : undefined;
}

/**
 * The answer's JSON object, or undefined for an empty body (or, when lenient, for any body that is no
 * JSON object). Throws for redirects, throttling and, unless lenient, bodies that are no JSON object.
 */
function bodyOf(answer: Answer, { lenient = false } = {}): Record<string, unknown> | undefined {
  if (answer.status >= 300 && answer.status < 400) {
    throw new OAuthError(OAuthErrorCode.UNEXPECTED_RESPONSE, `Unexpected redirect (HTTP ${answer.status})`, {
      status: answer.status,
    });
  }
  if (answer.status === 429) throw rateLimited(answer, undefined);
  if (answer.text.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    if (lenient) return undefined;
    // The SyntaxError is not kept as cause: its message quotes the body, which may hold a token.
    throw new OAuthError(OAuthErrorCode.UNEXPECTED_RESPONSE, `The answer is not JSON (HTTP ${answer.status})`, {
      status: answer.status,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    if (lenient) return undefined;
    throw new OAuthError(
      OAuthErrorCode.UNEXPECTED_RESPONSE,
      `The answer is not a JSON object (HTTP ${answer.status})`,
      {
        status: answer.status,
      },
    );
  }
  const body = json as Record<string, unknown>;
  // "Access Denied" comes with 200 or 400 depending on whom you ask; the grant-code limit says `access_denied`.
  const error = zohoErrorOf(body);
  if (error !== undefined && keyOf(error) === 'access_denied') throw rateLimited(answer, error);
  return body;
}

const hasError = (json: Record<string, unknown> | undefined) => json?.error !== undefined && json.error !== null;

/**
 * Zoho's `error` value, if it is made of letters, spaces and underscores only: a server echoing a
 * token in `error` must not get it into a message.
 */
function zohoErrorOf(json: Record<string, unknown> | undefined): string | undefined {
  const error = json?.error;
  return typeof error === 'string' && /^[A-Za-z_ ]{1,64}$/.test(error) ? error : undefined;
}

/** Zoho spells errors both ways: `Access Denied`, `access_denied`. */
const keyOf = (error: string) => error.trim().toLowerCase().replace(/ +/g, '_');

function rateLimited(answer: Answer, zohoError: string | undefined): OAuthError {
  const retryAfterMs = retryAfterMsOf(answer) ?? RATE_LIMIT_RETRY_AFTER_MS;
  return new OAuthError(
    OAuthErrorCode.RATE_LIMITED,
    `Zoho is throttling this client (too many requests); try again in ${Math.ceil(retryAfterMs / 1000)} s at the earliest`,
    { status: answer.status, retryAfterMs, ...(zohoError === undefined ? {} : { zohoError }) },
  );
}

/**
 * A `Retry-After` header, in delta-seconds or as an HTTP date, when a proxy in between sends one;
 * at most {@link MAX_RETRY_AFTER_MS}.
 */
function retryAfterMsOf(answer: Answer): number | undefined {
  const header = answer.headers.get('retry-after')?.trim();
  if (!header) return undefined;
  const ms = /^\d+$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now();
  return ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

function unexpected(answer: Answer, error: string | undefined): OAuthError {
  return new OAuthError(
    OAuthErrorCode.UNEXPECTED_RESPONSE,
    error === undefined
      ? `Unexpected answer from the Zoho accounts server (HTTP ${answer.status})`
      : `Zoho answered with an unexpected error (${error}, HTTP ${answer.status})`,
    { status: answer.status, ...(error === undefined ? {} : { zohoError: error }) },
  );
}

function requireText(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.trim() === '') throw new TypeError(`${name} must be a non-empty string`);
}
