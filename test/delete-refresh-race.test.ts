// A delete that lands while a refresh is held open at the emulator: the refresh's save must not put
// the deleted token back (issue #13, item 5). Through the paths an admin uses (the portal's Delete,
// `zoho-tokens delete`), on a SQLite file and the local PostgreSQL.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  customEnvironment,
  isTokenManagerError,
  openStore,
  type TokenLike,
  TokenManager,
  TokenManagerErrorCode,
  type TokenStore,
} from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { portalConfigFromEnv } from '../examples/portal/portal-config.js';
import { type RunningPortal, startPortal } from '../examples/portal/portal-server.js';
import { type CliStore, cli, cliStoreKinds, freshCliStore } from './fixtures/cli-run.js';
import { location, PortalClient } from './fixtures/portal-client.js';

const USER = 'ana.lopez@zylker.com';
const HOLD_MS = 1_500;

let emulator: ZohoEmulator;
before(async () => {
  emulator = await startZohoEmulator({ autoApprove: true });
});
after(() => emulator.close());

const refreshes = () => emulator.counters()['token.refresh_token'] ?? 0;

/** Holds the next token request at the emulator; the function returned waits until a refresh reached it. */
function holdNextRefresh(): () => Promise<void> {
  emulator.resetCounters();
  emulator.injectFault({ path: '/oauth/v2/token', kind: 'latency', latencyMs: HOLD_MS });
  return async () => {
    for (let waited = 0; refreshes() === 0; waited += 5) {
      assert.ok(waited < 5_000, 'the refresh never reached the emulator');
      await sleep(5);
    }
  };
}

/** The store holds no row with this id and none for the user. */
async function assertGone(store: TokenStore<TokenLike>, id: string): Promise<void> {
  assert.equal(await store.findTokenById(id), null, 'the deleted id came back');
  const users = (await store.getTokens()).map((token) => token.getUserSignature()?.getName());
  assert.ok(!users.includes(USER), 'the deleted user has a row again');
}

for (const kind of await cliStoreKinds()) {
  describe(`a delete during a refresh, on ${kind}`, () => {
    let target: CliStore;
    beforeEach(() => {
      target = freshCliStore(kind);
      emulator.clearFaults();
    });
    afterEach(() => target.drop());

    it('the portal’s admin Delete: the token stays deleted and the old session is signed out', async () => {
      const portal: RunningPortal = await startPortal(
        portalConfigFromEnv({ PORT: '0', ZOHO_ACCOUNTS_URL: emulator.url, TOKEN_STORE_URL: target.url }),
        { log: () => {} },
      );
      try {
        // One user in two browsers, one stored row: the victim's session and an admin's page.
        const victim = new PortalClient(portal.url);
        await victim.signIn();
        const admin = new PortalClient(portal.url);
        await admin.signIn();
        const adminPage = await admin.get('/admin');
        const id = /<tr data-user="ana.lopez@zylker.com">\s*<td[^>]*><code>(\d+)</s.exec(adminPage.body)?.[1] as string;
        // Zoho rejected the access token, so the victim's next page refreshes it.
        const manager = (await portal.context.tokens.managerFor({ email: USER, tokenId: id })) as TokenManager;
        manager.invalidate((await manager.getToken()).getAccessToken() as string);

        const arrived = holdNextRefresh();
        const page = victim.get('/dashboard');
        await arrived();
        const deleted = await admin.post('/admin/delete', { id, csrf: PortalClient.csrfOf(adminPage) });
        assert.equal(location(deleted), '/?notice=revoked', 'deleting your own token signs you out');
        // The refresh began first, so its page is served; the delete waited for it, then won.
        assert.equal((await page).status, 200);

        await assertGone(portal.context.store, id);
        assert.equal(location(await victim.get('/dashboard')), '/?notice=removed');
        assert.equal(refreshes(), 1);
      } finally {
        await portal.close();
      }
    });

    it('`zoho-tokens delete`: the token stays deleted and its manager renews it no more', async () => {
      const store = await openStore(target.url);
      try {
        const environment = customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });
        const client = {
          clientId: EMULATOR_CLIENT.clientId,
          clientSecret: EMULATOR_CLIENT.clientSecret,
          redirectUri: EMULATOR_CLIENT.redirectUris[0],
        };
        const code = emulator.issueGrantCode({ userEmail: USER, accessType: 'offline' });
        const manager = new TokenManager({ environment, store, client, token: { grantToken: code } });
        const first = await manager.getAccessToken();
        const id = (await manager.getToken()).getId() as string;
        manager.invalidate(first);

        const arrived = holdNextRefresh();
        const refreshing = manager.getAccessToken().catch((error: unknown) => error);
        await arrived();
        const run = await cli(['delete', id, '--store', target.url]);
        assert.equal(run.code, 0, run.stderr);
        const outcome = await refreshing;
        assert.equal(typeof outcome, 'string', 'the refresh began first and is served; then the delete wins');

        await assertGone(store, id);
        // The manager has nothing left to renew: the next renewal fails typed, with no call to Zoho.
        manager.invalidate(outcome as string);
        await assert.rejects(manager.getAccessToken(), (error: unknown) => {
          assert.ok(isTokenManagerError(error), String(error));
          assert.equal(error.code, TokenManagerErrorCode.TOKEN_DELETED);
          return true;
        });
        assert.equal(refreshes(), 1);
        await assertGone(store, id);
      } finally {
        await store.close();
      }
    });
  });
}
