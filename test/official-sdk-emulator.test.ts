// The official @zohocrm/typescript-sdk-8.0 against our emulator, with our SQLiteStore as its store:
// proof that the emulator speaks Zoho and that our stores fit the official SDK.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sdk from '@zohocrm/typescript-sdk-8.0';
import {
  customEnvironment,
  isTokenStoreError,
  OAuthToken as OurToken,
  type TokenLike,
  TokenManager,
  TokenStoreErrorCode,
} from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';

const { OAuthBuilder, OAuthToken, InitializeBuilder, Environment, Record: RecordApi, ParameterMap } = sdk;
const USER = 'ana.lopez@zylker.com';
const HOUR = 3_600_000;

let emulator: ZohoEmulator;
let dir: string;
before(async () => {
  emulator = await startZohoEmulator();
  dir = mkdtempSync(join(tmpdir(), 'zts-sdk-emulator-'));
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

const tokenFactory = () => Reflect.construct(OAuthToken, []) as InstanceType<typeof OAuthToken>;

async function initialise(store: SQLiteStore<InstanceType<typeof OAuthToken>>) {
  const token = new OAuthBuilder()
    .clientId(EMULATOR_CLIENT.clientId)
    .clientSecret(EMULATOR_CLIENT.clientSecret)
    .grantToken(emulator.issueGrantCode({ userEmail: USER, accessType: 'offline' }))
    .redirectURL(EMULATOR_CLIENT.redirectUris[0])
    .build();
  // The SDK wants the full token URL as its "accounts URL".
  const environment = new Environment(emulator.url, `${emulator.url}/oauth/v2/token`, emulator.url);
  await new InitializeBuilder().environment(environment).token(token).store(store).resourcePath(dir).initialize();
  return token;
}

async function onlyToken(store: SQLiteStore<InstanceType<typeof OAuthToken>>): Promise<TokenLike> {
  const tokens = await store.getTokens();
  assert.equal(tokens.length, 1);
  return tokens[0] as TokenLike;
}

async function leadNames(): Promise<string[]> {
  const params = new ParameterMap();
  await params.add(RecordApi.GetRecordsParam.FIELDS, 'Last_Name,Email');
  const response = await new RecordApi.RecordOperations('Leads').getRecords(params);
  assert.equal(response.getStatusCode(), 200);
  const wrapper = response.getObject();
  assert.ok(wrapper instanceof RecordApi.ResponseWrapper, `unexpected response ${JSON.stringify(wrapper)}`);
  return wrapper.getData().map((record) => String(record.getKeyValue('Last_Name')));
}

describe('the official SDK against the emulator, on SQLiteStore', () => {
  it('initialises with a grant token, fetches Leads, and refreshes once the clock passes expiry', async () => {
    emulator.resetCounters();
    const store = new SQLiteStore({ path: join(dir, 'sdk.db'), tokenFactory });
    await initialise(store);
    assert.equal(emulator.counters()['token.authorization_code'], 1);
    const saved = await onlyToken(store);
    // The SDK names the user from /crm/v8/users and /crm/v8/org as `email:zgid`.
    assert.match(saved.getUserSignature()?.getName() ?? '', /^ana\.lopez@zylker\.com:\d+$/);
    assert.equal(saved.getAPIDomain(), emulator.url);

    const names = await leadNames();
    assert.ok(names.length > 0);
    const firstAccessToken = saved.getAccessToken();

    // An hour and more passes: Zoho's clock and the token's stored expiry both say expired.
    emulator.clock.advance(2 * HOUR);
    saved.setExpiresIn(String(Date.now() - 1_000));
    await store.saveToken(saved);
    assert.deepEqual(await leadNames(), names);
    assert.equal(emulator.counters()['token.refresh_token'], 1);
    const refreshed = await store.findToken(new OurToken({ userName: saved.getUserSignature()?.getName() ?? null }));
    assert.notEqual(refreshed?.getAccessToken(), firstAccessToken);
    assert.ok(Number(refreshed?.getExpiresIn()) > Date.now());
    await store.close();
  });

  it('refreshes once per concurrent caller on an expired token — the stampede our TokenManager prevents', async (t) => {
    const store = new SQLiteStore({ path: join(dir, 'stampede.db'), tokenFactory });
    const token = await initialise(store);
    const saved = await onlyToken(store);
    saved.setExpiresIn(String(Date.now() - 1_000));
    await store.saveToken(saved);
    emulator.clock.advance(2 * HOUR);
    emulator.resetCounters();

    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => token.getToken()));
    const refreshCalls = emulator.counters()['token.refresh_token'] ?? 0;
    const failed = results.filter((r) => r.status === 'rejected').length;
    t.diagnostic(`official SDK, 1,000 concurrent getToken(): ${refreshCalls} refresh requests, ${failed} failed`);
    // Zoho allows 10 access tokens per refresh token per 10 minutes: the rest are throttled.
    assert.ok(refreshCalls > 10, `expected a stampede, saw ${refreshCalls} refresh requests`);
    await store.close();
  });
});

