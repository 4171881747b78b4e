import type { TokenActivity, TokenSummary } from 'zoho-token-store';
import { html, type SafeHtml } from './html.js';
import { type LayoutOptions, layout, type Viewer } from './layout.js';

/** A lead as the CRM API returns it: field API names to values. */
export type Lead = Record<string, unknown>;

/** A stored token as the admin page lists it: masked, with its activity when the store tracks it. */
export interface AdminRow {
  token: TokenSummary;
  /** Undefined when the store tracks activity but has none for this token; null when it does not track it. */
  activity: TokenActivity | undefined | null;
}

const DASH = '—';

/**
 * A time in UTC to the second (pages say UTC once), machine-readable in `datetime`; a dash when
 * unknown. Date and clock are spans that never break inside, so a narrow column wraps between them.
 */
function time(ms: number | null | undefined): SafeHtml | string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  const iso = new Date(ms).toISOString();
  const [date, clock] = iso.replace(/\.\d+Z$/, '').split('T');
  return html`<time datetime="${iso}"><span>${date}</span> <span>${clock}</span></time>`;
}

const text = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

/**
 * The sign-in page: what the portal does, and the one button.
 *
 * @example
 * ```ts
 * htmlReply(200, signInPage({ footer: 'Zoho emulator' }, null, true));
 * ```
 */
export function signInPage(frame: Omit<LayoutOptions, 'title' | 'viewer'>, notice: string | null, emulator: boolean) {
  return layout(
    { ...frame, title: 'Sign in', viewer: null },
    html`<section class="card narrow">
      <h1>Welcome to Zylker Academy</h1>
      <p>Sign in with your Zoho account to see your courses' leads from Zoho CRM.</p>
      <p class="muted">Your sign-in is remembered: come back hours later and you are still signed in.</p>
      ${notice && html`<p class="notice warn" role="status">${notice}</p>`}
      <p><a class="button zoho" href="/login">Login with Zoho</a></p>
      ${
        emulator &&
        html`<p class="muted"><small>Running on the local Zoho emulator: its consent page lets you pick a
        seeded user. Nothing leaves this machine.</small></p>`
      }
    </section>`,
  );
}

/**
 * The dashboard: the user's leads and how their token stands.
 *
 * @example
 * ```ts
 * dashboardPage({ footer }, viewer, [{ Last_Name: 'Kowalski', Company: 'Wisła' }], summarizeToken(token));
 * ```
 */
export function dashboardPage(
  frame: Omit<LayoutOptions, 'title' | 'viewer'>,
  viewer: Viewer,
  leads: readonly Lead[],
  token: TokenSummary,
) {
  const rows = leads.map(
    (lead) => html`<tr>
      <td>${text(lead.First_Name)} ${text(lead.Last_Name)}</td>
      <td>${text(lead.Company)}</td>
      <td>${text(lead.Email)}</td>
      <td><span class="pill">${text(lead.Lead_Status) || DASH}</span></td>
    </tr>`,
  );
  const expiresAt = token.expiresAt === null ? null : Date.parse(token.expiresAt);
  return layout(
    { ...frame, title: 'Dashboard', viewer },
    html`<section class="card">
      <h1>Your leads</h1>
      <p class="muted">Live from Zoho CRM with your stored token.</p>
      ${
        leads.length === 0
          ? html`<p>No leads yet.</p>`
          : html`<div class="scroll stack"><table id="leads">
              <thead><tr><th>Name</th><th>Company</th><th>Email</th><th>Status</th></tr></thead>
              <tbody>${rows}</tbody>
            </table></div>`
      }
    </section>
    <section class="card">
      <h2>Your Zoho token</h2>
      <p>Access token <code>${token.accessToken ?? DASH}</code>, valid until ${time(expiresAt)} UTC;
      it is refreshed automatically. Stored as row <code>${token.id ?? DASH}</code>.</p>
    </section>`,
  );
}

/**
 * The admin page: every stored token, masked, with revoke and delete.
 *
 * @example
 * ```ts
 * adminPage({ footer }, viewer, [{ token: summarizeToken(token), activity: null }], false, null);
 * ```
 */
export function adminPage(
  frame: Omit<LayoutOptions, 'title' | 'viewer'>,
  viewer: Viewer,
  rows: readonly AdminRow[],
  tracksActivity: boolean,
  notice: string | null,
) {
  const action = (path: string, id: string, label: string, style: string) =>
    html`<form class="inline" method="post" action="${path}">
      <input type="hidden" name="id" value="${id}">
      <input type="hidden" name="csrf" value="${viewer.csrfToken}">
      <button class="${style}" type="submit">${label}</button>
    </form>`;
  const body = rows.map(({ token, activity }) => {
    const id = token.id ?? '';
    return html`<tr data-user="${token.userName ?? ''}">
      <td data-label="ID"><code>${id}</code></td>
      <td data-label="User">${token.userName ?? DASH}</td>
      <td data-label="Client"><code>${token.clientId ?? DASH}</code></td>
      <td data-label="Access token"><code>${token.accessToken ?? DASH}</code></td>
      <td data-label="Refresh token"><code>${token.refreshToken ?? DASH}</code></td>
      <td data-label="Expires (UTC)" class="expiry">${time(token.expiresAt === null ? null : Date.parse(token.expiresAt))}</td>
      <td data-label="Last used" class="last-used">${activity === null ? DASH : time(activity?.lastUsedAt)}</td>
      <td data-label="Revoked" class="revoked">${activity === null ? DASH : time(activity?.revokedAt)}</td>
      <td class="actions">${action('/admin/revoke', id, 'Revoke', 'danger')} ${action('/admin/delete', id, 'Delete', 'plain')}</td>
    </tr>`;
  });
  return layout(
    { ...frame, title: 'Admin', viewer },
    html`<section class="card">
      <h1>Stored tokens</h1>
      <p class="muted">What the token store holds. Secrets are masked: only their length and last characters show.</p>
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      ${
        rows.length === 0
          ? html`<p>The store holds no tokens.</p>`
          : html`<div class="scroll stack"><table id="tokens">
              <thead><tr><th>ID</th><th>User</th><th>Client</th><th>Access token</th><th>Refresh token</th>
              <th>Expires (UTC)</th><th>Last used</th><th>Revoked</th><th></th></tr></thead>
              <tbody>${body}</tbody>
            </table></div>`
      }
      <p class="muted"><small><strong>Revoke</strong> ends the token at Zoho, then deletes it here: the user must sign
      in again. <strong>Delete</strong> only forgets it here.
      ${!tracksActivity && 'This store does not track last use, so those columns show a dash.'}</small></p>
    </section>`,
  );
}

/**
 * A friendly error: what happened and what to do, never a stack trace.
 *
 * @example
 * ```ts
 * errorPage({ viewer: null, footer }, 'Page not found', 'There is no page here.', { href: '/', label: 'Go to sign-in' });
 * ```
 */
export function errorPage(
  frame: Omit<LayoutOptions, 'title'>,
  title: string,
  message: string,
  next: { href: string; label: string },
) {
  return layout(
    { ...frame, title },
    html`<section class="card narrow">
      <h1>${title}</h1>
      <p>${message}</p>
      <p><a class="button zoho" href="${next.href}">${next.label}</a></p>
    </section>`,
  );
}
