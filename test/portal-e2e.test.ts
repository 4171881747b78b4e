// The portal end to end in real headless Chromium: sign in on the emulator's consent page, see the
// leads, restart the portal, still signed in, expire the token, one refresh, revoke from the admin
// page, back to sign-in. The emulator runs here, so its clock and counters outlive the portal.
// UPDATE_SCREENSHOTS=1 also writes docs/screenshots/*.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { OAuthToken } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { type PortalProcess, spawnPortal } from './fixtures/portal-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const updateScreenshots = process.env.UPDATE_SCREENSHOTS === '1';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true')
    throw new Error(`Chromium is missing at ${CHROMIUM}; CI must install it (apt-get install chromium)`);
  console.warn(
    `\n!!! Chromium not found at ${CHROMIUM}: SKIPPING the portal end-to-end test (apt-get install chromium) !!!\n`,
  );
}

const USER = 'ana.lopez@zylker.com';

/** The user's token as the portal stored it, read by the test on its own connection. */
async function readStoredToken(path: string): Promise<OAuthToken> {
  const store = new SQLiteStore({ path });
  try {
    const token = await store.findToken(new OAuthToken({ userName: USER }));
    assert.ok(token, 'the token is stored under the user’s email');
    return token;
  } finally {
    await store.close();
  }
}

describe('portal end to end in Chromium', { skip: !haveChromium && 'Chromium is not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'portal-e2e-'));
  let emulator: ZohoEmulator;
  let browser: Browser;
  let page: Page;
  let portal: PortalProcess | undefined;

  before(async () => {
    emulator = await startZohoEmulator();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.setDefaultTimeout(15_000);
  });

  after(async () => {
    await portal?.stop();
    await browser?.close();
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the portal as `npm start` does, in `dir`, on the emulator of this test. */
  const start = (port: number) => spawnPortal({ PORT: String(port), ZOHO_ACCOUNTS_URL: emulator.url }, dir);

  const shot = async (name: string) => {
    if (!updateScreenshots) return;
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  const counter = (name: string) => emulator.counters()[name] ?? 0;

  /** The expiry the admin page shows for the user, as the machine-readable `datetime`. */
  const adminExpiry = async () => {
    await page.goto(`${portal?.url}/admin`);
    return page.locator(`tr[data-user="${USER}"] td.expiry time`).getAttribute('datetime');
  };

  it('keeps a user signed in across a restart, refreshes once past expiry, and revokes from admin', async () => {
    portal = await start(0);
    const { url } = portal;
    const port = Number(new URL(url).port);
    assert.ok(statSync(join(dir, 'zohooauth.db')).isFile(), 'tokens go to ./zohooauth.db');

    // Declining consent gives a friendly page, not a stack trace.
    await page.goto(url);
    await page.getByRole('link', { name: 'Login with Zoho' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'You declined access' }).waitFor();
    assert.doesNotMatch(await page.content(), /at \w+ \(|\.ts:\d+/);
    await shot('error-denied');

    // Sign in on the emulator's consent page.
    await page.goto(url);
    await shot('sign-in');
    await page.getByRole('link', { name: 'Login with Zoho' }).click();
    await page.waitForURL(`${emulator.url}/oauth/v2/auth?**`);
    const authorize = new URL(page.url());
    assert.equal(authorize.searchParams.get('access_type'), 'offline');
    assert.ok(authorize.searchParams.get('state'));
    await page.locator('select[name="user_email"]').selectOption(USER);
    await shot('consent');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${url}/dashboard`);
    const leads = page.locator('#leads tbody tr');
    assert.ok((await leads.count()) > 0, 'the dashboard lists the user’s leads');
    assert.match((await page.locator('header .who').textContent()) ?? '', /ana\.lopez@zylker\.com/);
    await shot('dashboard');
    assert.equal(counter('token.authorization_code'), 1);
    const cookies = await page.context().cookies(url);
    const session = cookies.find((cookie) => cookie.name === 'portal_session');
    assert.ok(session?.httpOnly && session.sameSite === 'Lax', 'httpOnly, SameSite=Lax session cookie');

    // Restart: the cookie and the stored token carry the user through, with no new sign-in or refresh.
    assert.equal(await portal.stop(), 0, 'SIGTERM closes cleanly');
    portal = await start(port);
    assert.equal(portal.url, url);
    await page.goto(`${url}/dashboard`);
    assert.equal(page.url(), `${url}/dashboard`);
    assert.ok((await leads.count()) > 0, 'leads load after the restart');
    assert.equal(counter('token.authorization_code'), 1, 'no new sign-in');
    assert.equal(counter('token.refresh_token'), 0, 'no refresh for a valid stored token');

    // Past expiry: the next page load refreshes exactly once, and the admin page shows the new expiry.
    const before = await adminExpiry();
    assert.ok(before);
    emulator.clock.advance(2 * 3_600_000);
    await page.goto(`${url}/dashboard`);
    assert.ok((await leads.count()) > 0, 'leads load with the refreshed token');
    await page.reload();
    assert.equal(counter('token.refresh_token'), 1, 'exactly one refresh');
    const renewed = await adminExpiry();
    assert.ok(renewed && Date.parse(renewed) > Date.parse(before), `new expiry ${renewed} after ${before}`);
    // Last use comes from SQLite's activity tracking.
    const lastUsed = page.locator(`tr[data-user="${USER}"] td.last-used time`);
    const at = Date.parse((await lastUsed.getAttribute('datetime')) ?? '');
    assert.ok(Date.now() - at < 60_000, 'last use is this session');
    const stored = await readStoredToken(join(dir, 'zohooauth.db'));
    const secrets = [stored.getAccessToken(), stored.getRefreshToken()] as string[];
    const adminHtml = await page.content();
    for (const secret of secrets) {
      assert.ok(secret && !adminHtml.includes(secret), 'secrets masked on the admin page');
      assert.ok(!portal.output().includes(secret), 'and never in the portal’s output');
    }
    await shot('admin');

    // Revoke from the admin page: the token ends at Zoho, the user is sent back to sign-in.
    await page.locator(`tr[data-user="${USER}"]`).getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(`${url}/?notice=revoked`);
    await page.getByRole('link', { name: 'Login with Zoho' }).waitFor();
    assert.equal(counter('revoke'), 1);
    await shot('revoked');
    await page.goto(`${url}/dashboard`);
    assert.equal(page.url(), `${url}/`, 'no session left');
  });
});
