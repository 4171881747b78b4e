import type { Environment } from '../oauth/data-centers.js';
import { apiUrl, CRM_MAX_RESPONSE_BYTES, callCrm } from './crm-client.js';

/**
 * The signed-in user's email, from `GET /crm/v8/users?type=CurrentUser`: how a token whose
 * user is not yet known gets one, as the official SDK does after a new token. Null when Zoho
 * answers with an error status or names no email.
 *
 * @throws CrmError `UNTRUSTED_API_DOMAIN`, before anything is sent, when `apiDomain` is no API domain
 *   of `environment` (without one, of any Zoho data center); `NETWORK_ERROR` or `TIMEOUT` when Zoho
 *   cannot be reached or does not answer within `timeoutMs` (default 10 s), `UNEXPECTED_RESPONSE`
 *   when its answer is not JSON, `RESPONSE_TOO_LARGE` past 8 MiB.
 *
 * @example
 * ```ts
 * const email = await fetchCurrentUserEmail('https://www.zohoapis.eu', accessToken);
 * ```
 */
export async function fetchCurrentUserEmail(
  apiDomain: string,
  accessToken: string,
  options: { fetch?: typeof fetch; timeoutMs?: number; environment?: Environment } = {},
): Promise<string | null> {
  const url = apiUrl(apiDomain, '/crm/v8/users?type=CurrentUser', options.environment);
  const limits = { timeoutMs: options.timeoutMs ?? 10_000, maxBytes: CRM_MAX_RESPONSE_BYTES };
  const { response, body } = await callCrm(options.fetch ?? fetch, url, limits, {
    headers: { Authorization: `Zoho-oauthtoken ${accessToken}` },
  });
  if (!response.ok) return null;
  const email = (body as { users?: { email?: unknown }[] } | null)?.users?.[0]?.email;
  return typeof email === 'string' && email.length > 0 ? email : null;
}
