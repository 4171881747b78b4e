import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createCrmClient,
  customEnvironment,
  type Environment,
  isOAuthError,
  isTokenManagerError,
  OAuthErrorCode,
  OAuthToken,
  type RefreshLock,
  type TokenLike,
  TokenManager,
  TokenManagerErrorCode,
  type TokenManagerOptions,
  type TokenStore,
  TokenStoreError,
  TokenStoreErrorCode,
} from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { MemoryStore } from 'zoho-token-store/stores/memory';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { sixMethodStore } from './fixtures/six-method-store.js';

const USER = 'ana.lopez@zylker.com';
// Named as the official SDK 8.0 names users: email and the org's zgid (the emulator's first org).
const USER_NAME = `${USER}:700001234`;
const HOUR = 3_600_000;

let emulator: ZohoEmulator;
let environment: Environment;
const client = {
  clientId: EMULATOR_CLIENT.clientId,
  clientSecret: EMULATOR_CLIENT.clientSecret,
  redirectUri: EMULATOR_CLIENT.redirectUris[0],
};

before(async () => {
  emulator = await startZohoEmulator();
  environment = customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });
});
after(() => emulator.close());
beforeEach(() => {
  emulator.clearFaults();
  emulator.resetCounters();
});

const count = (name: string) => emulator.counters()[name] ?? 0;
const code = (userEmail = USER) => emulator.issueGrantCode({ userEmail, accessType: 'offline' });

function managerFor(
  store: TokenStore<TokenLike>,
  token: TokenManagerOptions['token'],
  extra: Partial<TokenManagerOptions> = {},
) {
  return new TokenManager({
    environment,
    store,
    client,
    token,
    now: () => emulator.clock.now(),
    http: { retries: 1, backoffMs: 1, timeoutMs: 2_000 },
    ...extra,
  });
}

const selfClient = { clientId: EMULATOR_CLIENT.clientId, clientSecret: EMULATOR_CLIENT.clientSecret };
const ORG_SCOPE = 'ZohoCRM.org.READ,ZohoCRM.users.READ';

/** The emulator's first org id, as `GET /crm/v8/org` names it. */
async function firstOrgId(): Promise<string> {
  const signIn = managerFor(
    new MemoryStore(),
    { grantToken: emulator.issueGrantCode({ selfClient: true }) },
    { client: selfClient },
  );
  const answer = await fetch(`${emulator.url}/crm/v8/org`, {
    headers: { authorization: `Zoho-oauthtoken ${await signIn.getAccessToken()}` },
  });
  return ((await answer.json()) as { org: { id: string }[] }).org[0]?.id as string;
}

/** A manager of the org's client credentials token. */
const orgManager = (store: TokenStore<TokenLike>, orgId: string, extra: Partial<TokenManagerOptions> = {}) =>
  managerFor(store, { clientCredentials: { scope: ORG_SCOPE, orgId } }, { client: selfClient, ...extra });

/** The store's one token. */
async function onlyToken(store: TokenStore<TokenLike>): Promise<TokenLike> {
  const tokens = await store.getTokens();
  assert.equal(tokens.length, 1);
  return tokens[0] as TokenLike;
}

async function rejectsWith(promise: Promise<unknown>, check: (error: unknown) => boolean) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(check(error), `unexpected error: ${String(error)}`);
    return true;
  });
}

/** A store holding one signed-in user, and the manager that signed them in. */
async function signedIn(store: TokenStore<TokenLike> = new MemoryStore()) {
  const manager = managerFor(store, { grantToken: code() });
  const accessToken = await manager.getAccessToken();
  return { store, manager, accessToken };
}

