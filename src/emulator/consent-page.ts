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

// Inline styles only: the emulator's CSP is `default-src 'none'; style-src 'unsafe-inline'`.
// The palette matches the example portal's; the striped banner says plainly that this is not Zoho.
const STYLE = `*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;background:#f5f7fb;overflow-wrap:break-word}
.banner{margin:0;padding:.6rem 1rem;text-align:center;color:#7a2e0e;border-bottom:1px solid #f5c451;
background:repeating-linear-gradient(135deg,#fef0c7 0 14px,#fde59a 14px 28px)}
main{max-width:32rem;margin:2.5rem auto;padding:1.5rem;background:#fff;border:1px solid #e3e7ef;border-radius:10px}
h1{font-size:1.4rem;margin:0 0 .5rem}p{margin:.5rem 0}.muted{color:#5b6475}ul{margin:.25rem 0;padding-left:1.25rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;overflow-wrap:anywhere}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
select{width:100%;font:inherit;padding:.45rem .5rem;border:1px solid #c5ccd8;border-radius:6px;background:#fff;color:inherit}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.25rem}
button{font:inherit;font-weight:600;border:0;border-radius:6px;padding:.6rem 1.5rem;cursor:pointer}
.approve{background:#0b5cad;color:#fff}.deny{background:#eef1f6;color:#1d2433}
@media (max-width:34rem){main{margin:1rem .75rem;padding:1rem}}`;

const page = (title: string, body: string): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Zoho emulator</title><style>${STYLE}</style></head>
<body><p class="banner" role="note"><strong>Local Zoho emulator — not Zoho.</strong> A test stand-in: nothing here reaches Zoho.</p>
<main>${body}</main></body></html>`;

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
    `<h1>Authorize an application</h1>
<p>Client <code>${escapeHtml(request.clientId)}</code> asks for these scopes:</p><ul>${scopes}</ul>
<form method="post" action="/oauth/v2/auth">
<label for="user_email">Sign in as</label><select id="user_email" name="user_email">${options}</select>
<p class="muted">Access type: <code>${escapeHtml(request.accessType)}</code>. You will return to <code>${escapeHtml(request.redirectUri)}</code>.</p>
${hidden('response_type', 'code')}${hidden('client_id', request.clientId)}${hidden('redirect_uri', request.redirectUri)}
${hidden('scope', request.scope)}${hidden('access_type', request.accessType)}${hidden('state', request.state)}
<p class="actions"><button class="approve" type="submit" name="decision" value="approve">Approve</button>
<button class="deny" type="submit" name="decision" value="deny">Deny</button></p>
</form>`,
  );
}

/** An error page: Zoho shows one, rather than redirect, when it cannot trust the redirect URI. */
export function errorPage(message: string): string {
  return page('Error', `<h1>Cannot authorize</h1><p>${escapeHtml(message)}</p>`);
}
