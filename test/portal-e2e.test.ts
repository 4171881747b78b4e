// The portal end to end in real headless Chromium: sign in on the emulator's consent page, see the
// leads, restart the portal, still signed in, expire the token, one refresh, revoke from the admin
// page, back to sign-in. The emulator runs here, so its clock and counters outlive the portal.
// Every page is checked at phone (390 px) and desktop width: no sideways scrolling, key elements in
// view. UPDATE_SCREENSHOTS=1 also writes docs/screenshots/<page>.png and <page>-390.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
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
const LONG_USER = 'maximiliane.vandenberg-oberhauser@continuing-education.zylker.com';
const DESKTOP = { width: 1280, height: 720 };
/** Each width a page is checked at, and the screenshot name's suffix for it. */
const WIDTHS = [
  { width: DESKTOP.width, suffix: '' },
  { width: 390, suffix: '-390' },
];

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

/**
 * A second student with a long email and a full-length client id, so the admin page is checked
 * with values as wide as real ones (the user's own row has the emulator's short client id).
 */
async function storeLongRow(path: string): Promise<void> {
  const store = new SQLiteStore({ path });
  try {
    await store.saveToken(
      new OAuthToken({
        userName: LONG_USER,
        clientId: '1000.4TQ8ZKX1V7RJ2M9WC5BNYH3LPDFGA6',
        accessToken: `1000.${'a1'.repeat(16)}.${'b2'.repeat(16)}`,
        refreshToken: `1000.${'c3'.repeat(16)}.${'d4'.repeat(16)}`,
        expiresIn: Date.now() + 3_600_000,
      }),
    );
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
  const cspViolations: string[] = [];

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
    page = await browser.newPage({ viewport: DESKTOP });
    page.setDefaultTimeout(15_000);
    // Chromium reports a blocked inline style (or anything else the CSP refuses) on the console.
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
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

  /**
   * The page sets a phone viewport, and at each width it does not scroll sideways and every key
   * element is visible, whole, within the page's width and not cut off by a box that scrolls.
   * Then the screenshot, when `name` is given, and back to desktop width.
   */
  const checkWidths = async (name: string | null, keys: Locator[]) => {
    // The callbacks run in Chromium: they reach `window` through the element (no DOM types here).
    const root = page.locator('html');
    // Without it a phone lays the page out 980 px wide and shrinks it; a narrowed desktop window does not.
    const viewport = await root.evaluate((html) => html.querySelector('meta[name="viewport"]')?.content);
    assert.match(viewport ?? '', /width=device-width/, `${name ?? page.url()} sets a viewport for phones`);
    for (const { width, suffix } of WIDTHS) {
      await page.setViewportSize({ width, height: DESKTOP.height });
      const view = await root.evaluate((html) => ({
        scrollWidth: html.scrollWidth,
        innerWidth: html.ownerDocument.defaultView.innerWidth,
      }));
      const where = `${name ?? page.url()} at ${width} px`;
      assert.equal(view.innerWidth, width);
      assert.ok(view.scrollWidth <= view.innerWidth, `${where} scrolls sideways: ${view.scrollWidth} px wide`);
      for (const key of keys) {
        await key.waitFor({ state: 'visible' });
        const inView = await key.evaluate((element) => {
          const window = element.ownerDocument.defaultView;
          const box = element.getBoundingClientRect();
          let [left, right] = [0, window.innerWidth];
          for (let node = element.parentElement; node; node = node.parentElement) {
            if (window.getComputedStyle(node).overflowX === 'visible') continue;
            const clip = node.getBoundingClientRect();
            [left, right] = [Math.max(left, clip.left), Math.min(right, clip.right)];
          }
          return box.width > 0 && box.left >= left - 0.5 && box.right <= right + 0.5;
        });
        assert.ok(inView, `${where}: ${key} is cut off or outside the page width`);
      }
      if (name) await shot(`${name}${suffix}`);
    }
    await page.setViewportSize(DESKTOP);
  };

  /** The header of a signed-in page: brand, who is signed in, sign-out. */
  const signedInHeader = () => [
    page.locator('header .brand'),
    page.locator('header .who'),
    page.getByRole('button', { name: 'Sign out' }),
  ];

  const counter = (name: string) => emulator.counters()[name] ?? 0;

  /** The expiry the admin page shows for the user, as the machine-readable `datetime`. */
  const adminExpiry = async () => {
    await page.goto(`${portal?.url}/admin`);
    return page.locator(`tr[data-user="${USER}"] td.expiry time`).getAttribute('datetime');
  };

  it('keeps a user signed in across a restart, refreshes once past expiry, and revokes from admin; every page fits 390 px and desktop', async () => {
    portal = await start(0);
    const { url } = portal;
    const port = Number(new URL(url).port);
    assert.ok(statSync(join(dir, 'zohooauth.db')).isFile(), 'tokens go to ./zohooauth.db');
    await storeLongRow(join(dir, 'zohooauth.db'));

    // Declining consent gives a friendly page, not a stack trace.
    await page.goto(url);
    await page.getByRole('link', { name: 'Login with Zoho' }).click();
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.getByRole('heading', { name: 'You declined access' }).waitFor();
    assert.doesNotMatch(await page.content(), /at \w+ \(|\.ts:\d+/);
    await checkWidths('error-denied', [
      page.locator('header .brand'),
      page.getByRole('heading', { name: 'You declined access' }),
      page.locator('main .button'),
    ]);
    await page.goto(`${url}/no-such-page`);
    await checkWidths(null, [page.getByRole('heading', { name: 'Page not found' }), page.locator('main .button')]);

    // The emulator's own error page, and its consent page: styled (the emulator's CSP allows its
    // inline styles), readable at both widths, and plainly not Zoho.
    await page.goto(`${emulator.url}/oauth/v2/auth?client_id=1000.NOSUCHCLIENT`);
    await checkWidths(null, [page.getByRole('note'), page.getByRole('heading', { name: 'Cannot authorize' })]);

    // Sign in on the emulator's consent page.
    await page.goto(url);
    await checkWidths('sign-in', [
      page.locator('header .brand'),
      page.getByRole('heading', { name: 'Welcome to Zylker Academy' }),
      page.getByRole('link', { name: 'Login with Zoho' }),
      page.locator('footer'),
    ]);
    await page.getByRole('link', { name: 'Login with Zoho' }).click();
    await page.waitForURL(`${emulator.url}/oauth/v2/auth?**`);
    const authorize = new URL(page.url());
    assert.equal(authorize.searchParams.get('access_type'), 'offline');
    assert.ok(authorize.searchParams.get('state'));
    await page.locator('select[name="user_email"]').selectOption(USER);
    const banner = page.getByRole('note');
    assert.match((await banner.textContent()) ?? '', /Local Zoho emulator — not Zoho/);
    const striped = await banner.evaluate(
      (element) => element.ownerDocument.defaultView.getComputedStyle(element).backgroundImage,
    );
    assert.match(striped, /gradient/, 'the banner is styled: the CSP lets the inline style through');
    await checkWidths('consent', [
      banner,
      page.getByRole('heading', { name: 'Authorize an application' }),
      page.getByLabel('Sign in as'),
      page.getByRole('button', { name: 'Approve' }),
      page.getByRole('button', { name: 'Deny' }),
    ]);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${url}/dashboard`);
    const leads = page.locator('#leads tbody tr');
    assert.ok((await leads.count()) > 0, 'the dashboard lists the user’s leads');
    assert.match((await page.locator('header .who').textContent()) ?? '', /ana\.lopez@zylker\.com/);
    await checkWidths('dashboard', [
      ...signedInHeader(),
      page.locator('#leads'),
      leads.first(),
      page.getByRole('heading', { name: 'Your Zoho token' }),
    ]);
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
    await checkWidths('admin', [
      ...signedInHeader(),
      page.getByRole('heading', { name: 'Stored tokens' }),
      ...[USER, LONG_USER].flatMap((user) => [
        page.locator(`tr[data-user="${user}"] td`).first(),
        page.locator(`tr[data-user="${user}"]`).getByRole('button', { name: 'Revoke' }),
        page.locator(`tr[data-user="${user}"]`).getByRole('button', { name: 'Delete' }),
      ]),
    ]);

    // Revoke from the admin page: the token ends at Zoho, the user is sent back to sign-in.
    await page.locator(`tr[data-user="${USER}"]`).getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(`${url}/?notice=revoked`);
    await page.getByRole('link', { name: 'Login with Zoho' }).waitFor();
    assert.equal(counter('revoke'), 1);
    await checkWidths('revoked', [page.getByRole('status'), page.getByRole('link', { name: 'Login with Zoho' })]);
    await page.goto(`${url}/dashboard`);
    assert.equal(page.url(), `${url}/`, 'no session left');
    assert.deepEqual(cspViolations, [], 'no page broke its Content-Security-Policy');
  });
});
