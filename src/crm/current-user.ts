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
  const body = await getCrm(apiDomain, '/crm/v8/users?type=CurrentUser', accessToken, options);
  const email = (body as { users?: { email?: unknown }[] } | null)?.users?.[0]?.email;
  return typeof email === 'string' && email.length > 0 ? email : null;
}

/**
 * The org's `zgid`, from `GET /crm/v8/org`: the second half of the user name the official SDK
 * 8.0 stores (`email:zgid`). Null when Zoho answers with an error status (the token may lack
 * the `ZohoCRM.org.READ` scope) or names no zgid. Throws as {@link fetchCurrentUserEmail}.
 *
 * @example
 * ```ts
 * const zgid = await fetchOrgZgid('https://www.zohoapis.eu', accessToken); // '700001234'
 * ```
 */
export async function fetchOrgZgid(
  apiDomain: string,
  accessToken: string,
  options: { fetch?: typeof fetch; timeoutMs?: number; environment?: Environment } = {},
): Promise<string | null> {
  const body = await getCrm(apiDomain, '/crm/v8/org', accessToken, options);
  const zgid = (body as { org?: { zgid?: unknown }[] } | null)?.org?.[0]?.zgid;
  return (typeof zgid === 'string' || typeof zgid === 'number') && String(zgid).length > 0 ? String(zgid) : null;
}

/**
 * The user name the official SDK 8.0 gives a new token: `email:zgid` from `/users?type=CurrentUser`
 * and `/org`, the plain email when the org is not known, null when the email is not. A store
 * matches either form to the other (see `lookupKeys`), so one user keeps one row across SDKs.
 *
 * @example
 * ```ts
 * const name = await fetchCurrentUserName('https://www.zohoapis.eu', accessToken); // 'ana@zylker.com:700001234'
 * ```
 */
export async function fetchCurrentUserName(
  apiDomain: string,
  accessToken: string,
  options: { fetch?: typeof fetch; timeoutMs?: number; environment?: Environment } = {},
): Promise<string | null> {
  const email = await fetchCurrentUserEmail(apiDomain, accessToken, options);
  if (email === null) return null;
  const zgid = await fetchOrgZgid(apiDomain, accessToken, options);
  return zgid === null ? email : `${email}:${zgid}`;
}

/** The JSON body of a CRM GET, or null when Zoho answers with an error status. */
async function getCrm(
  apiDomain: string,
  path: string,
  accessToken: string,
  options: { fetch?: typeof fetch; timeoutMs?: number; environment?: Environment },
): Promise<unknown> {
  const url = apiUrl(apiDomain, path, options.environment);
  const limits = { timeoutMs: options.timeoutMs ?? 10_000, maxBytes: CRM_MAX_RESPONSE_BYTES };
  const { response, body } = await callCrm(options.fetch ?? fetch, url, limits, {
    headers: { Authorization: `Zoho-oauthtoken ${accessToken}` },
  });
  return response.ok ? body : null;
}
