import { type Environment, isApiUrlOf } from '../oauth/data-centers.js';
import { readTextWithin } from '../oauth/limited-body.js';
import type { TokenLike } from '../token/oauth-token.js';
import { ZohoTokenStoreError } from '../zoho-token-store-error.js';

/** What the CRM client needs from a token source: a {@link TokenManager} fits. */
export interface AccessTokenSource {
  getAccessToken(): Promise<string>;
  getToken(): Promise<TokenLike>;
  invalidate(accessToken: string): void;
  /** The environment the tokens belong to, which bounds where they are sent. */
  readonly environment?: Environment;
}

/** Options for one CRM request. */
export interface CrmRequestOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * The codes {@link CrmError} sets itself. Any other code is Zoho's own (`INVALID_TOKEN`,
 * `REQUIRED_PARAM_MISSING`, …).
 */
export const CrmErrorCode = {
  /** The request never got an answer: connection refused or reset, DNS failure, TLS error. Status 0. */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** No complete answer within the client's `timeoutMs`. Status 0. */
  TIMEOUT: 'TIMEOUT',
  /** An answer whose body is not JSON where JSON was due (a proxy's HTML page, a cut-off body). */
  UNEXPECTED_RESPONSE: 'UNEXPECTED_RESPONSE',
  /** An error status without Zoho's error body. */
  HTTP_ERROR: 'HTTP_ERROR',
  /** The token names no API domain to send the call to. Status 0. */
  NO_API_DOMAIN: 'NO_API_DOMAIN',
  /**
   * The call would go to a host that is no API domain of the token's environment (see `isApiUrlOf`):
   * a tampered or mistaken `api_domain`, or a path naming another host. Nothing was sent. Status 0.
   */
  UNTRUSTED_API_DOMAIN: 'UNTRUSTED_API_DOMAIN',
  /** The answer's body is larger than the client's `maxResponseBytes`; reading stopped there. */
  RESPONSE_TOO_LARGE: 'RESPONSE_TOO_LARGE',
} as const;

export type CrmErrorCode = (typeof CrmErrorCode)[keyof typeof CrmErrorCode];

/**
 * A failed CRM call (a {@link ZohoTokenStoreError}): Zoho's HTTP status (0 when no answer came) and an error `code`, Zoho's own or
 * one of {@link CrmErrorCode}. `cause` holds the underlying error when there is one. Messages name
 * the host, never a token.
 *
 * @example
 * ```ts
 * try {
 *   await crm.request('GET', '/crm/v8/org');
 * } catch (error) {
 *   if (isCrmError(error) && error.code === CrmErrorCode.TIMEOUT) retryLater();
 *   else throw error;
 * }
 * ```
 */
export class CrmError extends ZohoTokenStoreError {
  override readonly name = 'CrmError';
  readonly status: number;
  declare readonly code: CrmErrorCode | (string & {});
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(code, `Zoho CRM ${status} ${code}: ${message}`, options);
    this.status = status;
    this.details = details;
  }
}

/**
 * True for a {@link CrmError}, also one from another copy of this package.
 *
 * @example
 * ```ts
 * if (isCrmError(error) && error.status === 401) signInAgain();
 * ```
 */
export function isCrmError(value: unknown): value is CrmError {
  return value instanceof Error && value.name === 'CrmError';
}

/**
 * An authenticated Zoho CRM REST client: adds `Authorization: Zoho-oauthtoken …` to every call,
 * sends it to the token's API domain, and on a 401 `INVALID_TOKEN` refreshes once and retries once.
 * The call goes out only when its URL is on an API domain of the environment (`options.environment`,
 * else the token source's, else any Zoho data center's): else `UNTRUSTED_API_DOMAIN`, and nothing is sent.
 * Every failure of the call itself is a {@link CrmError}: Zoho's error, or `NETWORK_ERROR`, `TIMEOUT`,
 * `UNEXPECTED_RESPONSE` with the underlying error as `cause`. Token failures stay the token source's.
 *
 * @example
 * ```ts
 * const crm = createCrmClient({ tokens: manager });
 * const leads = await crm.request<{ data: { Last_Name: string }[] }>('GET', '/crm/v8/Leads', {
 *   query: { fields: 'Last_Name,Email' },
 * });
 * ```
 */