for (const [name, createStore] of [
  ['MemoryStore', () => new MemoryStore()],
  ['SQLiteStore', () => new SQLiteStore({ path: ':memory:' })],
] as const) {
  describe(`TokenManager on ${name}`, () => {
    it('exchanges a grant token once, resolves the user, clears the spent grant and saves', async () => {
      const store = createStore();
      const manager = managerFor(store, { grantToken: code() });
      const accessToken = await manager.getAccessToken();
      assert.match(accessToken, /^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/);
      assert.equal(count('token.authorization_code'), 1);
      assert.equal(count('crm.users'), 1);
      assert.equal(count('crm.org'), 1);
      const stored = await onlyToken(store);
      assert.equal(stored.getUserSignature()?.getName(), USER_NAME);
      assert.equal(stored.getAccessToken(), accessToken);
      assert.match(stored.getRefreshToken() ?? '', /^1000\./);
      assert.equal(stored.getGrantToken(), '');
      assert.equal(stored.getExpiresIn(), String(emulator.clock.now() + HOUR));
      assert.equal(stored.getAPIDomain(), emulator.url);
      // Served from memory afterwards: no more calls to Zoho or the store's rows change.
      for (let i = 0; i < 100; i++) assert.equal(await manager.getAccessToken(), accessToken);
      assert.equal(count('token.authorization_code') + count('token.refresh_token'), 1);
    });

    it('client credentials: one grant for concurrent callers, saved without refresh token, reused, run again on expiry', async () => {
      const orgId = await firstOrgId();
      const store = createStore();
      emulator.resetCounters();
      const manager = orgManager(store, orgId);
      const tokens = await Promise.all(Array.from({ length: 20 }, () => manager.getAccessToken()));
      assert.equal(new Set(tokens).size, 1);
      assert.deepEqual(emulator.counters(), { 'token.client_credentials': 1 }, 'one grant, and no user lookup');
      const stored = await onlyToken(store);
      assert.equal(stored.getUserSignature()?.getName(), `ZohoCRM.${orgId}`);
      assert.equal(stored.getAccessToken(), tokens[0]);
      assert.ok(!stored.getRefreshToken(), 'no refresh token');
      assert.equal(stored.getExpiresIn(), String(emulator.clock.now() + HOUR));
      assert.equal(stored.getAPIDomain(), emulator.url);
      const me = await fetch(`${emulator.url}/crm/v8/users?type=CurrentUser`, {
        headers: { authorization: `Zoho-oauthtoken ${tokens[0]}` },
      });
      assert.equal(
        ((await me.json()) as { users: { email: string }[] }).users[0]?.email,
        USER,
        'acts as the org’s admin',
      );

      // A new manager (a restart) finds the saved token: no grant.
      const again = orgManager(store, orgId);
      assert.equal(await again.getAccessToken(), tokens[0]);
      assert.equal(count('token.client_credentials'), 1);

      // Past expiry on both clocks (the manager reads the emulator's): the grant runs once more.
      emulator.clock.advance(2 * HOUR);
      const renewed = await Promise.all(Array.from({ length: 20 }, () => again.getAccessToken()));
      assert.equal(new Set(renewed).size, 1);
      assert.notEqual(renewed[0], tokens[0]);
      assert.equal(count('token.client_credentials'), 2);
      assert.equal((await onlyToken(store)).getAccessToken(), renewed[0], 'saved over the same row');
      assert.equal(await orgManager(store, orgId).getAccessToken(), renewed[0]);
      assert.equal(count('token.client_credentials'), 2);
    });

    it('exchanges a self client’s grant code without a redirect URI', async () => {
      const store = createStore();
      const manager = managerFor(
        store,
        { grantToken: emulator.issueGrantCode({ selfClient: true }) },
        { client: selfClient },
      );
      assert.match(await manager.getAccessToken(), /^1000\./);
      const stored = await onlyToken(store);
      assert.equal(stored.getUserSignature()?.getName(), USER_NAME);
      assert.equal(stored.getRedirectURL(), null);
      assert.equal(count('token.authorization_code'), 1);
    });

    it('finds the same token by id and by user, without calling Zoho', async () => {
      const { store, manager, accessToken } = await signedIn(createStore());
      const id = (await manager.getToken()).getId() as string;
      emulator.resetCounters();
      assert.equal(await managerFor(store, { id }).getAccessToken(), accessToken);
      assert.equal(await managerFor(store, { userName: USER }).getAccessToken(), accessToken);
      assert.deepEqual(emulator.counters()['token.refresh_token'] ?? 0, 0);
    });

    it('starts from a refresh token alone: refreshes, names the user and saves', async () => {
      const { manager: first } = await signedIn();
      const refreshToken = (await first.getToken()).getRefreshToken() as string;
      const store = createStore();
      emulator.resetCounters();
      const manager = managerFor(store, { refreshToken });
      const accessToken = await manager.getAccessToken();
      assert.equal(count('token.refresh_token'), 1);
      const stored = await onlyToken(store);
      assert.equal(stored.getAccessToken(), accessToken);
      assert.equal(stored.getRefreshToken(), refreshToken);
      assert.equal(stored.getUserSignature()?.getName(), USER_NAME);
      assert.equal(await managerFor(store, { refreshToken }).getAccessToken(), accessToken);
      assert.equal(count('token.refresh_token'), 1);
    });

    it('refreshes ahead of expiry, inside the window, and keeps the refresh token', async () => {
      const { store, manager, accessToken } = await signedIn(createStore());
      const refreshToken = (await manager.getToken()).getRefreshToken();
      emulator.clock.advance(HOUR - 2 * 60_000);
      assert.equal(await manager.getAccessToken(), accessToken, 'outside the 1-minute window: no refresh');
      emulator.clock.advance(90_000);
      const renewed = await manager.getAccessToken();
      assert.notEqual(renewed, accessToken);
      assert.equal(count('token.refresh_token'), 1);
      const stored = await store.findToken(new OAuthToken({ userName: USER }));
      assert.equal(stored?.getAccessToken(), renewed);
      assert.equal(stored?.getRefreshToken(), refreshToken);
      assert.equal(stored?.getExpiresIn(), String(emulator.clock.now() + HOUR));
    });

    it('shares one refresh among 1,000 concurrent callers of an expired token', async () => {
      const { manager } = await signedIn(createStore());
      emulator.clock.advance(2 * HOUR);
      emulator.resetCounters();
      const tokens = await Promise.all(Array.from({ length: 1000 }, () => manager.getAccessToken()));
      assert.equal(count('token.refresh_token'), 1);
      assert.equal(new Set(tokens).size, 1);
    });

    it('uses a token another manager refreshed in the shared store', async () => {
      const { store, manager } = await signedIn(createStore());
      const other = managerFor(store, { userName: USER });
      await other.getAccessToken();
      emulator.clock.advance(2 * HOUR);
      emulator.resetCounters();
      const renewed = await manager.getAccessToken();
      assert.equal(await other.getAccessToken(), renewed);
      assert.equal(count('token.refresh_token'), 1);
    });

    it('never saves back a token deleted while Zoho answered its refresh, even by a delete that skips the lock', async () => {
      const { store, manager, accessToken } = await signedIn(createStore());
      const id = (await manager.getToken()).getId() as string;
      const failures: Error[] = [];
      manager.on('failed', (error) => failures.push(error));
      manager.invalidate(accessToken);
      emulator.resetCounters();
      emulator.injectFault({ path: '/oauth/v2/token', kind: 'latency', latencyMs: 300 });
      const refreshing = manager.getAccessToken();
      while (count('token.refresh_token') === 0) await sleep(5);
      await store.deleteToken(id);
      const deleted = (e: unknown) => isTokenManagerError(e) && e.code === TokenManagerErrorCode.TOKEN_DELETED;
      await rejectsWith(refreshing, deleted);
      assert.equal(await store.findTokenById(id), null);
      assert.deepEqual(await store.getTokens(), []);
      assert.equal(failures.length, 1);
      // The manager dropped its token: nothing from memory, nothing renewed from its spent grant.
      await rejectsWith(manager.getAccessToken(), deleted);
      assert.equal(count('token.refresh_token') + count('token.authorization_code'), 1);
      assert.deepEqual(await store.getTokens(), []);
    });

    it('sends a refused refresh token to Zoho once, until a new sign-in is saved', async () => {
      const { store, manager } = await signedIn(createStore());
      const refreshToken = (await manager.getToken()).getRefreshToken() as string;
      const revoke = await fetch(`${emulator.url}/oauth/v2/token/revoke?token=${encodeURIComponent(refreshToken)}`, {
        method: 'POST',
      });
      assert.equal(revoke.status, 200);
      emulator.clock.advance(2 * HOUR);
      emulator.resetCounters();
      const refused = (e: unknown) =>
        isTokenManagerError(e) &&
        e.code === TokenManagerErrorCode.REAUTHORIZATION_REQUIRED &&
        isOAuthError(e.cause) &&
        e.cause.code === OAuthErrorCode.INVALID_GRANT;
      for (let i = 0; i < 20; i++) await rejectsWith(manager.getAccessToken(), refused);
      await Promise.all(Array.from({ length: 10 }, () => rejectsWith(manager.getAccessToken(), refused)));
      assert.equal(count('token.refresh_token'), 1, '30 calls, one request to Zoho');

      // The user signs in again elsewhere (another manager, as in another process): same row, new refresh token.
      await managerFor(store, { grantToken: code() }).getAccessToken();
      assert.equal((await store.getTokens()).length, 1);
      emulator.clock.advance(2 * HOUR);
      emulator.resetCounters();
      const renewed = await manager.getAccessToken();
      assert.equal(count('token.refresh_token'), 1, 'the new refresh token is used');
      assert.equal((await onlyToken(store)).getAccessToken(), renewed);
    });
  });
}

