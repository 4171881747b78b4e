import assert from 'node:assert/strict';
import { isTokenStoreError, TokenStoreErrorCode } from '../errors.js';
import type { TokenStore } from '../store/token-store.js';
import { OAuthToken, type OAuthTokenFields, type TokenLike } from '../token/oauth-token.js';
import { recordOf } from '../token/token-record.js';

/** The `describe`/`it` pair of any test runner: node:test, Vitest, Jest, Mocha. */
export interface TestRunner {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
}

/** How the conformance suite gets and disposes of stores. */
export interface ConformanceOptions {
  /** A fresh, empty store for each test. */
  createStore(): TokenStore<TokenLike> | Promise<TokenStore<TokenLike>>;
  /** Disposes of a store after its test. Default: calls its `close()` if it has one. */
  disposeStore?(store: TokenStore<TokenLike>): unknown;
  /**
   * Makes a token of the class the store is used with, from plain fields. Default: our
   * `OAuthToken`. Pass one that builds the official SDK's tokens to test a store for it;
   * `findTokenById` and `getTokens` must then hand back that class.
   */
  newToken?(fields: OAuthTokenFields): TokenLike;
  /** Size of the large-value round trip, in characters. Default 64 KiB. */
  largeValueLength?: number;
}

const HOSTILE_VALUES = [
  "it's",
  'say "hi"',
  "' OR 1=1 --",
  "x'); DROP TABLE oauthtoken; --",
  'a,b,c',
  'line1\nline2\r\nline3',
  'tab\there',
  'Zoë 張偉 مرحبا 🚀 e\u0301',
  '\\backslash\\ and %_ wildcards',
  ' padded ',
];

/**
 * Registers the TokenStore conformance suite with your test runner: every rule of the
 * contract (matching order, upsert without duplicates, users kept apart, fresh ids, typed
 * errors), concurrency, and hostile input that must round-trip exactly.
 *
 * @example
 * ```ts
 * // my-store.test.ts, run by node --test (Vitest or Jest: pass their describe/it)
 * import { describe, it } from 'node:test';
 * import { describeTokenStoreConformance } from 'zoho-token-store/testing';
 * import { MyStore } from './my-store.js';
 *
 * describeTokenStoreConformance({ describe, it }, 'MyStore', { createStore: () => new MyStore() });
 * ```
 */