export function createCrmClient(options: {
  tokens: AccessTokenSource;
  /** Where the tokens may go. Default: the token source's `environment`. */
  environment?: Environment;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** The largest answer body read, in bytes; a larger one is `RESPONSE_TOO_LARGE`. Default 8 MiB. */
  maxResponseBytes?: number;
}) {
  const send = options.fetch ?? fetch;
  const limits = {
    timeoutMs: options.timeoutMs ?? 30_000,
    maxBytes: options.maxResponseBytes ?? CRM_MAX_RESPONSE_BYTES,
  };
  const environment = options.environment ?? options.tokens.environment;

  async function attempt(method: string, path: string, request: CrmRequestOptions) {
    const accessToken = await options.tokens.getAccessToken();
    const url = apiUrl((await options.tokens.getToken()).getAPIDomain(), path, environment);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const { response, body } = await callCrm(send, url, limits, {
      method,
      headers: {
        ...request.headers,
        Authorization: `Zoho-oauthtoken ${accessToken}`,
        ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: request.signal,
    });
    return { accessToken, response, body };
  }

  return {
    /** Calls the CRM API; resolves with the parsed JSON body (null when empty), throws {@link CrmError}. */
    async request<T = unknown>(method: string, path: string, request: CrmRequestOptions = {}): Promise<T> {
      let result = await attempt(method, path, request);
      if (result.response.status === 401 && errorCode(result.body) === 'INVALID_TOKEN') {
        options.tokens.invalidate(result.accessToken);
        result = await attempt(method, path, request);
      }
      if (!result.response.ok) {
        const body = (result.body ?? {}) as { code?: string; message?: string; details?: unknown };
        throw new CrmError(
          result.response.status,
          body.code ?? CrmErrorCode.HTTP_ERROR,
          body.message ?? 'request failed',
          body.details,
        );
      }
      return result.body as T;
    },
  };
}

/**
 * The URL of `path` on `apiDomain`, once checked to be an API domain of `environment` (any Zoho data
 * center's without one): the token is sent nowhere else.
 *
 * @throws CrmError `NO_API_DOMAIN` or `UNTRUSTED_API_DOMAIN`.
 */
export function apiUrl(apiDomain: string | null, path: string, environment: Environment | undefined): URL {
  if (!apiDomain) throw new CrmError(0, CrmErrorCode.NO_API_DOMAIN, 'the token has no API domain');
  const url = URL.canParse(path, apiDomain) ? new URL(path, apiDomain) : null;
  if (url === null || !isApiUrlOf(url, environment)) {
    throw new CrmError(
      0,
      CrmErrorCode.UNTRUSTED_API_DOMAIN,
      `${url?.host || 'the URL'} is no API domain of ${environment?.name ?? 'a Zoho data center'}; the token was not sent`,
    );
  }
  return url;
}

/** The default `maxResponseBytes`: a page of 200 records with many fields stays well below it. */
export const CRM_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * Sends one CRM call and reads its body, within `timeoutMs` and `maxBytes`: a failure to reach Zoho
 * or a cut body is a {@link CrmError} `NETWORK_ERROR` or `TIMEOUT`, a larger body
 * `RESPONSE_TOO_LARGE`, a success whose body is not JSON `UNEXPECTED_RESPONSE`. An abort by the
 * caller's own `signal` passes as fetch reports it. Redirects are not followed.
 */
export async function callCrm(
  send: typeof fetch,
  url: URL,
  { timeoutMs, maxBytes }: { timeoutMs: number; maxBytes: number },
  init: Omit<RequestInit, 'signal'> & { signal?: AbortSignal | undefined },
): Promise<{ response: Response; body: unknown }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await send(url, {
      ...init,
      // Checked is only `url`: a redirect would take the call, and the answer shown, elsewhere.
      redirect: 'manual',
      signal: init.signal ? AbortSignal.any([init.signal, timeout]) : timeout,
    });
    // The body can fail too: a connection cut or the timeout while it streams.
    const text = await readTextWithin(response, maxBytes);
    if (text === null) {
      throw new CrmError(
        response.status,
        CrmErrorCode.RESPONSE_TOO_LARGE,
        `${url.host} answered with more than ${maxBytes} bytes; the rest was not read`,
      );
    }
    return { response, body: parseBody(response, text, url) };
  } catch (thrown) {
    if (thrown instanceof CrmError || init.signal?.aborted) throw thrown;
    // fetch's error for a malformed header quotes the header, and so the access token in it.
    const error =
      thrown instanceof TypeError && /header/i.test(thrown.message)
        ? new TypeError('a request header is malformed')
        : thrown;
    throw timeout.aborted
      ? new CrmError(0, CrmErrorCode.TIMEOUT, `no answer from ${url.host} within ${timeoutMs} ms`, undefined, {
          cause: error,
        })
      : new CrmError(0, CrmErrorCode.NETWORK_ERROR, `could not reach ${url.host}`, undefined, { cause: error });
  }
}

/** Null for an empty body; an error status without JSON is left for the caller to report as `HTTP_ERROR`. */
function parseBody(response: Response, text: string, url: URL): unknown {
  if (text.length === 0) return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    if (!response.ok) return null;
    throw new CrmError(
      response.status,
      CrmErrorCode.UNEXPECTED_RESPONSE,
      `${url.host} answered with a body that is not JSON`,
      undefined,
      { cause: error },
    );
  }
}

function errorCode(body: unknown): string | undefined {
  return typeof body === 'object' && body !== null ? (body as { code?: string }).code : undefined;
}
