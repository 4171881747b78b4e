/**
 * The signed-in user's email, from `GET /crm/v8/users?type=CurrentUser`: how a token whose
 * user is not yet known gets one, as the official SDK does after a new token.
 */
export async function fetchCurrentUserEmail(
  apiDomain: string,
  accessToken: string,
  options: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Promise<string | null> {
  const response = await (options.fetch ?? fetch)(new URL('/crm/v8/users?type=CurrentUser', apiDomain), {
    headers: { Authorization: `Zoho-oauthtoken ${accessToken}` },
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  if (!response.ok) return null;
  const body = (await response.json()) as { users?: { email?: unknown }[] };
  const email = body.users?.[0]?.email;
  return typeof email === 'string' && email.length > 0 ? email : null;
}
