// purgeTokens: the expired, idle and revoked policies, dry runs and typed refusals, on the
// reference store and on SQLite.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isTokenStoreError,
  OAuthToken,
  type OAuthTokenFields,
  purgeTokens,
  type TokenLike,
  type TokenStore,
  TokenStoreErrorCode,
} from 'zoho-token-store';
import { MemoryStore } from 'zoho-token-store/stores/memory';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { sixMethodStore } from './fixtures/six-method-store.js';

const NOW = Date.UTC(2026, 5, 1, 12, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const token = (user: string, fields: OAuthTokenFields = {}) =>
  new OAuthToken({
    userName: `${user}@zylker.com`,
    clientId: '1000.CLIENT',
    clientSecret: `secret-of-${user}`,
    refreshToken: `1000.refresh.${user}`,
    accessToken: `1000.access.${user}`,
    expiresIn: NOW + 30 * 60_000,
    ...fields,
  });

/** Saves the tokens and returns their ids by user. */
async function seed(store: TokenStore<TokenLike>, ...tokens: OAuthToken[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const t of tokens) {
    await store.saveToken(t);
    ids[String(t.getUserSignature()?.getName()).split('@')[0] as string] = t.getId() as string;
  }
  return ids;
}

const users = async (store: TokenStore<TokenLike>) =>
  (await store.getTokens()).map((t) => t.getUserSignature()?.getName()?.split('@')[0]).sort();

const notSupported = (e: unknown) => isTokenStoreError(e) && e.code === TokenStoreErrorCode.NOT_SUPPORTED;

/** A store with only the six TokenStore methods: it tracks no activity. */
function plainStore(): TokenStore<TokenLike> {
  return sixMethodStore(new MemoryStore());
}

for (const [name, createStore] of [
  ['MemoryStore', () => new MemoryStore()],
  ['SQLiteStore', () => new SQLiteStore({ path: ':memory:' })],
] as const) {
  describe(`purgeTokens on ${name}`, () => {
    it('expired: removes only expired tokens that have no refresh token', async () => {
      const store = createStore();
      const ids = await seed(
        store,
        token('gone', { expiresIn: NOW - HOUR, refreshToken: null }),
        token('renewable', { expiresIn: NOW - HOUR }),
        token('valid', { refreshToken: null }),
        token('timeless', { expiresIn: null, refreshToken: null }),
        token('blank', { expiresIn: NOW - 1, refreshToken: '' }),
      );
      const result = await purgeTokens(store, { expired: true, now: NOW });
      assert.deepEqual(
        result.purged.map((p) => [p.id, p.reason]).sort(),
        [
          [ids.blank, 'expired'],
          [ids.gone, 'expired'],
        ].sort(),
      );
      assert.equal(result.kept, 3);
      assert.deepEqual(await users(store), ['renewable', 'timeless', 'valid']);
    });

    it('idle: counts from the later of the last use and the last grant or refresh', async () => {
      const store = createStore();
      const grantedAt = (ms: number) => ({ expiresIn: ms + HOUR });
      const ids = await seed(
        store,
        token('never-used-old', grantedAt(NOW - 100 * DAY)),
        token('used-lately', grantedAt(NOW - 100 * DAY)),
        token('used-long-ago', grantedAt(NOW - 120 * DAY)),
        token('refreshed-lately', grantedAt(NOW - 2 * DAY)),
        token('no-expiry-unused', { expiresIn: null }),
        token('no-expiry-used-old', { expiresIn: null }),
      );
      await store.recordUse(ids['used-lately'] as string, NOW - DAY);
      await store.recordUse(ids['used-long-ago'] as string, NOW - 95 * DAY);
      await store.recordUse(ids['refreshed-lately'] as string, NOW - 200 * DAY);
      await store.recordUse(ids['no-expiry-used-old'] as string, NOW - 91 * DAY);
      const result = await purgeTokens(store, { idleMs: 90 * DAY, now: NOW });
      assert.deepEqual(result.purged.map((p) => p.userName?.split('@')[0]).sort(), [
        'never-used-old',
        'no-expiry-used-old',
        'used-long-ago',
      ]);
      assert.ok(result.purged.every((p) => p.reason === 'idle'));
      assert.equal(result.kept, 3);
      assert.deepEqual(await users(store), ['no-expiry-unused', 'refreshed-lately', 'used-lately']);
      // Their activity went with them.
      const tracked = new Set((await store.getActivity()).map((a) => a.id));
      assert.ok(!tracked.has(ids['used-long-ago'] as string));
      assert.ok(tracked.has(ids['used-lately'] as string));
    });

    it('revoked: removes tokens refused since their last grant, keeping users who signed in again', async () => {
      const store = createStore();
      const ids = await seed(
        store,
        token('refused', { expiresIn: NOW - 3 * HOUR }),
        token('came-back', { expiresIn: NOW + 50 * 60_000 }),
        token('fine'),
        token('no-expiry', { expiresIn: null }),
      );
      await store.recordRevoked(ids.refused as string, NOW - 2 * HOUR);
      // Refused yesterday, then signed in again ten minutes ago (expiry = grant + 1 h).
      await store.recordRevoked(ids['came-back'] as string, NOW - DAY);
      await store.recordRevoked(ids['no-expiry'] as string, NOW - DAY);
      const result = await purgeTokens(store, { revoked: true, now: NOW });
      assert.deepEqual(
        result.purged.map((p) => [p.id, p.reason]).sort(),
        [
          [ids['no-expiry'], 'revoked'],
          [ids.refused, 'revoked'],
        ].sort(),
      );
      assert.deepEqual(await users(store), ['came-back', 'fine']);
    });

    it('combines policies, giving one reason per token, and masks every secret', async () => {
      const store = createStore();
      const ids = await seed(
        store,
        token('both', { expiresIn: NOW - 200 * DAY, refreshToken: null }),
        token('old', { expiresIn: NOW - 200 * DAY }),
        token('fresh'),
      );
      await store.recordRevoked(ids.both as string, NOW - DAY);
      const result = await purgeTokens(store, { expired: true, revoked: true, idleMs: 30 * DAY, now: NOW });
      assert.deepEqual(result.purged.map((p) => [p.userName, p.reason]).sort(), [
        ['both@zylker.com', 'revoked'],
        ['old@zylker.com', 'idle'],
      ]);
      const printed = JSON.stringify(result);
      for (const secret of ['secret-of-both', '1000.refresh.old', '1000.access.old', '1000.access.both']) {
        assert.ok(!printed.includes(secret), `${secret} printed unmasked`);
      }
      assert.equal(result.purged[0]?.clientId, '1000.CLIENT');
    });

    it('dryRun reports the same tokens and deletes nothing', async () => {
      const store = createStore();
      await seed(store, token('gone', { expiresIn: NOW - HOUR, refreshToken: null }), token('kept'));
      const preview = await purgeTokens(store, { expired: true, now: NOW, dryRun: true });
      assert.deepEqual(
        preview.purged.map((p) => p.userName),
        ['gone@zylker.com'],
      );
      assert.equal(preview.kept, 1);
      assert.deepEqual(await users(store), ['gone', 'kept']);
      const done = await purgeTokens(store, { expired: true, now: NOW });
      assert.deepEqual(done, preview);
      assert.deepEqual(await users(store), ['kept']);
    });

    it('keeps a token renewed between the listing and the delete', async () => {
      const store = createStore();
      await seed(store, token('busy', { expiresIn: NOW - 100 * DAY }));
      const racing = {
        ...plainStore(),
        // Another process refreshes the token right after purgeTokens has listed it.
        getTokens: async () => {
          const listed = await store.getTokens();
          await store.saveToken(new OAuthToken({ userName: 'busy@zylker.com', expiresIn: NOW + HOUR }));
          return listed;
        },
        findTokenById: (id: string) => store.findTokenById(id),
        deleteToken: (id: string) => store.deleteToken(id),
        recordUse: (id: string, at: number) => store.recordUse(id, at),
        recordRevoked: (id: string, at: number) => store.recordRevoked(id, at),
        getActivity: () => store.getActivity(),
      };
      const result = await purgeTokens(racing, { idleMs: 30 * DAY, now: NOW });
      assert.deepEqual(result, { purged: [], kept: 1 });
      assert.deepEqual(await users(store), ['busy']);
    });
  });
}

describe('purgeTokens and the refresh lock', () => {
  it('deletes under the token’s refresh lock, so a renewal inside it is kept, with its id', async () => {
    const store = new SQLiteStore({ path: ':memory:' });
    const ids = await seed(store, token('busy', { refreshToken: null, expiresIn: NOW - HOUR }));
    let purging: Promise<unknown> | undefined;
    // A TokenManager elsewhere renews the token: it holds the lock it renews under while purgeTokens
    // lists the token as expired, and saves the renewal before letting go.
    await store.withRefreshLock(`zoho-token:${ids.busy}`, async () => {
      purging = purgeTokens(store, { expired: true, now: NOW });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await store.saveToken(
        new OAuthToken({ userName: 'busy@zylker.com', refreshToken: '1000.r', expiresIn: NOW + HOUR }),
      );
    });
    assert.deepEqual(await purging, { purged: [], kept: 1 });
    const [kept] = await store.getTokens();
    assert.equal(kept?.getId(), ids.busy);
    assert.equal(kept?.getRefreshToken(), '1000.r');
    await store.close();
  });
});

describe('purgeTokens and a busy refresh lock', () => {
  it('keeps a token whose lock stays busy past the lock timeout, and goes on with the others', async () => {
    const store = new SQLiteStore({ path: ':memory:', lockTimeoutMs: 200 });
    const ids = await seed(
      store,
      token('busy', { refreshToken: null, expiresIn: NOW - HOUR }),
      token('idle', { refreshToken: null, expiresIn: NOW - HOUR }),
    );
    let release = () => {};
    const held = store.withRefreshLock(`zoho-token:${ids.busy}`, () => new Promise<void>((r) => (release = r)));
    const result = await purgeTokens(store, { expired: true, now: NOW });
    release();
    await held;
    assert.deepEqual(
      result.purged.map((p) => p.userName),
      ['idle@zylker.com'],
    );
    assert.equal(result.kept, 1);
    assert.deepEqual(await users(store), ['busy']);
    await store.close();
  });
});

describe('purgeTokens refuses', () => {
  it('idle and revoked on a store that tracks no activity, with NOT_SUPPORTED, deleting nothing', async () => {
    const store = plainStore();
    await store.saveToken(token('a', { expiresIn: NOW - 200 * DAY, refreshToken: null }));
    await assert.rejects(purgeTokens(store, { idleMs: DAY, now: NOW }), notSupported);
    await assert.rejects(purgeTokens(store, { revoked: true, expired: true, now: NOW }), notSupported);
    assert.equal((await store.getTokens()).length, 1);
    // expired needs no activity.
    assert.equal((await purgeTokens(store, { expired: true, now: NOW })).purged.length, 1);
  });

  it('a call without a policy, or with an idle time that is not a positive number', async () => {
    const store = new MemoryStore();
    await assert.rejects(purgeTokens(store, {}), TypeError);
    for (const idleMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      await assert.rejects(purgeTokens(store, { idleMs }), TypeError);
    }
  });
});
