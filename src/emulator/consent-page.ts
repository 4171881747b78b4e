import type { CrmUser } from './crm-directory.js';
import { escapeHtml } from './http-io.js';

/** What the consent form carries back to `POST /oauth/v2/auth`. */
export interface ConsentRequest {
  clientId: string;
  redirectUri: string;
  scope: string;
  accessType: string;
  state: string | undefined;
}

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Zoho emulator</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}
button{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem}code{word-break:break-all}</style></head>
<body><p><small>Local Zoho accounts emulator — not Zoho</small></p>${body}</body></html>`;

const hidden = (name: string, value: string | undefined): string =>
  value === undefined ? '' : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;

/** The consent page: who signs in, what the client asks for, Approve or Deny. */
export function consentPage(request: ConsentRequest, users: readonly CrmUser[], selected: CrmUser): string {
  const options = users
    .map(
      (user) =>
        `<option value="${escapeHtml(user.email)}"${user === selected ? ' selected' : ''}>` +
        `${escapeHtml(`${user.firstName} ${user.lastName} <${user.email}>`)}</option>`,
    )
    .join('');
  const scopes = request.scope
    .split(',')
    .map((scope) => `<li><code>${escapeHtml(scope)}</code></li>`)
    .join('');
  return page(
    'Authorize',
    `<h1>Authorize <code>${escapeHtml(request.clientId)}</code></h1>
<form method="post" action="/oauth/v2/auth">
<p><label>Sign in as <select name="user_email">${options}</select></label></p>
<p>The application asks for:</p><ul>${scopes}</ul>
<p>Access type: <code>${escapeHtml(request.accessType)}</code>. You will return to <code>${escapeHtml(request.redirectUri)}</code>.</p>
${hidden('response_type', 'code')}${hidden('client_id', request.clientId)}${hidden('redirect_uri', request.redirectUri)}
${hidden('scope', request.scope)}${hidden('access_type', request.accessType)}${hidden('state', request.state)}
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

/** An error page: Zoho shows one, rather than redirect, when it cannot trust the redirect URI. */
export function errorPage(message: string): string {
  return page('Error', `<h1>Cannot authorize</h1><p>${escapeHtml(message)}</p>`);
}