export function describeTokenStoreConformance(runner: TestRunner, name: string, options: ConformanceOptions): void {
  const newToken = options.newToken ?? ((fields: OAuthTokenFields) => new OAuthToken(fields));
  const largeLength = options.largeValueLength ?? 64 * 1024;
  const dispose = options.disposeStore ?? ((store) => (store as { close?: () => unknown }).close?.());
  const { describe, it } = runner;

  /** Runs a test body with a fresh store, disposing of it whatever happens. */
  const withStore =
    (body: (store: TokenStore<TokenLike>) => Promise<void>): (() => Promise<void>) =>
    async () => {
      const store = await options.createStore();
      try {
        await body(store);
      } finally {
        await dispose(store);
      }
    };

  const full = (n: number | string, extra: OAuthTokenFields = {}): TokenLike =>
    newToken({
      userName: `user${n}@zylker.com`,
      clientId: '1000.CLIENT',
      clientSecret: 'client-secret',
      redirectURL: 'https://portal.zylker.com/oauth/callback',
      refreshToken: `1000.refresh.${n}`,
      accessToken: `1000.access.${n}`,
      expiresIn: '1764000000000',
      apiDomain: 'https://www.zohoapis.com',
      ...extra,
    });

  const byId = async (store: TokenStore<TokenLike>, id: string | null) => {
    assert.ok(id, 'saveToken must set an id on the token');
    const found = await store.findTokenById(id);
    assert.ok(found, `findTokenById(${id}) found nothing`);
    return found;
  };

  const sameRecord = (actual: TokenLike, expected: TokenLike) =>
    assert.deepEqual(recordOf(actual, 'x'), recordOf(expected, 'x'));

  const assertStoreError = async (promise: Promise<unknown>, code: string) => {
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(isTokenStoreError(error), `expected a TokenStoreError, got ${String(error)}`);
      assert.equal(error.code, code);
      return true;
    });
  };

  describe(`${name}: TokenStore conformance`, () => {
    describe('an empty store', () => {
      it(
        'finds nothing and lists nothing',
        withStore(async (store) => {
          assert.deepEqual(await store.getTokens(), []);
          assert.equal(await store.findTokenById('1'), null);
          assert.equal(await store.findToken(newToken({ userName: 'nobody@zylker.com' })), null);
          assert.equal(await store.findToken(newToken({ accessToken: '1000.nothing' })), null);
        }),
      );

      it(
        'treats deleting an unknown id, or everything, as a no-op',
        withStore(async (store) => {
          await store.deleteToken('no-such-id');
          await store.deleteTokens();
          assert.deepEqual(await store.getTokens(), []);
        }),
      );
    });

    describe('saveToken and findTokenById', () => {
      it(
        'inserts with a fresh id set on the token, and returns every field',
        withStore(async (store) => {
          const token = full(1);
          await store.saveToken(token);
          const found = await byId(store, token.getId());
          sameRecord(found, token);
          assert.equal(found.getId(), token.getId());
        }),
      );

      it(
        'hands back tokens of the caller’s class from findTokenById and getTokens',
        withStore(async (store) => {
          const token = full(1);
          await store.saveToken(token);
          const proto = Object.getPrototypeOf(newToken({}));
          assert.equal(Object.getPrototypeOf(await byId(store, token.getId())), proto);
          const all = await store.getTokens();
          assert.equal(all.length, 1);
          assert.equal(Object.getPrototypeOf(all[0]), proto);
          sameRecord(all[0] as TokenLike, token);
        }),
      );

      it(
        'keeps the id the caller chose for a new token',
        withStore(async (store) => {
          await store.saveToken(full(1, { id: '42' }));
          assert.equal((await byId(store, '42')).getUserSignature()?.getName(), 'user1@zylker.com');
        }),
      );

      it(
        'gives concurrent inserts distinct ids and loses none',
        withStore(async (store) => {
          const tokens = Array.from({ length: 200 }, (_, i) => full(i));
          await Promise.all(tokens.map((token) => store.saveToken(token)));
          const ids = new Set(tokens.map((token) => token.getId()));
          assert.equal(ids.size, 200);
          assert.equal((await store.getTokens()).length, 200);
          for (const token of tokens.slice(0, 20)) sameRecord(await byId(store, token.getId()), token);
        }),
      );

      it(
        'stores an expiry of milliseconds since the epoch as the same string',
        withStore(async (store) => {
          const token = full(1, { expiresIn: '1764003600123' });
          await store.saveToken(token);
          assert.equal((await byId(store, token.getId())).getExpiresIn(), '1764003600123');
        }),
      );
    });

    describe('findToken matching order', () => {
      it(
        'matches by user name and fills in what the given token lacks, returning it',
        withStore(async (store) => {
          const stored = full(1);
          await store.saveToken(stored);
          const query = newToken({ userName: 'user1@zylker.com' });
          const found = await store.findToken(query);
          assert.equal(found, query);
          sameRecord(query, stored);
          assert.equal(query.getId(), stored.getId());
        }),
      );

      it(
        'keeps values the given token already has',
        withStore(async (store) => {
          await store.saveToken(full(1));
          const query = newToken({ userName: 'user1@zylker.com', accessToken: '1000.newer' });
          await store.findToken(query);
          assert.equal(query.getAccessToken(), '1000.newer');
          assert.equal(query.getRefreshToken(), '1000.refresh.1');
        }),
      );

      it(
        'matches by access token only when no client credentials are given',
        withStore(async (store) => {
          await store.saveToken(newToken({ accessToken: '1000.only', expiresIn: '1764000000000' }));
          const found = await store.findToken(newToken({ accessToken: '1000.only' }));
          assert.equal(found?.getExpiresIn(), '1764000000000');
          const withClient = newToken({ accessToken: '1000.only', clientId: 'c', clientSecret: 's' });
          assert.equal(await store.findToken(withClient), null);
        }),
      );

      it(
        'matches by grant token, then refresh token, only with client credentials',
        withStore(async (store) => {
          const byGrant = full('g', { userName: null, grantToken: '1000.grant', refreshToken: null });
          const byRefresh = full('r', { userName: null });
          await store.saveToken(byGrant);
          await store.saveToken(byRefresh);
          const both = newToken({
            clientId: '1000.CLIENT',
            clientSecret: 'client-secret',
            grantToken: '1000.grant',
            refreshToken: '1000.refresh.r',
          });
          assert.equal((await store.findToken(both))?.getId(), byGrant.getId());
          const refreshOnly = newToken({ clientId: '1000.CLIENT', clientSecret: 'x', refreshToken: '1000.refresh.r' });
          assert.equal((await store.findToken(refreshOnly))?.getId(), byRefresh.getId());
          // The article's find_token lost its parentheses and matched this; credentials are required.
          assert.equal(await store.findToken(newToken({ refreshToken: '1000.refresh.r' })), null);
          await store.saveToken(newToken({ accessToken: '1000.a', refreshToken: '1000.refresh.bare' }));
          assert.equal(await store.findToken(newToken({ refreshToken: '1000.refresh.bare' })), null);
        }),
      );

      it(
        'never matches a grant or refresh token of another client',
        withStore(async (store) => {
          await store.saveToken(full(1, { userName: null }));
          const otherClient = newToken({ clientId: '1000.OTHER', clientSecret: 's', refreshToken: '1000.refresh.1' });
          assert.equal(await store.findToken(otherClient), null);
        }),
      );

      it(
        'never hands one user another user’s row',
        withStore(async (store) => {
          await store.saveToken(full(1));
          const intruder = newToken({
            userName: 'user2@zylker.com',
            clientId: '1000.CLIENT',
            clientSecret: 'client-secret',
            refreshToken: '1000.refresh.1',
          });
          assert.equal(await store.findToken(intruder), null);
        }),
      );

      it(
        'finds a row saved before its user was known, by its refresh token',
        withStore(async (store) => {
          const anonymous = full(1, { userName: null });
          await store.saveToken(anonymous);
          const named = full(1);
          assert.equal((await store.findToken(named))?.getId(), anonymous.getId());
        }),
      );

      it(
        'does not let hostile lookup values match other rows',
        withStore(async (store) => {
          await store.saveToken(full(1));
          for (const value of HOSTILE_VALUES) {
            assert.equal(await store.findToken(newToken({ userName: value })), null);
            assert.equal(await store.findToken(newToken({ accessToken: value })), null);
            assert.equal(await store.findTokenById(value), null);
          }
        }),
      );
    });

    describe('saveToken upserts', () => {
      it(
        'updates the user’s row instead of adding one, keeping fields the new token leaves null',
        withStore(async (store) => {
          const first = full(1);
          await store.saveToken(first);
          const refreshed = newToken({ userName: 'user1@zylker.com', accessToken: '1000.access.new', expiresIn: '2' });
          await store.saveToken(refreshed);
          const all = await store.getTokens();
          assert.equal(all.length, 1);
          assert.equal(refreshed.getId(), first.getId());
          const row = await byId(store, first.getId());
          assert.equal(row.getAccessToken(), '1000.access.new');
          assert.equal(row.getExpiresIn(), '2');
          assert.equal(row.getRefreshToken(), '1000.refresh.1');
          assert.equal(row.getClientSecret(), 'client-secret');
        }),
      );

      it(
        'updates by access token, grant token and refresh token without duplicating',
        withStore(async (store) => {
          await store.saveToken(newToken({ accessToken: '1000.a', expiresIn: '1' }));
          await store.saveToken(newToken({ accessToken: '1000.a', expiresIn: '2' }));
          const grant = { clientId: '1000.C', clientSecret: 's', grantToken: '1000.g' };
          await store.saveToken(newToken({ ...grant, accessToken: '1000.b', refreshToken: '1000.r' }));
          await store.saveToken(newToken({ ...grant, accessToken: '1000.c' }));
          await store.saveToken(
            newToken({ clientId: '1000.C', clientSecret: 's', refreshToken: '1000.r', accessToken: '1000.d' }),
          );
          const all = await store.getTokens();
          assert.equal(all.length, 2);
          const byAccess = await store.findToken(newToken({ accessToken: '1000.a' }));
          assert.equal(byAccess?.getExpiresIn(), '2');
          const byGrant = await store.findToken(newToken(grant));
          assert.equal(byGrant?.getAccessToken(), '1000.d');
          assert.equal(byGrant?.getRefreshToken(), '1000.r');
        }),
      );

      it(
        'names a row saved before its user was known instead of adding a second row',
        withStore(async (store) => {
          await store.saveToken(full(1, { userName: null }));
          await store.saveToken(full(1));
          const all = await store.getTokens();
          assert.equal(all.length, 1);
          assert.equal(all[0]?.getUserSignature()?.getName(), 'user1@zylker.com');
        }),
      );

      it(
        'keeps many users apart',
        withStore(async (store) => {
          const users = Array.from({ length: 50 }, (_, i) => full(i));
          for (const token of users) await store.saveToken(token);
          for (const [i, token] of users.entries()) {
            await store.saveToken(newToken({ userName: `user${i}@zylker.com`, accessToken: `1000.second.${i}` }));
            assert.equal((await byId(store, token.getId())).getAccessToken(), `1000.second.${i}`);
          }
          assert.equal((await store.getTokens()).length, 50);
          const found = await store.findToken(newToken({ userName: 'user7@zylker.com' }));
          assert.equal(found?.getRefreshToken(), '1000.refresh.7');
        }),
      );

      it(
        'gives a user whose token reuses another user’s refresh token a row of their own',
        withStore(async (store) => {
          const owner = full(1);
          await store.saveToken(owner);
          await store.saveToken(full(2, { refreshToken: '1000.refresh.1' }));
          assert.equal((await store.getTokens()).length, 2);
          assert.equal((await byId(store, owner.getId())).getAccessToken(), '1000.access.1');
        }),
      );

      it(
        'keeps one row and every field under concurrent saves of one user',
        withStore(async (store) => {
          await store.saveToken(full(1));
          const user = 'user1@zylker.com';
          await Promise.all([
            ...Array.from({ length: 50 }, (_, i) =>
              store.saveToken(newToken({ userName: user, accessToken: `1000.c${i}` })),
            ),
            store.saveToken(newToken({ userName: user, apiDomain: 'https://www.zohoapis.eu' })),
            store.saveToken(newToken({ userName: user, refreshToken: '1000.refresh.rotated' })),
            store.saveToken(newToken({ userName: user, redirectURL: 'https://new.zylker.com/cb' })),
          ]);
          const all = await store.getTokens();
          assert.equal(all.length, 1);
          const [row] = all as [TokenLike];
          assert.match(row.getAccessToken() ?? '', /^1000\.c\d+$/);
          assert.equal(row.getAPIDomain(), 'https://www.zohoapis.eu');
          assert.equal(row.getRefreshToken(), '1000.refresh.rotated');
          assert.equal(row.getRedirectURL(), 'https://new.zylker.com/cb');
        }),
      );

      it(
        'inserts concurrent first saves of one user only once',
        withStore(async (store) => {
          await Promise.all(
            Array.from({ length: 50 }, (_, i) => store.saveToken(full(1, { accessToken: `1000.c${i}` }))),
          );
          assert.equal((await store.getTokens()).length, 1);
        }),
      );

      it(
        'refuses a token with nothing to store, writing nothing',
        withStore(async (store) => {
          await assertStoreError(
            store.saveToken(newToken({ userName: 'empty@zylker.com' })),
            TokenStoreErrorCode.NOTHING_TO_SAVE,
          );
          await assertStoreError(store.saveToken(newToken({ id: '7' })), TokenStoreErrorCode.NOTHING_TO_SAVE);
          assert.deepEqual(await store.getTokens(), []);
        }),
      );

      it(
        'refuses an id that belongs to another user’s row, changing nothing',
        withStore(async (store) => {
          const owner = full(1, { id: '100' });
          await store.saveToken(owner);
          await assertStoreError(store.saveToken(full(2, { id: '100' })), TokenStoreErrorCode.ID_CONFLICT);
          const all = await store.getTokens();
          assert.equal(all.length, 1);
          sameRecord(all[0] as TokenLike, owner);
        }),
      );
    });

    describe('deleting', () => {
      it(
        'deleteToken removes only that token',
        withStore(async (store) => {
          const [a, b] = [full(1), full(2)];
          await store.saveToken(a);
          await store.saveToken(b);
          await store.deleteToken(a.getId() as string);
          assert.equal(await store.findTokenById(a.getId() as string), null);
          assert.equal(await store.findToken(newToken({ userName: 'user1@zylker.com' })), null);
          assert.equal((await byId(store, b.getId())).getAccessToken(), '1000.access.2');
          await store.saveToken(full(1));
          assert.equal((await store.getTokens()).length, 2);
        }),
      );

      it(
        'deleteTokens removes every token',
        withStore(async (store) => {
          for (let i = 0; i < 10; i++) await store.saveToken(full(i));
          await store.deleteTokens();
          assert.deepEqual(await store.getTokens(), []);
          assert.equal(await store.findToken(newToken({ userName: 'user3@zylker.com' })), null);
        }),
      );
    });

    describe('hostile input round-trips exactly', () => {
      it(
        'quotes, SQL, commas, newlines, tabs and unicode in every field',
        withStore(async (store) => {
          const saved = HOSTILE_VALUES.map((value, i) =>
            newToken({
              userName: `${value}${i}`,
              clientId: value,
              clientSecret: value,
              redirectURL: value,
              refreshToken: `${value}r${i}`,
              accessToken: `${value}a${i}`,
              grantToken: `${value}g${i}`,
              expiresIn: String(1764000000000 + i),
              apiDomain: value,
            }),
          );
          for (const token of saved) await store.saveToken(token);
          assert.equal((await store.getTokens()).length, HOSTILE_VALUES.length);
          for (const [i, token] of saved.entries()) {
            sameRecord(await byId(store, token.getId()), token);
            const value = HOSTILE_VALUES[i];
            const found = await store.findToken(newToken({ userName: `${value}${i}` }));
            assert.ok(found);
            sameRecord(found, token);
            const byRefresh = await store.findToken(
              newToken({ clientId: value, clientSecret: value, refreshToken: `${value}r${i}` }),
            );
            assert.equal(byRefresh?.getId(), token.getId());
          }
        }),
      );

      it(
        `values of ${largeLength} characters`,
        withStore(async (store) => {
          const big = (c: string) => c.repeat(largeLength);
          const token = full(1, {
            accessToken: big('a'),
            refreshToken: big('r'),
            clientSecret: big('é'),
            apiDomain: big(','),
          });
          await store.saveToken(token);
          sameRecord(await byId(store, token.getId()), token);
          const found = await store.findToken(
            newToken({ clientId: '1000.CLIENT', clientSecret: 'x', refreshToken: big('r') }),
          );
          assert.equal(found?.getAccessToken()?.length, largeLength);
        }),
      );

      it(
        'empty strings and nulls stay what they were',
        withStore(async (store) => {
          const token = full(1, { redirectURL: '', apiDomain: null, grantToken: '', expiresIn: null });
          await store.saveToken(token);
          const found = await byId(store, token.getId());
          assert.equal(found.getRedirectURL(), '');
          assert.equal(found.getAPIDomain(), null);
          assert.equal(found.getGrantToken(), '');
          assert.equal(found.getExpiresIn(), null);
        }),
      );
    });

    describe('bad arguments', () => {
      it(
        'rejects a non-token with a typed error',
        withStore(async (store) => {
          for (const bad of [null, undefined, 'token', 42, {}, { getAccessToken: () => 'x' }]) {
            await assertStoreError(store.findToken(bad as never), TokenStoreErrorCode.INVALID_TOKEN);
            await assertStoreError(store.saveToken(bad as never), TokenStoreErrorCode.INVALID_TOKEN);
          }
        }),
      );

      it(
        'rejects an id that is not a non-empty string',
        withStore(async (store) => {
          for (const bad of ['', null, 42, {}]) {
            await assertStoreError(store.findTokenById(bad as never), TokenStoreErrorCode.INVALID_ID);
            await assertStoreError(store.deleteToken(bad as never), TokenStoreErrorCode.INVALID_ID);
          }
        }),
      );
    });
  });
}