/** A MemoryStore with an in-process refresh lock: one holder per key at a time. */
class LockingMemoryStore extends MemoryStore implements RefreshLock {
  readonly #tails = new Map<string, Promise<unknown>>();
  holders = 0;

  async withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const mine = previous.then(async () => {
      this.holders++;
      try {
        return await work();
      } finally {
        this.holders--;
      }
    });
    this.#tails.set(
      key,
      mine.catch(() => {}),
    );
    return mine;
  }
}

describe('TokenManager with a store lock', () => {
  const racers: [string, string, (store: LockingMemoryStore) => Promise<() => TokenManager>][] = [
    [
      'one expired token refresh it once',
      'token.refresh_token',
      async (store) => {
        await signedIn(store);
        return () => managerFor(store, { userName: USER });
      },
    ],
    [
      'one expired org token run the client credentials grant once',
      'token.client_credentials',
      async (store) => {
        const orgId = await firstOrgId();
        return () => orgManager(store, orgId);
      },
    ],
  ];
  for (const [what, counter, setUp] of racers) {
    it(`re-reads inside the lock, so managers racing on ${what}`, async () => {
      const store = new LockingMemoryStore();
      const create = await setUp(store);
      const managers = Array.from({ length: 5 }, create);
      await Promise.all(managers.map((manager) => manager.getAccessToken()));
      emulator.clock.advance(2 * HOUR);
      emulator.resetCounters();
      const tokens = await Promise.all(managers.map((manager) => manager.getAccessToken()));
      assert.equal(count(counter), 1);
      assert.equal(new Set(tokens).size, 1);
      assert.equal(store.holders, 0);
    });
  }

  it('backs off a throttled client credentials grant, without calling again before the wait', async () => {
    const orgId = await firstOrgId();
    const manager = orgManager(new LockingMemoryStore(), orgId);
    await manager.getAccessToken();
    emulator.clock.advance(2 * HOUR);
    emulator.resetCounters();
    emulator.injectFault({ path: '/oauth/v2/token', kind: 'access-denied', times: Number.POSITIVE_INFINITY });
    const throttled = (e: unknown) => isTokenManagerError(e) && e.code === TokenManagerErrorCode.RATE_LIMITED;
    await rejectsWith(manager.getAccessToken(), throttled);
    await rejectsWith(manager.getAccessToken(), throttled);
    assert.equal(count('token.client_credentials'), 1, 'no request while backing off');
    emulator.clearFaults();
    emulator.clock.advance(10 * 60_000);
    assert.match(await manager.getAccessToken(), /^1000\./);
    assert.equal(count('token.client_credentials'), 2);
  });
});

