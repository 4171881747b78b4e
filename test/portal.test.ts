import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  CrmError,
  CrmErrorCode,
  isOAuthError,
  OAuthError,
  OAuthErrorCode,
  OAuthToken,
  revokeRefreshToken,
  TokenManagerError,
  TokenManagerErrorCode,
  TokenStoreError,
  TokenStoreErrorCode,
} from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, TEST_API_HEADERS, type ZohoEmulator } from 'zoho-token-store/emulator';
import { generateKey } from 'zoho-token-store/stores/encrypted';
import { parseCookies, setCookie } from '../examples/portal/cookies.js';
import { describeError, PortalError } from '../examples/portal/friendly-errors.js';
import { escapeHtml, html } from '../examples/portal/html.js';
import { portalConfigFromEnv } from '../examples/portal/portal-config.js';
import { type RunningPortal, startPortal } from '../examples/portal/portal-server.js';
import { loadSessionKey, sessionKeyPath } from '../examples/portal/session-key.js';
import { Sessions } from '../examples/portal/sessions.js';
import { SignedValues } from '../examples/portal/signed-values.js';
import { connectZoho } from '../examples/portal/zoho-connection.js';
import { location, type Page, PortalClient } from './fixtures/portal-client.js';
import { type PortalProcess, spawnPortal } from './fixtures/portal-process.js';

