// The adapters of zoho-token-store/sdk, in process, with the real classes of the official SDKs
// pinned in test/official-sdks: the SDKs' type checks pass, tokens come back as the SDKs' own
// classes, and the legacy (user, token) rules hold on top of our stores.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { isTokenStoreError, OAuthToken as OurToken, TokenStoreErrorCode } from 'zoho-token-store';
import { forLegacySdk, forOfficialSdk } from 'zoho-token-store/sdk';
import { EncryptedStore, generateKey } from 'zoho-token-store/stores/encrypted';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';

const SDKS_DIR = resolve(import.meta.dirname, 'official-sdks');
const requireSdk = createRequire(join(SDKS_DIR, 'package.json'));
let installed = true;
try {
  requireSdk.resolve('@zohocrm/nodejs-sdk-8.0');
} catch {
  installed = false;
  const message = 'test/official-sdks is not installed: run `npm ci --prefix test/official-sdks` (.ci/run does)';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING the SDK adapter tests: ${message}\n`);
}

const dir = mkdtempSync(join(tmpdir(), 'zts-sdk-adapters-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newStore = () => new SQLiteStore({ path: join(dir, `tokens-${++files}.db`) });
const isError = (code: string) => (error: unknown) => isTokenStoreError(error) && error.code === code;

// biome-ignore lint/suspicious/noExplicitAny: the SDKs are untyped JavaScript here
type Sdk = any;

describe('forOfficialSdk with @zohocrm/nodejs-sdk-8.0', { skip: !installed }, () => {
  const load = async (): Promise<Sdk> => import(pathToFileURL(requireSdk.resolve('@zohocrm/nodejs-sdk-8.0')).href);

  it('is what InitializeBuilder.store() accepts, where a bare store is refused', async () => {
    const sdk = await load();
    const store = newStore();
    const builder = await new sdk.InitializeBuilder();
    assert.throws(() => builder.store(store), 'the SDK refuses a store that is not its TokenStore');
    const adapted = forOfficialSdk(store, sdk);
    assert.ok(adapted instanceof sdk.TokenStore.TokenStore);
    assert.equal(builder.store(adapted), builder);
    await store.close();
  });

  it('hands back the SDK’s own OAuthToken and UserSignature, from an EncryptedStore too', async () => {
    const sdk = await load();
    const inner = newStore();
    const store = new EncryptedStore(inner, { keys: generateKey('k1') });
    const adapted = forOfficialSdk<Sdk>(store, sdk);
    const token = new sdk.OAuthBuilder()
      .clientId('1000.C')
      .clientSecret('s')
      .refreshToken('1000.r')
      .userSignature(new sdk.UserSignature('ana@zylker.com'))
      .build();
    token.setAccessToken('1000.a');
    await adapted.saveToken(token);
    const id = token.getId();
    assert.ok(id, 'the store gave the SDK’s token an id');

    const [listed] = await adapted.getTokens();
    const byId = await adapted.findTokenById(id);
    for (const found of [listed, byId]) {
      assert.ok(found instanceof sdk.OAuthToken);
      assert.ok(found.getUserSignature() instanceof sdk.UserSignature);
      assert.equal(found.getUserSignature().getName(), 'ana@zylker.com');
      assert.equal(found.getRefreshToken(), '1000.r');
    }
    const probe = new sdk.OAuthBuilder().userSignature(new sdk.UserSignature('ana@zylker.com')).build();
    assert.equal(await adapted.findToken(probe), probe, 'findToken fills the SDK’s token');
    assert.equal(probe.getAccessToken(), '1000.a');
    assert.equal(await adapted.findTokenById('1234567890'), null);

    await adapted.deleteToken(id);
    assert.deepEqual(await adapted.getTokens(), []);
    await store.close();
  });

  it('says what to pass when the SDK’s OAuthToken is missing', () => {
    assert.throws(() => forOfficialSdk(newStore(), {} as never), /pass the official SDK's OAuthToken class/);
  });
});

/** Each legacy SDK: its classes, and how it builds a token from a grant or a refresh token. */
const LEGACY = ['zcrmsdk', '@zohocrm/nodejs-sdk-2.0', '@zohocrm/typescript-sdk-2.0'].map((name) => ({
  name,
  load() {
    const load = (path: string): Sdk => requireSdk(`${name}/${path}`);
    const { OAuthToken } = load('models/authenticator/oauth_token');
    const { TokenStore } = load('models/authenticator/store/token_store');
    const { UserSignature } = load('routes/user_signature');
    const token = (clientId: string, kind: 'GRANT' | 'REFRESH', value: string): Sdk =>
      name === 'zcrmsdk'
        ? new OAuthToken(clientId, 'secret', value, kind)
        : new OAuthToken(clientId, 'secret', kind === 'GRANT' ? value : null, kind === 'REFRESH' ? value : null);
    return { OAuthToken, TokenStore, user: (email: string) => new UserSignature(email), token };
  },
}));
// The fields a legacy token keeps: plain properties in every one of them.
const field = (token: Sdk, name: string) => token[name];

for (const legacy of LEGACY) {
  describe(`forLegacySdk with ${legacy.name}`, { skip: !installed }, () => {
    it('passes the SDK’s own TokenStore check where it has one', () => {
      const { OAuthToken, TokenStore } = legacy.load();
      const adapted = forLegacySdk(newStore(), { OAuthToken, TokenStore });
      if (typeof TokenStore === 'function') assert.ok(adapted instanceof TokenStore);
    });

    it('finds by email + client id + grant or refresh token, and never stores a user twice', async () => {
      const sdk = legacy.load();
      const store = newStore();
      const adapted = forLegacySdk(store, sdk);
      const ana = sdk.user('ana@zylker.com');

      // As after a code exchange: the SDK token keeps its grant token and gains the others.
      const first = sdk.token('1000.C', 'GRANT', 'grant-1');
      first.refreshToken = 'refresh-1';
      first.accessToken = 'access-1';
      first.expiresIn = String(Date.now() + 3_600_000);
      await adapted.saveToken(ana, first);
      const [row] = await store.getTokens();
      assert.equal(row?.getUserSignature()?.getName(), 'ana@zylker.com');
      assert.equal(row?.getGrantToken(), 'grant-1');
      assert.equal(field(first, 'id'), row?.getId(), 'the SDK’s token learns the row’s id');
      assert.equal(field(first, 'userMail'), 'ana@zylker.com');

      const byRefresh = sdk.token('1000.C', 'REFRESH', 'refresh-1');
      assert.equal(await adapted.getToken(ana, byRefresh), byRefresh);
      assert.equal(field(byRefresh, 'accessToken'), 'access-1');
      assert.equal(field(byRefresh, 'expiresIn'), first.expiresIn);
      const byGrant = sdk.token('1000.C', 'GRANT', 'grant-1');
      assert.equal(await adapted.getToken(ana, byGrant), byGrant);
      // null, not undefined: the node SDKs compare with `=== null`.
      assert.equal(await adapted.getToken(ana, sdk.token('1000.OTHER', 'REFRESH', 'refresh-1')), null);
      assert.equal(await adapted.getToken(ana, sdk.token('1000.C', 'REFRESH', 'refresh-2')), null);
      assert.equal(await adapted.getToken(ana, sdk.token('1000.C', 'GRANT', 'grant-2')), null);
      assert.equal(await adapted.getToken(sdk.user('bo@zylker.com'), sdk.token('1000.C', 'GRANT', 'grant-1')), null);

      // A new grant for the same user: the SDKs' own stores would add a second row; ours updates.
      const again = sdk.token('1000.C', 'GRANT', 'grant-2');
      again.refreshToken = 'refresh-2';
      again.accessToken = 'access-2';
      await adapted.saveToken(ana, again);
      const rows = await store.getTokens();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.getRefreshToken(), 'refresh-2');
      assert.equal(field(again, 'id'), row?.getId());
      await store.close();
    });

    it('getTokenById fills the SDK’s token, and fails with NOT_FOUND for an unknown id', async () => {
      const sdk = legacy.load();
      const store = newStore();
      const saved = new OurToken({
        userName: 'ana@zylker.com',
        clientId: '1000.C',
        clientSecret: 'secret',
        refreshToken: 'refresh-1',
        accessToken: 'access-1',
        expiresIn: 1_900_000_000_000,
        redirectURL: 'https://app.example/cb',
      });
      await store.saveToken(saved);
      const adapted = forLegacySdk(store, sdk);
      const id = saved.getId() as string;
      const blank = Object.create(sdk.OAuthToken.prototype);
      assert.equal(await adapted.getTokenById(id, blank), blank);
      assert.equal(field(blank, 'id'), id);
      assert.equal(field(blank, 'userMail'), 'ana@zylker.com');
      assert.equal(field(blank, 'clientID'), '1000.C');
      assert.equal(field(blank, 'refreshToken'), 'refresh-1');
      assert.equal(field(blank, 'expiresIn'), '1900000000000');
      await assert.rejects(adapted.getTokenById('1234567890', blank), isError(TokenStoreErrorCode.NOT_FOUND));

      const [listed] = await adapted.getTokens();
      assert.ok(listed instanceof sdk.OAuthToken);
      assert.equal(field(listed, 'userMail'), 'ana@zylker.com');
      assert.equal(field(listed, 'accessToken'), 'access-1');
      await store.close();
    });

    it('deleteToken removes only the row the legacy rule matches, and needs the user', async () => {
      const sdk = legacy.load();
      const store = newStore();
      const adapted = forLegacySdk(store, sdk);
      const ana = sdk.user('ana@zylker.com');
      const token = sdk.token('1000.C', 'REFRESH', 'refresh-1');
      token.accessToken = 'access-1';
      await adapted.saveToken(ana, token);

      const stranger = sdk.token('1000.C', 'REFRESH', 'refresh-other');
      stranger.userMail = 'ana@zylker.com';
      await adapted.deleteToken(stranger);
      assert.equal((await store.getTokens()).length, 1, 'another refresh token deletes nothing');
      await assert.rejects(
        adapted.deleteToken(sdk.token('1000.C', 'REFRESH', 'refresh-1')),
        isError(TokenStoreErrorCode.INVALID_TOKEN),
      );
      await adapted.deleteToken(token);
      assert.deepEqual(await store.getTokens(), []);
      await store.close();
    });
  });
}