describe('TokenManager failures', () => {
  it('turns a spent grant token into REAUTHORIZATION_REQUIRED', async () => {
    const grantToken = code();
    await managerFor(new MemoryStore(), { grantToken }).getAccessToken();
    const failures: Error[] = [];
    const again = managerFor(new MemoryStore(), { grantToken });
    again.on('failed', (error) => failures.push(error));
    await rejectsWith(
      again.getAccessToken(),
      (e) =>
        isTokenManagerError(e) &&
        e.code === TokenManagerErrorCode.REAUTHORIZATION_REQUIRED &&
        isOAuthError(e.cause) &&
        e.cause.code === OAuthErrorCode.INVALID_GRANT,
    );
    assert.equal(failures.length, 1);
  });

  it('refuses a reference holding a NUL or a lone surrogate with INVALID_TOKEN, without calling Zoho', async () => {
    const references = [
      { grantToken: `${code()}\u0000` },
      { refreshToken: '1000.r\uD800' },
      { accessToken: '\uDC00' },
      { userName: 'a\u0000@zylker.com' },
    ];
    for (const reference of references) {
      await rejectsWith(
        managerFor(new MemoryStore(), reference).getAccessToken(),
        (e) => e instanceof TokenStoreError && e.code === TokenStoreErrorCode.INVALID_TOKEN,
      );
    }
    await rejectsWith(
      managerFor(new MemoryStore(), { id: '42\u0000' }).getAccessToken(),
      (e) => e instanceof TokenStoreError && e.code === TokenStoreErrorCode.INVALID_ID,
    );
    assert.deepEqual(emulator.counters(), {});
  });

  it('reports a wrong client secret, client id or redirect URI as typed configuration errors', async () => {
    const cases = [
      [{ ...client, clientSecret: 'wrong' }, OAuthErrorCode.INVALID_CLIENT_SECRET],
      [{ ...client, clientId: '1000.UNKNOWN' }, OAuthErrorCode.INVALID_CLIENT],
      [{ ...client, redirectUri: 'http://localhost:9/elsewhere' }, OAuthErrorCode.INVALID_REDIRECT_URI],
    ] as const;
    for (const [badClient, expected] of cases) {
      const manager = managerFor(new MemoryStore(), { grantToken: code() }, { client: badClient });
      await rejectsWith(manager.getAccessToken(), (e) => isOAuthError(e) && e.code === expected);
    }
  });

  it('uses an access token given alone, and cannot renew it once expired', async () => {
    const { accessToken } = await signedIn();
    const store = new MemoryStore();
    const manager = managerFor(store, { accessToken }, { client: undefined });
    assert.equal(await manager.getAccessToken(), accessToken);
    const stored = await onlyToken(store);
    assert.equal(stored.getAccessToken(), accessToken);
    assert.equal(stored.getUserSignature()?.getName(), USER_NAME);
    assert.equal(await managerFor(store, { accessToken }, { client: undefined }).getAccessToken(), accessToken);

    stored.setExpiresIn(String(emulator.clock.now() - 1));
    await store.saveToken(stored);
    await rejectsWith(
      managerFor(store, { accessToken }, { client: undefined }).getAccessToken(),
      (e) => isTokenManagerError(e) && e.code === TokenManagerErrorCode.CANNOT_REFRESH,
    );
  });

  it('backs off when Zoho says Access Denied, without calling again before the wait', async () => {
    const { manager } = await signedIn();
    emulator.clock.advance(2 * HOUR);
    emulator.injectFault({ path: '/oauth/v2/token', kind: 'access-denied', times: Number.POSITIVE_INFINITY });
    await rejectsWith(
      manager.getAccessToken(),
      (e) => isTokenManagerError(e) && e.code === TokenManagerErrorCode.RATE_LIMITED && (e.retryAfterMs ?? 0) > 0,
    );
    const callsAfterFirst = count('token.refresh_token');
    assert.ok(callsAfterFirst <= 1);
    await rejectsWith(
      manager.getAccessToken(),
      (e) => isTokenManagerError(e) && e.code === TokenManagerErrorCode.RATE_LIMITED,
    );
    assert.equal(count('token.refresh_token'), callsAfterFirst, 'no request while backing off');
    emulator.clearFaults();
    emulator.clock.advance(10 * 60_000);
    assert.match(await manager.getAccessToken(), /^1000\./);
  });

  it('keeps serving a still-valid token and the stored refresh token when a proactive refresh fails', async () => {
    const { store, manager, accessToken } = await signedIn();
    const refreshToken = (await manager.getToken()).getRefreshToken();
    emulator.clock.advance(HOUR - 60_000);
    emulator.injectFault({ path: '/oauth/v2/token', kind: 'status', status: 503, times: Number.POSITIVE_INFINITY });
    assert.equal(await manager.getAccessToken(), accessToken);
    emulator.clock.advance(2 * 60_000);
    await rejectsWith(
      managerFor(store, { userName: USER }).getAccessToken(),
      (e) => isOAuthError(e) && e.code === OAuthErrorCode.SERVER_ERROR,
    );
    assert.equal((await store.findToken(new OAuthToken({ userName: USER })))?.getRefreshToken(), refreshToken);
    emulator.clearFaults();
    assert.notEqual(await managerFor(store, { userName: USER }).getAccessToken(), accessToken);
  });

  it('revokes at Zoho, deletes from the store, and the token stops working', async () => {
    const { store, manager, accessToken } = await signedIn();
    const revoked: unknown[] = [];
    manager.on('revoked', (summary) => revoked.push(summary));
    await manager.revoke();
    assert.equal(count('revoke'), 1);
    assert.deepEqual(await store.getTokens(), []);
    assert.equal(revoked.length, 1);
    const response = await fetch(`${emulator.url}/crm/v8/users?type=CurrentUser`, {
      headers: { Authorization: `Zoho-oauthtoken ${accessToken}` },
    });
    assert.equal(response.status, 401);
    await rejectsWith(
      managerFor(store, { userName: USER }).getAccessToken(),
      (e) => isTokenManagerError(e) && e.code === TokenManagerErrorCode.TOKEN_NOT_FOUND,
    );
  });

  it('never logs or emits a secret', async () => {
    const lines: string[] = [];
    const logger = Object.fromEntries(
      ['debug', 'info', 'warn', 'error'].map((level) => [
        level,
        (m: string, f?: object) => lines.push(`${m} ${JSON.stringify(f)}`),
      ]),
    );
    const store = new MemoryStore();
    const manager = managerFor(store, { grantToken: code() }, { logger });
    for (const event of ['exchanged', 'refreshed', 'failed', 'revoked'] as const) {
      manager.on(event, (payload: unknown) => lines.push(`${event} ${JSON.stringify(payload)} ${String(payload)}`));
    }
    await manager.getAccessToken();
    emulator.clock.advance(2 * HOUR);
    await manager.getAccessToken();
    emulator.clock.advance(2 * HOUR);
    emulator.injectFault({ path: '/oauth/v2/token', kind: 'access-denied' });
    await manager.getAccessToken().catch(() => {});
    const token = (await store.getTokens())[0] as TokenLike;
    await manager.revoke();
    const printed = lines.join('\n');
    assert.ok(lines.length >= 4, printed);
    for (const secret of [token.getAccessToken(), token.getRefreshToken(), client.clientSecret]) {
      assert.ok(secret && !printed.includes(secret), `a secret was printed:\n${printed}`);
    }
  });
});