const dir = mkdtempSync(join(tmpdir(), 'portal-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** No page may show a stack, a file path or a raw secret. */
function assertFriendly(page: Page, status: number, title: RegExp): void {
  assert.equal(page.status, status, page.body.slice(0, 300));
  assert.match(page.body, title);
  assert.doesNotMatch(page.body, /at \w+ \(|\.ts:\d+|Error:|node:internal/);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
}

describe('signed values', () => {
  const signer = new SignedValues(randomBytes(32));

  it('round-trips a value for its purpose only', () => {
    const signed = signer.sign('session', { email: 'ana.lopez@zylker.com' });
    assert.deepEqual(signer.verify('session', signed), { email: 'ana.lopez@zylker.com' });
    assert.equal(signer.verify('state', signed), null);
  });

  it('refuses an edited payload, a forged signature, another key and garbage', () => {
    const signed = signer.sign('session', { email: 'ana.lopez@zylker.com' });
    const [, tag] = signed.split('.');
    const forged = `${Buffer.from(JSON.stringify({ email: 'admin@zylker.com' })).toString('base64url')}.${tag}`;
    assert.equal(signer.verify('session', forged), null);
    assert.equal(signer.verify('session', `${signed.slice(0, -2)}xx`), null);
    assert.equal(new SignedValues(randomBytes(32)).verify('session', signed), null);
    for (const junk of ['', '.', 'abc', '.abc', 'abc.']) assert.equal(signer.verify('session', junk), null);
  });

  it('needs a key of at least 32 bytes', () => {
    assert.throws(() => new SignedValues(randomBytes(16)), RangeError);
  });
});

describe('sessions and sign-in state', () => {
  let now = 1_800_000_000_000;
  const key = randomBytes(32);
  const sessions = new Sessions(new SignedValues(key), { secure: false, now: () => now });
  const cookieOf = (setCookieValue: string) => setCookieValue.split(';')[0] as string;

  it('sets httpOnly, SameSite=Lax cookies, Secure only over https', () => {
    const cookie = sessions.start('ana.lopez@zylker.com', '4821736455');
    assert.match(cookie, /^portal_session=[\w-]+\.[\w-]+; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/);
    assert.match(setCookie('a', 'b', { maxAgeSeconds: 1, secure: true }), /; HttpOnly; SameSite=Lax; Secure$/);
    assert.equal(parseCookies('a=1; b=2; a=3; junk').get('a'), '1');
  });

  it('over https, names its cookies __Host- so no other site or plain-http answer can set them', () => {
    const secure = new Sessions(new SignedValues(key), { secure: true, now: () => now });
    const cookie = secure.start('ana.lopez@zylker.com', '4821736455');
    assert.match(
      cookie,
      /^__Host-portal_session=[\w-]+\.[\w-]+; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure$/,
    );
    assert.doesNotMatch(cookie, /Domain=/i);
    assert.equal(secure.read(cookieOf(cookie))?.email, 'ana.lopez@zylker.com');
    // The same signed value without the prefix: a cookie a sibling subdomain or an http answer could toss in.
    assert.equal(secure.read(cookieOf(cookie).replace('__Host-', '')), null);
    assert.match(secure.end(), /^__Host-portal_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax; Secure$/);
    const { state, cookie: stateCookie } = secure.beginSignIn();
    assert.match(stateCookie, /^__Host-portal_oauth_state=/);
    assert.ok(secure.stateMatches(cookieOf(stateCookie), state));
    assert.match(secure.endSignIn(), /^__Host-portal_oauth_state=; /);
  });

  it('reads back a session, with a CSRF token bound to it, until it is too old', () => {
    const header = cookieOf(sessions.start('ana.lopez@zylker.com', '4821736455'));
    const session = sessions.read(header);
    assert.equal(session?.email, 'ana.lopez@zylker.com');
    assert.equal(session?.tokenId, '4821736455');
    // The cookie holds the email, the token id and when the session began: nothing else, no Zoho token.
    const payload = new SignedValues(key).verify('portal_session', parseCookies(header).get('portal_session') ?? '');
    assert.deepEqual(payload, { email: 'ana.lopez@zylker.com', tokenId: '4821736455', issuedAt: now });
    // A session signed without the token id (an older cookie) is no session.
    const untied = new SignedValues(key).sign('portal_session', { email: 'ana.lopez@zylker.com', issuedAt: now });
    assert.equal(sessions.read(`portal_session=${untied}`), null);
    assert.ok(session && sessions.csrfMatches(session, session.csrfToken));
    assert.ok(session && !sessions.csrfMatches(session, null));
    assert.ok(session && !sessions.csrfMatches(session, `${session.csrfToken}x`));
    const other = sessions.read(cookieOf(sessions.start('ben.carter@zylker.com', '4821736456')));
    assert.notEqual(other?.csrfToken, session?.csrfToken);
    now += 31 * 24 * 3_600_000;
    assert.equal(sessions.read(header), null);
    assert.equal(sessions.read(undefined), null);
  });

  it('matches the OAuth state only from the browser that began, within 10 minutes', () => {
    const { state, cookie } = sessions.beginSignIn();
    const header = cookieOf(cookie);
    assert.ok(sessions.stateMatches(header, state));
    assert.ok(!sessions.stateMatches(header, `${state}x`));
    assert.ok(!sessions.stateMatches(undefined, state));
    assert.ok(!sessions.stateMatches(header, null));
    // A state cookie is no session, and a session cookie is no state.
    assert.equal(sessions.read(header.replace('portal_oauth_state=', 'portal_session=')), null);
    now += 11 * 60_000;
    assert.ok(!sessions.stateMatches(header, state));
  });
});

describe('session key', () => {
  it('is created once, 0600, beside the database, and read back on the next start', () => {
    const file = sessionKeyPath(`sqlite:${join(dir, 'keyed', 'zohooauth.db')}`);
    assert.equal(file, join(dir, 'keyed', 'portal-session.key'));
    mkdirSync(join(dir, 'keyed'));
    const first = loadSessionKey({ file });
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(loadSessionKey({ file }), first);
    assert.equal(first.length, 32);
  });

  it('takes SESSION_SECRET instead, refusing a short or guessable one, and refuses a damaged key file', () => {
    const file = join(dir, 'bad.key');
    const secret = randomBytes(32).toString('base64url');
    assert.equal(secret.length, 43);
    assert.deepEqual(loadSessionKey({ secret, file }), Buffer.from(secret));
    const hex = randomBytes(32).toString('hex');
    assert.deepEqual(loadSessionKey({ secret: hex, file }), Buffer.from(hex));
    const weak = [
      'short',
      randomBytes(24).toString('base64url'),
      'x'.repeat(64),
      'ab'.repeat(32),
      '0123456789'.repeat(5),
    ];
    for (const value of weak) {
      assert.throws(() => loadSessionKey({ secret: value, file }), /SESSION_SECRET must be .*openssl rand -base64 32/);
      assert.throws(() => portalConfigFromEnv({ SESSION_SECRET: value }), /SESSION_SECRET must be/);
    }
    writeFileSync(file, 'not a key\n');
    assert.throws(() => loadSessionKey({ file }), /holds no session key/);
    assert.equal(sessionKeyPath('postgres://db/x'), 'portal-session.key');
  });
});

describe('session key from another user', () => {
  it('is refused when another user owns the key file or may write it, and left as it is', (t) => {
    if (process.geteuid === undefined) return t.skip('no Unix owners');
    mkdirSync(join(dir, 'planted'));
    const file = join(dir, 'planted', 'portal-session.key');
    // Planted by another local user (`nobody`; the tests run as root in CI): whoever wrote it can forge sessions.
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    chownSync(file, 65_534, 65_534);
    assert.throws(() => loadSessionKey({ file }), /owned by uid 65534.*chown/);
    chownSync(file, process.geteuid(), process.getegid?.() ?? 0);
    chmodSync(file, 0o622);
    assert.throws(() => loadSessionKey({ file }), /mode 0622.*chmod 600/);
    assert.equal(statSync(file).mode & 0o777, 0o622, 'left as it is');
  });
});

describe('escaping', () => {
  it('escapes every interpolated value, in content and attributes', () => {
    assert.equal(escapeHtml(`<b a='1'>"x" & y</b>`), '&lt;b a=&#39;1&#39;&gt;&quot;x&quot; &amp; y&lt;/b&gt;');
    const hostile = `"><script>alert(1)</script>`;
    assert.equal(
      String(html`<a title="${hostile}">${[hostile, html`<i>${hostile}</i>`]}</a>${null}${false}`),
      '<a title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;' +
        '<i>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</i></a>',
    );
  });
});

describe('configuration', () => {
  it('defaults to the in-process emulator on the next port, port 3000 and SQLite zohooauth.db', () => {
    const config = portalConfigFromEnv({});
    assert.equal(config.port, 3000);
    assert.equal(config.storeUrl, 'sqlite:./zohooauth.db');
    assert.deepEqual(config.zoho, {
      kind: 'emulator',
      url: null,
      port: 3001,
      testApi: false,
      client: { clientId: EMULATOR_CLIENT.clientId, clientSecret: EMULATOR_CLIENT.clientSecret },
    });
    const emulatorPort = (env: Record<string, string>) => (portalConfigFromEnv(env).zoho as { port: number }).port;
    assert.equal(emulatorPort({ PORT: '0' }), 0, 'a free port for a free port');
    assert.equal(emulatorPort({ PORT: '8080', EMULATOR_PORT: '9000' }), 9000);
  });

  it('talks to real Zoho with real credentials, in the data center named', () => {
    const config = portalConfigFromEnv({
      ZOHO_CLIENT_ID: '1000.ABC',
      ZOHO_CLIENT_SECRET: 's3cret',
      ZOHO_DC: 'eu',
      ZOHO_REDIRECT_URL: 'https://portal.example/oauth/callback',
      PORT: '8080',
      TOKEN_STORE_URL: 'postgres://db/tokens',
    });
    assert.deepEqual(config.zoho, {
      kind: 'zoho',
      dataCenter: 'EU',
      client: { clientId: '1000.ABC', clientSecret: 's3cret' },
    });
    assert.equal(config.publicUrl, 'https://portal.example');
    assert.equal(config.port, 8080);
    assert.equal(config.storeUrl, 'postgres://db/tokens');
  });

  it('names the variable to fix', () => {
    assert.throws(() => portalConfigFromEnv({ ZOHO_CLIENT_ID: 'x' }), /ZOHO_CLIENT_SECRET/);
    assert.throws(() => portalConfigFromEnv({ PORT: 'eighty' }), /PORT must be a port/);
    assert.throws(
      () => portalConfigFromEnv({ ZOHO_CLIENT_ID: 'a', ZOHO_CLIENT_SECRET: 'b', ZOHO_DC: 'XX' }),
      /ZOHO_DC/,
    );
    assert.throws(() => portalConfigFromEnv({ ZOHO_ACCOUNTS_URL: 'ftp://x' }), /ZOHO_ACCOUNTS_URL/);
  });
});

describe('data center of the callback', () => {
  const client = { clientId: '1000.ABC', clientSecret: 's3cret' };
  const query = (params: Record<string, string>) => new URLSearchParams(params);

  it('exchanges at the accounts server Zoho names, and refuses any other server', async () => {
    const zoho = await connectZoho({ kind: 'zoho', dataCenter: 'US', client }, 'https://portal.example/cb');
    assert.equal(zoho.environmentOfRedirect(query({ 'accounts-server': 'https://accounts.zoho.eu' })).dataCenter, 'EU');
    assert.equal(zoho.environmentOfRedirect(query({ location: 'in' })).dataCenter, 'IN');
    assert.throws(
      () => zoho.environmentOfRedirect(query({ 'accounts-server': 'https://evil.example', location: 'us' })),
      (error) => isOAuthError(error) && error.code === OAuthErrorCode.UNKNOWN_DATA_CENTER,
    );
    const stored = new OAuthToken({ apiDomain: 'https://www.zohoapis.com.au' });
    assert.equal(zoho.environmentOf(stored).dataCenter, 'AU', 'a stored token refreshes in its own data center');
  });

  it('with the emulator, sends the secret to that emulator only', async () => {
    const target = { kind: 'emulator', url: 'http://127.0.0.1:8085', port: 0, testApi: false, client } as const;
    const zoho = await connectZoho(target, 'http://localhost:3000/oauth/callback');
    const ok = zoho.environmentOfRedirect(query({ 'accounts-server': 'http://127.0.0.1:8085', location: 'us' }));
    assert.equal(ok.accountsUrl, 'http://127.0.0.1:8085');
    for (const server of ['http://127.0.0.1:9999', 'https://accounts.zoho.com']) {
      assert.throws(() => zoho.environmentOfRedirect(query({ 'accounts-server': server })), OAuthError);
    }
    await zoho.close();
  });
});

describe('friendly errors', () => {
  it('turns every failure into fixed words, never the error message', () => {
    const secret = '1000.secretvalue';
    const cases: Array<[unknown, number, RegExp]> = [
      [new TokenManagerError(TokenManagerErrorCode.REAUTHORIZATION_REQUIRED, secret), 401, /sign in again/i],
      [new OAuthError(OAuthErrorCode.INVALID_GRANT, secret), 400, /expired/],
      [new OAuthError(OAuthErrorCode.INVALID_CLIENT, secret), 500, /misconfigured/],
      [new TokenStoreError(TokenStoreErrorCode.STORAGE_FAILURE, secret), 503, /unavailable/],
      [
        new CrmError(0, CrmErrorCode.NETWORK_ERROR, secret, undefined, { cause: new TypeError(secret) }),
        502,
        /could not be reached/,
      ],
      [new CrmError(0, CrmErrorCode.TIMEOUT, secret), 502, /could not be reached/],
      [new CrmError(200, 'UNEXPECTED_RESPONSE', secret), 502, /could not be reached/],
      [new CrmError(400, 'REQUIRED_PARAM_MISSING', secret), 502, /did not answer as expected/],
      [new CrmError(0, CrmErrorCode.UNTRUSTED_API_DOMAIN, secret), 500, /not Zoho/],
      [new Error(secret), 500, /went wrong/],
      [
        new PortalError({ status: 403, title: 'You declined access', message: 'Approve to continue.' }),
        403,
        /declined/,
      ],
    ];
    for (const [error, status, title] of cases) {
      const friendly = describeError(error);
      assert.equal(friendly.status, status);
      assert.match(friendly.title, title);
      assert.doesNotMatch(`${friendly.title} ${friendly.message}`, /secretvalue/);
    }
  });
});

describe('the portal over HTTP', () => {
  let emulator: ZohoEmulator;
  let portal: RunningPortal;
  const log: string[] = [];

  before(async () => {
    emulator = await startZohoEmulator({ autoApprove: true });
    portal = await startPortal(
      portalConfigFromEnv({
        PORT: '0',
        ZOHO_ACCOUNTS_URL: emulator.url,
        TOKEN_STORE_URL: `sqlite:${join(dir, 'http.db')}`,
      }),
      { log: (line) => log.push(line) },
    );
  });
  after(async () => {
    await portal?.close();
    await emulator?.close();
  });

  it('signs in with state and offline access, saves the token under the email, and shows the leads', async () => {
    const browser = new PortalClient(portal.url);
    const login = await browser.get('/login');
    const auth = new URL(location(login));
    assert.equal(auth.origin, emulator.url);
    assert.equal(auth.searchParams.get('access_type'), 'offline');
    assert.equal(auth.searchParams.get('redirect_uri'), `${portal.url}/oauth/callback`);
    assert.ok((auth.searchParams.get('state') ?? '').length >= 32);
    const callback = new URL(location(await browser.get(auth.href)));
    assert.equal(callback.searchParams.get('accounts-server'), emulator.url);
    const signedIn = await browser.get(callback.href);
    assert.equal(location(signedIn), '/dashboard');
    assert.ok(browser.cookies.has('portal_session'));
    assert.ok(!browser.cookies.has('portal_oauth_state'), 'a state works once');

    const stored = await portal.context.store.findToken(new OAuthToken({ userName: 'ana.lopez@zylker.com' }));
    assert.ok(stored?.getRefreshToken(), 'saved under the email, with a refresh token');

    const dashboard = await browser.get('/dashboard');
    assert.equal(dashboard.status, 200);
    assert.match(dashboard.body, /<table id="leads">/);
    assert.match(dashboard.body, /<footer>.*tokens in sqlite .*http\.db<\/footer>/, 'an admin sees the store');
    assert.match(dashboard.headers.get('server-timing') ?? '', /^token;dur=\d+\.\d+, crm;dur=\d+\.\d+$/);
    const accessToken = stored?.getAccessToken() as string;
    assert.ok(!dashboard.body.includes(accessToken), 'the access token is masked');
    assert.ok(!log.join('\n').includes(accessToken), 'and never logged');
  });

  it('refuses a callback whose state this browser did not begin', async () => {
    const victim = new PortalClient(portal.url);
    const attacker = new PortalClient(portal.url);
    const consent = await attacker.get(location(await attacker.get('/login')));
    const page = await victim.get(location(consent));
    assertFriendly(page, 400, /Sign-in could not be verified/);
    assert.ok(!victim.cookies.has('portal_session'));
  });

  it('explains denied consent and a used code', async () => {
    const browser = new PortalClient(portal.url);
    const state = new URL(location(await browser.get('/login'))).searchParams.get('state') as string;
    const denied = await browser.get(`/oauth/callback?error=access_denied&state=${state}`);
    assertFriendly(denied, 403, /You declined access/);

    // Replaying a callback (its state cookie put back): the code was spent by the first.
    const again = new PortalClient(portal.url);
    const callback = location(await again.get(location(await again.get('/login'))));
    const saved = again.cookies.get('portal_oauth_state') as string;
    assert.equal(location(await again.get(callback)), '/dashboard');
    again.cookies.set('portal_oauth_state', saved);
    assertFriendly(await again.get(callback), 400, /Sign-in expired/);
  });

  it('protects every POST with the session CSRF token', async () => {
    const browser = new PortalClient(portal.url);
    await browser.signIn();
    const adminPage = await browser.get('/admin');
    const id = /name="id" value="(\d+)"/.exec(adminPage.body)?.[1] as string;
    const csrf = PortalClient.csrfOf(adminPage);
    for (const path of ['/admin/revoke', '/admin/delete', '/logout']) {
      assertFriendly(await browser.post(path, { id, csrf: 'forged' }), 403, /This form has expired/);
      assertFriendly(await browser.post(path, { id }), 403, /This form has expired/);
      // Too large a form is read as no form, and still answered.
      assertFriendly(await browser.post(path, { id, csrf, pad: 'x'.repeat(2_000_000) }), 403, /This form has expired/);
    }
    assert.ok(await portal.context.store.findTokenById(id), 'nothing was changed');
  });

  it('shows stored values escaped and secrets masked on the admin page', async () => {
    const refresh = '1000.refresh-secret-value-0123456789';
    await portal.context.store.saveToken(
      new OAuthToken({
        userName: '<script>alert("x")</script>@zylker.com',
        clientId: EMULATOR_CLIENT.clientId,
        refreshToken: refresh,
        accessToken: '1000.access-secret-value-0123456789',
        expiresIn: String(Date.now() + 3_600_000),
      }),
    );
    const browser = new PortalClient(portal.url);
    await browser.signIn();
    const page = await browser.get('/admin');
    assert.equal(page.status, 200);
    assert.ok(!page.body.includes('<script>'), 'no markup from the store');
    assert.match(page.body, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;@zylker.com/);
    assert.ok(!page.body.includes(refresh) && !page.body.includes('access-secret-value'));
    // Last use from the store's activity tracking: a time for the signed-in user, a dash for a token never used.
    await browser.get('/dashboard');
    const lastUsed = (user: string, body: string) =>
      new RegExp(`<tr data-user="${user}[^"]*">[\\s\\S]*?class="last-used">(<time|—)`).exec(body)?.[1];
    const after = (await browser.get('/admin')).body;
    assert.equal(lastUsed('ana.lopez@zylker.com', after), '<time');
    assert.equal(lastUsed('&lt;script&gt;', after), '—');
  });

  it('sends a user whose token Zoho revoked back to sign-in, with a notice', async () => {
    const browser = new PortalClient(portal.url);
    await browser.signIn();
    const copy = browser.cookies.get('portal_session') as string;
    const stored = await portal.context.store.findToken(new OAuthToken({ userName: 'ana.lopez@zylker.com' }));
    await revokeRefreshToken(portal.context.zoho.environment, stored?.getRefreshToken() as string);
    const page = await browser.get('/dashboard');
    assert.equal(location(page), '/?notice=reauth');
    assert.ok(!browser.cookies.has('portal_session'));
    assert.match((await browser.get('/?notice=reauth')).body, /no longer accepts your sign-in/);

    // The dead token is gone from the store, so signing in again makes a new row, and a copy of
    // the old cookie stays signed out.
    assert.equal(await portal.context.store.findTokenById(stored?.getId() as string), null);
    emulator.clock.advance(11 * 60_000); // the auto-approving consent page gives 10 codes per 10 minutes
    assert.equal(location(await browser.signIn()), '/dashboard');
    const old = new PortalClient(portal.url);
    old.cookies.set('portal_session', copy);
    assert.equal(location(await old.get('/dashboard')), '/?notice=removed');
    assert.equal((await browser.get('/dashboard')).status, 200);
  });

  it('revokes from the admin page, and signs out with revoke and delete', async () => {
    // Two browsers of one user (auto-approve signs in the first emulator user): one row, replaced.
    const laptop = new PortalClient(portal.url);
    emulator.resetCounters();
    await laptop.signIn();
    const ana = new PortalClient(portal.url);
    await ana.signIn();
    const admin = await ana.get('/admin');
    const id = /<tr data-user="ana.lopez@zylker.com">\s*<td[^>]*><code>(\d+)</s.exec(admin.body)?.[1] as string;
    const revoked = await ana.post('/admin/revoke', { id, csrf: PortalClient.csrfOf(admin) });
    assert.equal(location(revoked), '/?notice=revoked', 'revoking your own token signs you out');
    assert.equal(emulator.counters().revoke, 1);
    assert.equal(await portal.context.store.findTokenById(id), null);
    assert.equal(location(await laptop.get('/dashboard')), '/?notice=removed');

    const again = new PortalClient(portal.url);
    await again.signIn();
    const dashboard = await again.get('/dashboard');
    const out = await again.post('/logout', { csrf: PortalClient.csrfOf(dashboard) });
    assert.equal(location(out), '/?notice=signed-out');
    assert.equal(emulator.counters().revoke, 2);
    assert.equal(await portal.context.store.findToken(new OAuthToken({ userName: 'ana.lopez@zylker.com' })), null);
    assert.equal(location(await again.get('/dashboard')), '/');
  });

  it('ends the sessions of a token that was replaced, and their logout leaves the new token alone', async () => {
    // The auto-approving consent page gives 10 codes per 10 minutes: earlier tests used them up.
    emulator.clock.advance(11 * 60_000);
    const laptop = new PortalClient(portal.url);
    await laptop.signIn();
    // A copy of the laptop's cookie: another device, or a stolen one.
    const stolen = laptop.cookies.get('portal_session') as string;
    const copy = new PortalClient(portal.url);
    copy.cookies.set('portal_session', stolen);
    const copiedPage = await copy.get('/dashboard');
    assert.equal(copiedPage.status, 200);
    await laptop.post('/logout', { csrf: PortalClient.csrfOf(await laptop.get('/dashboard')) });

    const again = new PortalClient(portal.url);
    await again.signIn();
    const anaToken = async () =>
      (await portal.context.store.getTokens()).find((t) => t.getUserSignature()?.getName() === 'ana.lopez@zylker.com');
    const stored = await anaToken();
    assert.ok(stored);
    assert.equal(location(await copy.get('/dashboard')), '/?notice=removed');
    emulator.resetCounters();
    // Logout with the copied cookie and the CSRF token of its page, which still match each other.
    const replay = new PortalClient(portal.url);
    replay.cookies.set('portal_session', stolen);
    assert.equal(
      location(await replay.post('/logout', { csrf: PortalClient.csrfOf(copiedPage) })),
      '/?notice=signed-out',
    );
    assert.equal(emulator.counters().revoke ?? 0, 0);
    assert.equal((await anaToken())?.getId(), stored.getId());
    assert.equal((await again.get('/dashboard')).status, 200);
  });

  it('keeps the admin page from a session whose token is gone', async () => {
    const browser = new PortalClient(portal.url);
    await browser.signIn();
    const stored = await portal.context.store.findToken(new OAuthToken({ userName: 'ana.lopez@zylker.com' }));
    // Deleted elsewhere (another portal process, the CLI): this portal still has the user's manager in memory.
    await portal.context.store.deleteToken(stored?.getId() as string);
    portal.context.tokens.forget('ana.lopez@zylker.com');
    assert.equal(location(await browser.get('/admin')), '/?notice=removed');
    assert.ok(!browser.cookies.has('portal_session'), 'signed out');
  });

  it('says Zoho could not be reached when the CRM call gets no answer', async () => {
    // The auto-approving consent page gives 10 codes per 10 minutes: earlier tests used them up.
    emulator.clock.advance(11 * 60_000);
    const browser = new PortalClient(portal.url);
    assert.equal(location(await browser.signIn()), '/dashboard');
    emulator.injectFault({ path: '/crm', kind: 'drop' });
    assertFriendly(await browser.get('/dashboard'), 502, /Zoho could not be reached/);
    assert.equal((await browser.get('/dashboard')).status, 200, 'and loads again once Zoho answers');
  });

  it('never sends a token to an api_domain rewritten in the table, nor shows the answer', async () => {
    const seen: string[] = [];
    const attacker = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"Last_Name":"Forged"}]}');
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    emulator.clock.advance(11 * 60_000);
    const browser = new PortalClient(portal.url);
    assert.equal(location(await browser.signIn()), '/dashboard');
    const db = new Database(join(dir, 'http.db'));
    const update = db.prepare('UPDATE oauthtoken SET api_domain = ?');
    try {
      update.run(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}`);
      // As after a restart, or on another instance: the portal reads the row again.
      portal.context.tokens.forget('ana.lopez@zylker.com');
      const page = await browser.get('/dashboard');
      assert.deepEqual(seen, [], 'the attacker got no request');
      assert.doesNotMatch(page.body, /Forged/);
      assertFriendly(page, 500, /not Zoho/);
    } finally {
      update.run(emulator.url);
      db.close();
      attacker.closeAllConnections();
      await new Promise((resolve) => attacker.close(resolve));
    }
  });

  it('answers an unknown page with a friendly 404', async () => {
    assertFriendly(await new PortalClient(portal.url).get('/nope?<x>'), 404, /Page not found/);
  });

  it('answers a request target that is no URL, and keeps running', async () => {
    const { port } = new URL(portal.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.end('GET http://[ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    const answer = Buffer.concat(chunks).toString('utf8');
    assert.match(answer, /^HTTP\/1\.1 404 /);
    assert.match(answer, /Page not found/);
    assert.equal((await new PortalClient(portal.url).get('/')).status, 200);
  });
});

// Issue #13, item 1: started without ZOHO_TOKEN_KEY on an encrypted store, the portal sent the
// ciphertext to Zoho as a refresh token, took the refusal for a revocation and deleted a valid token.
describe('the portal on an encrypted store, started without its key', () => {
  it('keeps every token, sends Zoho nothing, and works again once the key is back', async () => {
    const emulator = await startZohoEmulator({ autoApprove: true });
    const storeFile = join(mkdtempSync(join(dir, 'nokey-')), 'zohooauth.db');
    const keys = generateKey('k1');
    const env = { PORT: '0', ZOHO_ACCOUNTS_URL: emulator.url, TOKEN_STORE_URL: `sqlite:${storeFile}` };
    const rows = () => {
      const db = new Database(storeFile, { readonly: true });
      try {
        return db.prepare('SELECT * FROM oauthtoken ORDER BY id').all();
      } finally {
        db.close();
      }
    };
    try {
      const keyed = await startPortal(portalConfigFromEnv(env), { log: () => undefined, keys });
      const browser = new PortalClient(keyed.url);
      assert.equal(location(await browser.signIn()), '/dashboard');
      await keyed.close();
      const before = rows();
      emulator.clock.advance(2 * 3_600_000); // the access token has expired: a keyless portal would refresh
      const calls = { ...emulator.counters() };

      const keyless = await startPortal(portalConfigFromEnv(env), { log: () => undefined });
      try {
        // The signed-in user comes back after the restart (the session key is kept beside the store).
        const returning = new PortalClient(keyless.url);
        for (const [name, value] of browser.cookies) returning.cookies.set(name, value);
        for (const page of [await returning.get('/dashboard'), await returning.get('/admin')]) {
          assertFriendly(page, 500, /cannot read its stored sign-ins/);
        }
        // A new sign-in of the same user is not saved over the encrypted token either.
        assertFriendly(await new PortalClient(keyless.url).signIn(), 500, /cannot read its stored sign-ins/);
      } finally {
        await keyless.close();
      }
      assert.deepEqual(rows(), before, 'no token was deleted or overwritten');
      const after = emulator.counters();
      assert.equal(after.refresh ?? 0, calls.refresh ?? 0, 'no ciphertext was sent to Zoho as a refresh token');
      assert.equal(after.revoke ?? 0, calls.revoke ?? 0);

      const back = await startPortal(portalConfigFromEnv(env), { log: () => undefined, keys });
      try {
        const returning = new PortalClient(back.url);
        for (const [name, value] of browser.cookies) returning.cookies.set(name, value);
        const page = await returning.get('/dashboard');
        assert.equal(page.status, 200, 'the first sign-in still works with the key');
        assert.match(page.body, /<table id="leads">/);
      } finally {
        await back.close();
      }
    } finally {
      await emulator.close();
    }
  });
});

describe('who may use the admin page', () => {
  it('only the listed admins; on real Zoho, nobody until PORTAL_ADMINS names them', async () => {
    const emulator = await startZohoEmulator({ autoApprove: true });
    const common = { PORT: '0', TOKEN_STORE_URL: 'memory:', SESSION_SECRET: randomBytes(32).toString('hex') };
    const listed = await startPortal(
      portalConfigFromEnv({ ...common, ZOHO_ACCOUNTS_URL: emulator.url, PORTAL_ADMINS: 'Boss@Zylker.com' }),
      { log: () => undefined },
    );
    const real = await startPortal(
      portalConfigFromEnv({ ...common, ZOHO_CLIENT_ID: '1000.A', ZOHO_CLIENT_SECRET: 'b' }),
      {
        log: () => undefined,
      },
    );
    // A client of its own at an accounts server given by URL is no demo: nothing public guards it.
    const ownClient = await startPortal(
      portalConfigFromEnv({
        ...common,
        ZOHO_CLIENT_ID: '1000.A',
        ZOHO_CLIENT_SECRET: 'b',
        ZOHO_ACCOUNTS_URL: emulator.url,
        PORTAL_URL: 'https://portal.example',
      }),
      { log: () => undefined },
    );
    const demo = await startPortal(portalConfigFromEnv({ ...common, ZOHO_ACCOUNTS_URL: emulator.url }), {
      log: () => undefined,
    });
    try {
      const browser = new PortalClient(listed.url);
      await browser.signIn();
      const dashboard = await browser.get('/dashboard');
      assert.doesNotMatch(dashboard.body, /href="\/admin"/, 'no admin link for a student');
      assertFriendly(await browser.get('/admin'), 403, /Admins only/);
      const [token] = await listed.context.store.getTokens();
      const csrf = PortalClient.csrfOf(dashboard);
      assertFriendly(await browser.post('/admin/delete', { id: token?.getId() as string, csrf }), 403, /Admins only/);
      assert.equal((await listed.context.store.getTokens()).length, 1, 'nothing was deleted');
      assert.ok(listed.context.isAdmin('boss@zylker.com'));
      assert.ok(!real.context.isAdmin('boss@zylker.com'));
      assert.ok(!ownClient.context.isAdmin('ana.lopez@zylker.com'), 'no admins unless listed');
      assert.match(ownClient.context.sessions.start('ana.lopez@zylker.com', '1'), /^__Host-portal_session=/);
      assert.ok(demo.context.isAdmin('ana.lopez@zylker.com'), 'the demo, on the emulator client, lets everyone in');
      // (c) The footer names the store to admins only.
      assert.doesNotMatch(dashboard.body, /tokens in|memory/, 'not to a student');
      assert.doesNotMatch((await new PortalClient(listed.url).get('/')).body, /tokens in|memory/, 'nor to a visitor');
    } finally {
      await listed.close();
      await real.close();
      await ownClient.close();
      await demo.close();
      await emulator.close();
    }
  });
});

/** Waits for the portal's last startup line: the lines after its URL come a moment later. */
async function started(portal: PortalProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!portal.output().includes('Ctrl-C stops it') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the portal on its in-process emulator', () => {
  it('keeps a user signed in across restarts, through the emulator state file beside the database', async (t) => {
    const cwd = mkdtempSync(join(tmpdir(), 'portal-restart-'));
    t.after(() => rmSync(cwd, { recursive: true, force: true }));
    // Plain `npm start` in an empty directory: nothing configured but free ports.
    const unset = {
      TOKEN_STORE_URL: '',
      ZOHO_ACCOUNTS_URL: '',
      ZOHO_CLIENT_ID: '',
      ZOHO_CLIENT_SECRET: '',
      SESSION_SECRET: '',
    };
    const first = await spawnPortal({ ...unset, PORT: '0', EMULATOR_PORT: '0' }, cwd);
    const browser = new PortalClient(first.url);
    let emulatorUrl: string;
    try {
      await started(first);
      emulatorUrl = /local Zoho emulator at (http:\/\/\S+)/.exec(first.output())?.[1] as string;
      assert.match(first.output(), /emulator state: zoho-emulator-state\.json/);
      assert.equal(location(await browser.signIn()), '/dashboard');
      assert.equal((await browser.get('/dashboard')).status, 200);
    } finally {
      assert.equal(await first.stop(), 0);
    }
    const stateFile = join(cwd, 'zoho-emulator-state.json');
    assert.equal(statSync(stateFile).mode & 0o777, 0o600);

    // Same ports, as with the defaults: the stored token names the emulator as its API domain.
    const ports = { PORT: new URL(first.url).port, EMULATOR_PORT: new URL(emulatorUrl).port };
    const counters = async () =>
      (await fetch(`${emulatorUrl}/__emulator/counters`, { headers: TEST_API_HEADERS })).json();
    const again = await spawnPortal({ ...unset, ...ports, EMULATOR_TEST_API: '1' }, cwd);
    try {
      const dashboard = await browser.get('/dashboard');
      assert.equal(dashboard.status, 200, dashboard.body.slice(0, 300));
      assert.match(dashboard.body, /<table id="leads">/);
      assert.deepEqual(await counters(), { 'crm.leads': 1 }, 'no new sign-in, no refresh: the stored token works');
    } finally {
      assert.equal(await again.stop(), 0);
    }

    // Without its state the emulator is a new Zoho: the stored token is refused, the user signs in again.
    rmSync(stateFile);
    const forgetful = await spawnPortal({ ...unset, ...ports }, cwd);
    try {
      assert.equal(location(await browser.get('/dashboard')), '/?notice=reauth');
      assert.ok(!browser.cookies.has('portal_session'));
    } finally {
      await forgetful.stop();
    }
  });
});

describe('the portal on a PostgreSQL store', () => {
  it('answers a callback whose code holds a NUL with a 400, and signs the other users in', async () => {
    const table = `portal_${randomBytes(6).toString('hex')}`;
    const emulator = await startZohoEmulator({ autoApprove: true });
    const portal = await startPortal(
      portalConfigFromEnv({
        PORT: '0',
        ZOHO_ACCOUNTS_URL: emulator.url,
        TOKEN_STORE_URL: `postgres://root@127.0.0.1:5432/test?table=${table}`,
        SESSION_SECRET: randomBytes(32).toString('hex'),
      }),
      { log: () => undefined },
    );
    const admin = new pg.Pool({ connectionString: 'postgres://root@127.0.0.1:5432/test', max: 1 });
    try {
      const callbackOf = async (browser: PortalClient) =>
        new URL(location(await browser.get(location(await browser.get('/login')))), portal.url);
      const [attacker, ...users] = Array.from({ length: 4 }, () => new PortalClient(portal.url));
      const attack = await callbackOf(attacker as PortalClient);
      attack.searchParams.set('code', '\u0000');
      const callbacks = await Promise.all(users.map(callbackOf));
      const [refused, ...signedIn] = await Promise.all([
        (attacker as PortalClient).get(attack.href),
        ...users.map((browser, i) => browser.get((callbacks[i] as URL).href)),
      ]);
      assertFriendly(refused as Page, 400, /That request could not be used/);
      for (const page of signedIn) assert.equal(location(page), '/dashboard');
    } finally {
      await portal.close();
      await emulator.close();
      await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_activity"`);
      await admin.end();
    }
  });
});

