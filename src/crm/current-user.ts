import { callCrm } from './crm-client.js';

/**
 * The signed-in user's email, from `GET /crm/v8/users?type=CurrentUser`: how a token whose
 * user is not yet known gets one, as the official SDK does after a new token. Null when Zoho
 * answers with an error status or names no email.
 *
 * @throws CrmError `NETWORK_ERROR` or `TIMEOUT` when Zoho cannot be reached or does not answer
 *   within `timeoutMs` (default 10 s), `UNEXPECTED_RESPONSE` when its answer is not JSON.
 *
 * @example
 * ```ts
 * const email = await fetchCurrentUserEmail('https://www.zohoapis.eu', accessToken);
 * ```
 */
export async function fetchCurrentUserEmail(
  apiDomain: string,
  accessToken: string,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Promise<string | null> {
  const url = new URL('/crm/v8/users?type=CurrentUser', apiDomain);
  const { response, body } = await callCrm(options.fetch ?? fetch, url, options.timeoutMs ?? 10_000, {
    headers: { Authorization: `Zoho-oauthtoken ${accessToken}` },
  });
  if (!response.ok) return null;
  const email = (body as { users?: { email?: unknown }[] } | null)?.users?.[0]?.email;
  return typeof email === 'string' && email.length > 0 ? email : null;
}