/** The one token's activity in a store, waiting briefly for fire-and-forget writes to land. */
async function activityOf(store: MemoryStore | SQLiteStore, expected?: { lastUsedAt: number | null }) {
  for (let tries = 0; ; tries++) {
    const [entry] = await store.getActivity();
    const found = { lastUsedAt: entry?.lastUsedAt ?? null, revokedAt: entry?.revokedAt ?? null };
    if (expected === undefined || found.lastUsedAt === expected.lastUsedAt || tries === 50) return found;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('TokenManager activity', () => {
  for (const [name, createStore] of [
    ['MemoryStore', () => new MemoryStore()],
    ['SQLiteStore', () => new SQLiteStore({ path: ':memory:' })],
  ] as const) {
    it(`records use at most once a minute by default, on ${name}`, async () => {
      const store = createStore();
      const manager = managerFor(store, { grantToken: code() });
      const start = emulator.clock.now();
      await manager.getAccessToken();
      assert.deepEqual(await activityOf(store, { lastUsedAt: start }), { lastUsedAt: start, revokedAt: null });
      emulator.clock.advance(30_000);
      for (let i = 0; i < 20; i++) await manager.getAccessToken();
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal((await activityOf(store)).lastUsedAt, start, 'throttled within the interval');
      emulator.clock.advance(31_000);
      await manager.getAccessToken();
      const later = emulator.clock.now();
      assert.equal((await activityOf(store, { lastUsedAt: later })).lastUsedAt, later);
      // Another manager of the same token, reading it from the store, records its own use.
      emulator.clock.advance(90_000);
      await managerFor(store, { userName: USER }).getAccessToken();
      assert.equal((await activityOf(store, { lastUsedAt: emulator.clock.now() })).lastUsedAt, emulator.clock.now());
    });
  }

  it('records every use with activityIntervalMs 0', async () => {
    const store = new MemoryStore();
    const manager = managerFor(store, { grantToken: code() }, { activityIntervalMs: 0 });
    for (let i = 0; i < 5; i++) {
      emulator.clock.advance(1);
      await manager.getAccessToken();
      const now = emulator.clock.now();
      assert.equal((await activityOf(store, { lastUsedAt: now })).lastUsedAt, now);
    }
  });

  it('logs a failed recording without a secret and still hands out the token', async () => {
    const warnings: string[] = [];
    let calls = 0;
    const store = new (class extends MemoryStore {
      override async recordUse(): Promise<void> {
        const secret = (await this.getTokens())[0]?.getRefreshToken();
        // A typed error first, then what a custom store might throw: a message with a secret in it.
        if (++calls === 2) throw new Error(`driver says ${secret}`);
        throw new TokenStoreError(TokenStoreErrorCode.STORAGE_FAILURE, 'recordUse failed in the storage backend', {
          cause: new Error(`driver says ${secret}`),
        });
      }
    })();
    const logger = {
      warn: (message: string, fields?: object) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    };
    const manager = managerFor(store, { grantToken: code() }, { logger, activityIntervalMs: 0 });
    const accessToken = await manager.getAccessToken();
    assert.equal(await manager.getAccessToken(), accessToken);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const token = await onlyToken(store);
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0] as string, /could not record the token’s use .*STORAGE_FAILURE/);
    assert.match(warnings[1] as string, /could not record the token’s use .*"error":"Error"/);
    for (const secret of [token.getAccessToken(), token.getRefreshToken(), client.clientSecret]) {
      assert.ok(secret && !warnings.join('\n').includes(secret), 'a secret was logged');
    }
  });

  it('records the revocation when Zoho refuses the refresh token, on the manager’s clock', async () => {
    const store = new SQLiteStore({ path: ':memory:' });
    const { manager } = await signedIn(store);
    const refreshToken = (await manager.getToken()).getRefreshToken() as string;
    const revoke = await fetch(`${emulator.url}/oauth/v2/token/revoke?token=${encodeURIComponent(refreshToken)}`, {
      method: 'POST',
    });
    assert.equal(revoke.status, 200);
    emulator.clock.advance(2 * HOUR);
    await rejectsWith(
      manager.getAccessToken(),
      (e) => isTokenManagerError(e) && e.code === TokenManagerErrorCode.REAUTHORIZATION_REQUIRED,
    );
    assert.equal((await activityOf(store)).revokedAt, emulator.clock.now());
    assert.equal((await store.getTokens()).length, 1, 'the token stays until cleanup or the caller removes it');
  });

  it('records nothing through a store without activity tracking', async () => {
    const inner = new MemoryStore();
    // Only the six TokenStore methods: no recordUse, so the manager must not look for one.
    const plain = sixMethodStore(inner);
    const { manager } = await signedIn(plain);
    emulator.clock.advance(2 * HOUR);
    assert.match(await manager.getAccessToken(), /^1000\./);
    assert.deepEqual(await inner.getActivity(), []);
  });
});