describe('the test API of the portal’s in-process emulator', () => {
  it('is off unless EMULATOR_TEST_API=1: no page can move its clock or inject a fault', async () => {
    const advance = async (env: Record<string, string>) => {
      const portal = await startPortal(
        portalConfigFromEnv({
          PORT: '0',
          EMULATOR_PORT: '0',
          TOKEN_STORE_URL: `sqlite:${join(mkdtempSync(join(dir, 'test-api-')), 'zohooauth.db')}`,
          SESSION_SECRET: randomBytes(32).toString('hex'),
          ...env,
        }),
        { log: () => undefined },
      );
      try {
        const url = `${portal.context.zoho.environment.accountsUrl}/__emulator/clock/advance?ms=86400000`;
        return (await fetch(url, { method: 'POST', headers: TEST_API_HEADERS })).status;
      } finally {
        await portal.close();
      }
    };
    assert.equal(await advance({}), 404);
    assert.equal(await advance({ EMULATOR_TEST_API: '1' }), 200);
  });
});

describe('the portal when its store is down', () => {
  it('shows a friendly 503, never a stack, and keeps running', async () => {
    const emulator = await startZohoEmulator({ autoApprove: true });
    const portal = await startPortal(
      portalConfigFromEnv({
        PORT: '0',
        ZOHO_ACCOUNTS_URL: emulator.url,
        // Nothing listens on port 9: connections are refused at once.
        TOKEN_STORE_URL: 'postgres://root@127.0.0.1:9/test',
        SESSION_SECRET: randomBytes(32).toString('hex'),
      }),
      { log: () => undefined },
    );
    try {
      const browser = new PortalClient(portal.url);
      // A user signed in before the store went down.
      const [, session] =
        /^portal_session=([^;]+)/.exec(portal.context.sessions.start('ana.lopez@zylker.com', '4821736455')) ?? [];
      browser.cookies.set('portal_session', session as string);
      assertFriendly(await browser.get('/dashboard'), 503, /Sign-ins are unavailable/);
      assert.doesNotMatch((await new PortalClient(portal.url).get('/')).body, /127\.0\.0\.1:9|postgres/);
      // Sign-out cannot revoke or delete the token now, but this browser is signed out all the same.
      const csrf = portal.context.sessions.read(`portal_session=${session}`)?.csrfToken as string;
      assertFriendly(await browser.post('/logout', { csrf }), 503, /Sign-ins are unavailable/);
      assert.ok(!browser.cookies.has('portal_session'), 'the session cookie is cleared');
      browser.cookies.set('portal_session', session as string);
      const callback = location(await browser.get(location(await browser.get('/login'))));
      assertFriendly(await browser.get(callback), 503, /Sign-ins are unavailable/);
      assert.equal((await browser.get('/')).status, 303);
    } finally {
      await portal.close();
      await emulator.close();
    }
  });
});
