import type { TokenLike } from '../token/oauth-token.js';

/** What the CRM client needs from a token source: a {@link TokenManager} fits. */
export interface AccessTokenSource {
  getAccessToken(): Promise<string>;
  getToken(): Promise<TokenLike>;
  invalidate(accessToken: string): void;
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

/** A failed CRM call: Zoho's HTTP status and error `code` (`INVALID_TOKEN`, `REQUIRED_PARAM_MISSING`, …). */
export class CrmError extends Error {
  override readonly name = 'CrmError';
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(`Zoho CRM ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** True for a {@link CrmError}, also one from another copy of this package. */
export function isCrmError(value: unknown): value is CrmError {
  return value instanceof Error && value.name === 'CrmError';
}

/**
 * An authenticated Zoho CRM REST client: adds `Authorization: Zoho-oauthtoken …` to every call,
 * sends it to the token's API domain, and on a 401 `INVALID_TOKEN` refreshes once and retries once.
 *
 * @example
 * ```ts
 * const crm = createCrmClient({ tokens: manager });
 * const leads = await crm.request<{ data: { Last_Name: string }[] }>('GET', '/crm/v8/Leads', {
 *   query: { fields: 'Last_Name,Email' },
 * });
 * ```
 */
export function createCrmClient(options: { tokens: AccessTokenSource; fetch?: typeof fetch; timeoutMs?: number }) {
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function attempt(method: string, path: string, request: CrmRequestOptions) {
    const accessToken = await options.tokens.getAccessToken();
    const apiDomain = (await options.tokens.getToken()).getAPIDomain();
    if (!apiDomain) throw new CrmError(0, 'NO_API_DOMAIN', 'the token has no API domain');
    const url = new URL(path, apiDomain);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const response = await send(url, {
      method,
      headers: {
        ...request.headers,
        Authorization: `Zoho-oauthtoken ${accessToken}`,
        ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout,
    });
    const text = await response.text();
    const body: unknown = text.length > 0 ? JSON.parse(text) : null;
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
          body.code ?? 'HTTP_ERROR',
          body.message ?? 'request failed',
          body.details,
        );
      }
      return result.body as T;
    },
  };
}

function errorCode(body: unknown): string | undefined {
  return typeof body === 'object' && body !== null ? (body as { code?: string }).code : undefined;
}