describe('a TokenManager and the official SDK sharing one SQLite file', () => {
  const client = {
    clientId: EMULATOR_CLIENT.clientId,
    clientSecret: EMULATOR_CLIENT.clientSecret,
    redirectUri: EMULATOR_CLIENT.redirectUris[0],
  };
  // The manager's clock runs with the SDK's (Date.now), moved on with the emulator's by `skew`.
  let skew = 0;
  const managerOn = (store: SQLiteStore, token: { userName: string } | { grantToken: string }) =>
    new TokenManager({
      environment: customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url }),
      store,
      client,
      token,
      now: () => Date.now() + skew,
    });
  const names = (tokens: readonly TokenLike[]) => tokens.map((t) => t.getUserSignature()?.getName());

  it('keep one row for the user: the manager finds and refreshes the SDK’s row, and the SDK goes on with it', async () => {
    emulator.resetCounters();
    const path = join(dir, 'shared.db');
    const sdkStore = new SQLiteStore({ path, tokenFactory });
    await initialise(sdkStore);
    const [sdkRow] = await sdkStore.getTokens();
    const sdkName = sdkRow?.getUserSignature()?.getName() ?? '';
    assert.match(sdkName, /^ana\.lopez@zylker\.com:\d+$/);

    // Our manager, in "another process", knows the user only by email.
    const ourStore = new SQLiteStore({ path });
    const manager = managerOn(ourStore, { userName: USER });
    assert.equal(await manager.getAccessToken(), sdkRow?.getAccessToken(), 'the SDK’s token, no new exchange');
    assert.equal(emulator.counters()['token.authorization_code'], 1);

    // Past expiry on both clocks: the manager refreshes once and updates the SDK's row.
    emulator.clock.advance(2 * HOUR);
    skew += 2 * HOUR;
    const renewed = await manager.getAccessToken();
    assert.notEqual(renewed, sdkRow?.getAccessToken());
    assert.equal(emulator.counters()['token.refresh_token'], 1);
    const rows = await ourStore.getTokens();
    assert.deepEqual(names(rows), [sdkName], 'one row, still named as the SDK names it');
    assert.equal(rows[0]?.getId(), sdkRow?.getId());
    assert.equal(rows[0]?.getAccessToken(), renewed);

    // The SDK keeps working on the same row with the manager's token.
    const reloaded = new SQLiteStore({ path, tokenFactory });
    const again = new OAuthBuilder().id(sdkRow?.getId() as string).build();
    const environment = new Environment(emulator.url, `${emulator.url}/oauth/v2/token`, emulator.url);
    await new InitializeBuilder().environment(environment).token(again).store(reloaded).resourcePath(dir).initialize();
    assert.ok((await leadNames()).length > 0);
    assert.equal(emulator.counters()['token.refresh_token'], 1, 'the SDK used the manager’s token');
    assert.deepEqual(names(await reloaded.getTokens()), [sdkName]);
    await Promise.all([sdkStore.close(), ourStore.close(), reloaded.close()]);
  });

  it('a manager that signs the user in names them as the SDK does; a plain email of two orgs is AMBIGUOUS_USER', async () => {
    const store = new SQLiteStore({ path: join(dir, 'manager-first.db') });
    const manager = managerOn(store, {
      grantToken: emulator.issueGrantCode({ userEmail: USER, accessType: 'offline' }),
    });
    await manager.getAccessToken();
    const [row] = await store.getTokens();
    assert.match(row?.getUserSignature()?.getName() ?? '', /^ana\.lopez@zylker\.com:\d+$/);
    assert.equal(await managerOn(store, { userName: USER }).getAccessToken(), row?.getAccessToken());

    await store.saveToken(new OurToken({ userName: `${USER}:999`, accessToken: '1000.other-org' }));
    await assert.rejects(managerOn(store, { userName: USER }).getAccessToken(), (error: unknown) => {
      assert.ok(isTokenStoreError(error) && error.code === TokenStoreErrorCode.AMBIGUOUS_USER, String(error));
      return true;
    });
    await store.close();
  });
});