describe('CRM client', () => {
  it('sends the token, and on INVALID_TOKEN refreshes once and retries once', async () => {
    const { store } = await signedIn();
    // The manager's clock lags the emulator's: it believes the token valid when Zoho does not.
    let lag = 0;
    const manager = managerFor(store, { userName: USER }, { now: () => emulator.clock.now() - lag });
    const crm = createCrmClient({ tokens: manager });
    const leads = await crm.request<{ data: { Last_Name: string }[] }>('GET', '/crm/v8/Leads', {
      query: { fields: 'Last_Name,Email' },
    });
    assert.ok(leads.data.length > 0);
    emulator.resetCounters();
    lag = 2 * HOUR;
    emulator.clock.advance(2 * HOUR);
    const again = await crm.request<{ users: { email: string }[] }>('GET', '/crm/v8/users', {
      query: { type: 'CurrentUser' },
    });
    assert.equal(again.users[0]?.email, USER);
    assert.equal(count('token.refresh_token'), 1);
    assert.equal(count('crm.users'), 2);
  });

  it('throws a CrmError with Zoho’s code for other failures', async () => {
    const { manager } = await signedIn();
    const crm = createCrmClient({ tokens: manager });
    await rejectsWith(
      crm.request('GET', '/crm/v8/Leads'),
      (e) => (e as { code?: string }).code === 'REQUIRED_PARAM_MISSING',
    );
  });
});
