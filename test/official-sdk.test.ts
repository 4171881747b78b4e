// Our stores as the `store` of the official @zohocrm/typescript-sdk-8.0, with its own OAuthToken objects.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sdk from '@zohocrm/typescript-sdk-8.0';
import type { OAuthTokenFields } from 'zoho-token-store';
import { FileStore } from 'zoho-token-store/stores/file';
import { MemoryStore } from 'zoho-token-store/stores/memory';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { describeTokenStoreConformance } from 'zoho-token-store/testing';

const { OAuthBuilder, OAuthToken, InitializeBuilder, USDataCenter, UserSignature } = sdk;
type SdkToken = InstanceType<typeof OAuthToken>;

const dir = mkdtempSync(join(tmpdir(), 'zts-sdk-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `tokens-${++files}.db`);

/** What a user passes so getTokens/findTokenById hand back the SDK's class. */
const tokenFactory = (): SdkToken => Reflect.construct(OAuthToken, []);

/** The SDK's own token, built the way the SDK's OAuthBuilder does. */
function sdkToken(fields: OAuthTokenFields): SdkToken {
  const token = new OAuthToken(
    fields.clientId ?? null,
    fields.clientSecret ?? null,
    fields.grantToken ?? null,
    fields.refreshToken ?? null,
    fields.redirectURL ?? null,
    fields.id ?? null,
    fields.accessToken ?? null,
    fields.userName == null ? null : new UserSignature(fields.userName),
  );
  if (fields.expiresIn != null) token.setExpiresIn(String(fields.expiresIn));
  token.setAPIDomain(fields.apiDomain ?? null);
  return token;
}

describeTokenStoreConformance({ describe, it }, 'MemoryStore with official SDK tokens', {
  createStore: () => new MemoryStore({ tokenFactory }),
  newToken: sdkToken,
});
describeTokenStoreConformance({ describe, it }, 'SQLiteStore with official SDK tokens', {
  createStore: () => new SQLiteStore({ path: newFile(), tokenFactory }),
  newToken: sdkToken,
});
describeTokenStoreConformance({ describe, it }, 'FileStore with official SDK tokens', {
  createStore: () => new FileStore({ path: join(dir, `tokens-${++files}.json`), tokenFactory }),
  reopenStore: (store) => new FileStore({ path: (store as FileStore).path }),
  newToken: sdkToken,
});

describe('the official SDK’s getToken() flow on SQLiteStore', () => {
  it('finds by user and by id, saves an access-token-only token, and removes by id', async () => {
    const path = newFile();
    const store = new SQLiteStore({ path, tokenFactory });
    const inAnHour = String(Date.now() + 3_600_000);
    const seeded = sdkToken({
      userName: 'ana@zylker.com',
      clientId: '1000.C',
      clientSecret: 's',
      refreshToken: '1000.refresh',
      accessToken: '1000.valid',
      expiresIn: inAnHour,
    });
    await store.saveToken(seeded);
    const id = seeded.getId();
    assert.ok(id);

    const byUser = new OAuthBuilder()
      .clientId('1000.C')
      .clientSecret('s')
      .refreshToken('1000.refresh')
      .userSignature(new UserSignature('ana@zylker.com'))
      .build();
    await new InitializeBuilder().environment(USDataCenter.PRODUCTION()).token(byUser).store(store).initialize();
    // A valid stored token: the SDK returns it without refreshing (no network here).
    assert.equal(await byUser.getToken(), '1000.valid');

    // The id flow merges findTokenById's result into the caller's token: it must be the SDK's class.
    const byId = new OAuthBuilder().id(id).build();
    assert.equal(await byId.getToken(), '1000.valid');
    assert.equal(byId.getRefreshToken(), '1000.refresh');
    assert.equal(byId.getUserSignature()?.getName(), 'ana@zylker.com');

    // An access token alone is saved by the SDK through our saveToken, which gives it an id.
    const bare = new OAuthBuilder().accessToken('1000.bare').findUser(false).build();
    assert.equal(await bare.getToken(), '1000.bare');
    assert.ok(bare.getId());

    assert.equal(await byId.remove(), true);
    assert.equal(await store.findTokenById(id), null);
    await store.close();

    const reopened = new SQLiteStore({ path, tokenFactory });
    const all = await reopened.getTokens();
    assert.deepEqual(
      all.map((t) => t.getAccessToken()),
      ['1000.bare'],
    );
    assert.ok(all.every((t) => t instanceof OAuthToken));
    await reopened.close();
  });
});
