import assert from 'node:assert/strict';
import { isTokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { type ConditionalSave, hasConditionalSave } from '../store/conditional-save.js';
import { type ActivityTracking, hasActivityTracking, type TokenActivity } from '../store/token-activity.js';
import type { TokenStore } from '../store/token-store.js';
import { OAuthToken, type OAuthTokenFields, type TokenLike } from '../token/oauth-token.js';
import { recordOf } from '../token/token-record.js';

/**
 * The `describe`/`it` pair of any test runner: node:test, Vitest, Jest, Mocha. Runners that pass
 * a test context with `skip(reason)` (node:test, Vitest) show why a group does not apply.
 */
export interface TestRunner {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: (context?: SkippableContext) => Promise<void>): unknown;
}

/** The part of a test context the suite uses to skip a test with a visible reason. */
export interface SkippableContext {
  skip?(reason?: string): void;
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
  /**
   * A second store on the same storage as `store` (the same file, table or key prefix), as another
   * process would open it. Given, the activity group checks that activity outlives the instance
   * that recorded it; omit it for stores that keep nothing beyond one instance.
   */
  reopenStore?(store: TokenStore<TokenLike>): TokenStore<TokenLike> | Promise<TokenStore<TokenLike>>;
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
 * errors), concurrency, hostile input that must round-trip exactly, values no store keeps (a
 * NUL, a lone surrogate) that must be refused without failing other callers, and token activity, bulk
 * `saveTokens` and paged reads (`getTokensPage`, `countTokens`) for stores that offer them
 * (skipped, with the reason shown, for stores that do not).
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

  /**
   * Like `withStore`, for a group that needs more than the TokenStore contract: skipped, with the
   * reason shown, when the store lacks it (the factory's store is only known once a test runs).
   */
  const withStoreThat =
    <S extends TokenStore<TokenLike>>(has: (store: TokenStore<TokenLike>) => store is S, lacking: string) =>
    (body: (store: S, context?: SkippableContext) => Promise<void>): ((context?: SkippableContext) => Promise<void>) =>
    async (context) => {
      const store = await options.createStore();
      try {
        if (!has(store)) {
          context?.skip?.(`${name} ${lacking}`);
          return;
        }
        await body(store, context);
      } finally {
        await dispose(store);
      }
    };
  type TrackingStore = TokenStore<TokenLike> & ActivityTracking;
  const withTrackingStore = withStoreThat(
    (store): store is TrackingStore => hasActivityTracking(store),
    'does not track token activity (hasActivityTracking is false)',
  );
  type PagedStore = TokenStore<TokenLike> & {
    getTokensPage(after: string | null, limit: number): Promise<TokenLike[]>;
    countTokens(): Promise<number>;
  };
  const withPagedStore = withStoreThat(
    (store): store is PagedStore =>
      typeof (store as Partial<PagedStore>).getTokensPage === 'function' &&
      typeof (store as Partial<PagedStore>).countTokens === 'function',
    'has no paged reads (getTokensPage and countTokens)',
  );
  /** Every page of a walk from the start, `limit` tokens at a time, up to the empty page that ends it. */
  const walk = async (store: PagedStore, limit: number): Promise<TokenLike[][]> => {
    const pages: TokenLike[][] = [];
    for (let after: string | null = null; ; ) {
      const page = await store.getTokensPage(after, limit);
      if (page.length === 0) return pages;
      pages.push(page);
      after = page.at(-1)?.getId() ?? null;
      assert.ok(pages.length <= 1000, 'the walk does not end');
    }
  };
  type BulkStore = TokenStore<TokenLike> & { saveTokens(tokens: readonly TokenLike[]): Promise<void> };
  const withBulkStore = withStoreThat(
    (store): store is BulkStore => typeof (store as Partial<BulkStore>).saveTokens === 'function',
    'has no saveTokens',
  );

  const activityOf = async (store: ActivityTracking, id: string | null): Promise<Omit<TokenActivity, 'id'>> => {
    const entry = (await store.getActivity()).find((a) => a.id === id);
    return { lastUsedAt: entry?.lastUsedAt ?? null, revokedAt: entry?.revokedAt ?? null };
  };
  const NO_ACTIVITY = { lastUsedAt: null, revokedAt: null };

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

    describe('one user across SDKs: email and email:zgid', () => {
      // The official SDK 8.0 names a user `email:zgid`; a plain email names the same user.
      const ANA = 'ana@zylker.com';
      it(
        'finds the one email:zgid row of a plain email, and no row of a like email',
        withStore(async (store) => {
          // Names that sort next to ANA's range, or contain it, belong to others.
          await store.saveToken(full(2, { userName: 'ana@zylker.co:700001234' }));
          await store.saveToken(full(3, { userName: `x${ANA}:700001234` }));
          await store.saveToken(full(4, { userName: `${ANA}.uk:700001234` }));
          assert.equal(await store.findToken(newToken({ userName: ANA })), null);
          const sdkRow = full(1, { userName: `${ANA}:700001234` });
          await store.saveToken(sdkRow);
          const query = newToken({ userName: ANA });
          assert.equal(await store.findToken(query), query);
          assert.equal(query.getId(), sdkRow.getId());
          assert.equal(query.getRefreshToken(), '1000.refresh.1');
          assert.equal((await store.getTokens()).length, 4);
        }),
      );

      it(
        'updates the email:zgid row when a plain email is saved, keeping its name',
        withStore(async (store) => {
          const sdkRow = full(1, { userName: `${ANA}:700001234` });
          await store.saveToken(sdkRow);
          const ours = newToken({ userName: ANA, accessToken: '1000.newer', expiresIn: '1765000000000' });
          await store.saveToken(ours);
          assert.equal(ours.getId(), sdkRow.getId());
          const tokens = await store.getTokens();
          assert.equal(tokens.length, 1);
          assert.equal(tokens[0]?.getUserSignature()?.getName(), `${ANA}:700001234`);
          assert.equal(tokens[0]?.getAccessToken(), '1000.newer');
          assert.equal(tokens[0]?.getRefreshToken(), '1000.refresh.1');
        }),
      );

      it(
        'an email:zgid token takes over the row of its plain email',
        withStore(async (store) => {
          const plain = full(1, { userName: ANA });
          await store.saveToken(plain);
          const query = newToken({ userName: `${ANA}:700001234` });
          await store.findToken(query);
          assert.equal(query.getId(), plain.getId());
          await store.saveToken(newToken({ userName: `${ANA}:700001234`, accessToken: '1000.sdk' }));
          const tokens = await store.getTokens();
          assert.equal(tokens.length, 1);
          assert.equal(tokens[0]?.getUserSignature()?.getName(), `${ANA}:700001234`);
          // Another org's name is another user.
          assert.equal(await store.findToken(newToken({ userName: `${ANA}:700005678` })), null);
        }),
      );

      it(
        'fails with AMBIGUOUS_USER when a plain email has rows in several orgs and nothing else decides',
        withStore(async (store) => {
          const first = full(1, { userName: `${ANA}:700001234` });
          await store.saveToken(first);
          await store.saveToken(full(2, { userName: `${ANA}:700005678` }));
          await assertStoreError(store.findToken(newToken({ userName: ANA })), TokenStoreErrorCode.AMBIGUOUS_USER);
          await assertStoreError(
            store.saveToken(newToken({ userName: ANA, accessToken: '1000.which' })),
            TokenStoreErrorCode.AMBIGUOUS_USER,
          );
          assert.equal((await store.getTokens()).length, 2, 'nothing written');
          // Its refresh token (with the client) or id decides.
          const byRefresh = full(1, { userName: ANA, accessToken: null, expiresIn: null, apiDomain: null });
          await store.findToken(byRefresh);
          assert.equal(byRefresh.getId(), first.getId());
          const byId = newToken({ userName: ANA, id: first.getId() });
          await store.findToken(byId);
          assert.equal(byId.getAccessToken(), '1000.access.1');
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
        'fails only the concurrent saves that cannot be written, each with its own error',
        withStore(async (store) => {
          const owner = full(1, { id: '100' });
          await store.saveToken(owner);
          const burst = (tokens: TokenLike[]) => Promise.allSettled(tokens.map((token) => store.saveToken(token)));
          const empty = () => newToken({ userName: 'empty@zylker.com' });
          const thief = () => full(9, { id: '100' });
          const outcomes = await burst([full(2), empty(), full(3), thief(), full(4)]);
          // Some stores write the saves that queue behind another as one group: also one of failures only.
          const allFailing = await burst([full(5), empty(), thief()]);
          const codes = [...outcomes, ...allFailing].map((result) =>
            result.status === 'fulfilled' ? 'saved' : (result.reason as { code?: string }).code,
          );
          assert.deepEqual(codes, [
            'saved',
            TokenStoreErrorCode.NOTHING_TO_SAVE,
            'saved',
            TokenStoreErrorCode.ID_CONFLICT,
            'saved',
            'saved',
            TokenStoreErrorCode.NOTHING_TO_SAVE,
            TokenStoreErrorCode.ID_CONFLICT,
          ]);
          const names = (await store.getTokens()).map((token) => token.getUserSignature()?.getName());
          assert.deepEqual(
            names.sort(),
            [1, 2, 3, 4, 5].map((n) => `user${n}@zylker.com`),
          );
          sameRecord(await byId(store, '100'), owner);
        }),
      );

      it(
        'finishes the saves already called when close() follows at once',
        withStore(async (store) => {
          const tokens = [full(1), full(2), full(3)];
          const saving = Promise.allSettled(tokens.map((token) => store.saveToken(token)));
          await dispose(store);
          const outcomes = await saving;
          assert.deepEqual(
            outcomes.map((result) => (result.status === 'fulfilled' ? 'saved' : String(result.reason))),
            ['saved', 'saved', 'saved'],
          );
          if (!options.reopenStore) return;
          const again = await options.reopenStore(store);
          try {
            const names = (await again.getTokens()).map((token) => token.getUserSignature()?.getName());
            assert.deepEqual(
              names.sort(),
              [1, 2, 3].map((n) => `user${n}@zylker.com`),
            );
          } finally {
            await dispose(again);
          }
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

    describe('activity', () => {
      it(
        'records and reads use and revocation per token',
        withTrackingStore(async (store) => {
          const [a, b, c] = [full(1), full(2), full(3)];
          for (const token of [a, b, c]) await store.saveToken(token);
          await store.recordUse(a.getId() as string, 1_764_000_000_000);
          await store.recordRevoked(b.getId() as string, 1_764_000_100_000);
          await store.recordUse(b.getId() as string, 1_764_000_050_000);
          assert.deepEqual(await activityOf(store, a.getId()), { lastUsedAt: 1_764_000_000_000, revokedAt: null });
          assert.deepEqual(await activityOf(store, b.getId()), {
            lastUsedAt: 1_764_000_050_000,
            revokedAt: 1_764_000_100_000,
          });
          assert.deepEqual(await activityOf(store, c.getId()), NO_ACTIVITY);
          const listed = (await store.getActivity()).map((entry) => entry.id).sort();
          assert.deepEqual(listed, [a.getId(), b.getId()].sort(), 'one entry per token with activity');
        }),
      );

      it(
        'keeps the later time of each event, whatever order the calls arrive in',
        withTrackingStore(async (store) => {
          const token = full(1);
          await store.saveToken(token);
          const id = token.getId() as string;
          await store.recordUse(id, 2_000);
          await store.recordUse(id, 1_000);
          await store.recordRevoked(id, 5_000);
          await store.recordRevoked(id, 4_000);
          assert.deepEqual(await activityOf(store, id), { lastUsedAt: 2_000, revokedAt: 5_000 });
          await store.recordUse(id, 3_000);
          await store.recordRevoked(id, 6_000);
          assert.deepEqual(await activityOf(store, id), { lastUsedAt: 3_000, revokedAt: 6_000 });
        }),
      );

      it(
        'ignores an id no token has, even once a token takes that id',
        withTrackingStore(async (store) => {
          await store.recordUse('4242424242', 1_000);
          await store.recordRevoked('4242424242', 1_000);
          assert.deepEqual(await store.getActivity(), []);
          await store.saveToken(full(1, { id: '4242424242' }));
          assert.deepEqual(await activityOf(store, '4242424242'), NO_ACTIVITY);
        }),
      );

      it(
        'keeps a token’s activity when it is saved again',
        withTrackingStore(async (store) => {
          const token = full(1);
          await store.saveToken(token);
          await store.recordUse(token.getId() as string, 1_000);
          await store.recordRevoked(token.getId() as string, 2_000);
          await store.saveToken(newToken({ userName: 'user1@zylker.com', accessToken: '1000.access.new' }));
          await store.saveToken(full(1, { id: token.getId(), refreshToken: '1000.refresh.new' }));
          assert.deepEqual(await activityOf(store, token.getId()), { lastUsedAt: 1_000, revokedAt: 2_000 });
        }),
      );

      it(
        'deleteToken removes that token’s activity only',
        withTrackingStore(async (store) => {
          const [a, b] = [full(1), full(2)];
          for (const token of [a, b]) {
            await store.saveToken(token);
            await store.recordUse(token.getId() as string, 1_000);
            await store.recordRevoked(token.getId() as string, 2_000);
          }
          await store.deleteToken(a.getId() as string);
          assert.deepEqual(
            (await store.getActivity()).map((entry) => entry.id),
            [b.getId()],
          );
          // A new token given the deleted id starts with no activity.
          await store.saveToken(full(3, { id: a.getId() }));
          assert.deepEqual(await activityOf(store, a.getId()), NO_ACTIVITY);
          assert.deepEqual(await activityOf(store, b.getId()), { lastUsedAt: 1_000, revokedAt: 2_000 });
        }),
      );

      it(
        'deleteTokens removes all activity',
        withTrackingStore(async (store) => {
          const tokens = Array.from({ length: 5 }, (_, i) => full(i));
          for (const token of tokens) {
            await store.saveToken(token);
            await store.recordUse(token.getId() as string, 1_000 + Number(token.getId()?.length));
          }
          await store.deleteTokens();
          assert.deepEqual(await store.getActivity(), []);
          const again = full(0, { id: tokens[0]?.getId() });
          await store.saveToken(again);
          assert.deepEqual(await activityOf(store, again.getId()), NO_ACTIVITY);
        }),
      );

      it(
        'keeps the latest of many concurrent uses of one token, apart from other tokens',
        withTrackingStore(async (store) => {
          const [a, b] = [full(1), full(2)];
          for (const token of [a, b]) await store.saveToken(token);
          const times = Array.from({ length: 40 }, (_, i) => 1_764_000_000_000 + ((i * 7919) % 40) * 1_000);
          await Promise.all(times.map((at) => store.recordUse(a.getId() as string, at)));
          await store.recordUse(b.getId() as string, 5);
          assert.deepEqual(await activityOf(store, a.getId()), { lastUsedAt: Math.max(...times), revokedAt: null });
          assert.deepEqual(await activityOf(store, b.getId()), { lastUsedAt: 5, revokedAt: null });
        }),
      );

      it(
        'outlives the store instance that recorded it',
        withTrackingStore(async (store, context) => {
          if (!options.reopenStore) {
            context?.skip?.(`${name}: no reopenStore option, so nothing to reopen`);
            return;
          }
          const token = full(1);
          await store.saveToken(token);
          await store.recordUse(token.getId() as string, 1_000);
          await store.recordRevoked(token.getId() as string, 2_000);
          const again = await options.reopenStore(store);
          try {
            assert.ok(hasActivityTracking(again), 'the reopened store tracks activity too');
            assert.deepEqual(await activityOf(again, token.getId()), { lastUsedAt: 1_000, revokedAt: 2_000 });
            await again.recordUse(token.getId() as string, 3_000);
            assert.deepEqual(await activityOf(store, token.getId()), { lastUsedAt: 3_000, revokedAt: 2_000 });
          } finally {
            await dispose(again);
          }
        }),
      );

      it(
        'rejects an id that is not a non-empty string with a typed error',
        withTrackingStore(async (store) => {
          for (const bad of ['', null, 42]) {
            await assertStoreError(store.recordUse(bad as never, 1_000), TokenStoreErrorCode.INVALID_ID);
            await assertStoreError(store.recordRevoked(bad as never, 1_000), TokenStoreErrorCode.INVALID_ID);
          }
        }),
      );
    });

    describe('saveTokenIfUnchanged (stores that offer it)', () => {
      const withConditionalStore = withStoreThat(
        (store): store is TokenStore<TokenLike> & ConditionalSave => hasConditionalSave(store),
        'has no saveTokenIfUnchanged',
      );
      it(
        'saves into the row read while it is unchanged, and writes nothing once it changed or is gone',
        withConditionalStore(async (store) => {
          await store.saveToken(full(1));
          const id = (await store.findToken(newToken({ userName: 'user1@zylker.com' })))?.getId() ?? null;
          const read = await byId(store, id);
          const renewal = (n: string) => newToken({ id, accessToken: `1000.access.${n}`, expiresIn: '1764000009999' });
          await store.saveTokenIfUnchanged(renewal('first'), read);
          const first = await byId(store, id);
          assert.equal(first.getAccessToken(), '1000.access.first');
          assert.equal(first.getRefreshToken(), '1000.refresh.1', 'fields the renewal leaves null are kept');

          // A late save that read the row before the first one landed changes nothing.
          await assertStoreError(store.saveTokenIfUnchanged(renewal('late'), read), TokenStoreErrorCode.TOKEN_CHANGED);
          sameRecord(await byId(store, id), first);
          await store.saveTokenIfUnchanged(renewal('second'), first);
          assert.equal((await byId(store, id)).getAccessToken(), '1000.access.second');

          const last = await byId(store, id);
          await store.deleteToken(id as string);
          await assertStoreError(store.saveTokenIfUnchanged(renewal('gone'), last), TokenStoreErrorCode.TOKEN_CHANGED);
          assert.deepEqual(await store.getTokens(), [], 'a deleted row is not brought back');
        }),
      );
    });

    describe('saveTokens (stores that offer it)', () => {
      it(
        'gives the same rows and ids as saveToken on each in order, tokens of one call matching each other',
        withBulkStore(async (bulk) => {
          const seed = () => [
            full(1),
            full(2, { userName: null }),
            newToken({ accessToken: '1000.lonely', expiresIn: '1' }),
          ];
          const batch = () => [
            newToken({ userName: 'user1@zylker.com', accessToken: '1000.access.1b' }),
            full(2),
            full(3),
            newToken({ userName: 'user3@zylker.com', apiDomain: 'https://www.zohoapis.eu' }),
            full(4, { id: '4444' }),
            newToken({ id: '4444', accessToken: '1000.access.4b' }),
            newToken({ accessToken: '1000.lonely', expiresIn: '2' }),
            full(5, { userName: null }),
            full(5, { accessToken: '1000.access.5b' }),
            full(6, { refreshToken: '1000.refresh.1' }),
          ];
          const sequential = await options.createStore();
          try {
            const results = [];
            for (const [store, save] of [
              [bulk, (tokens: TokenLike[]) => bulk.saveTokens(tokens)],
              [
                sequential,
                async (tokens: TokenLike[]) => {
                  for (const token of tokens) await sequential.saveToken(token);
                },
              ],
            ] as const) {
              const seeded = seed();
              for (const token of seeded) await store.saveToken(token);
              const saved = batch();
              await save(saved);
              // Ids as "the first token that got it", so fresh random ids compare equal.
              const all = [...seeded, ...saved];
              const order = (id: string | null) => all.findIndex((token) => token.getId() === id);
              const rows = (await store.getTokens())
                .map((row) => JSON.stringify({ ...recordOf(row, 'x'), id: order(row.getId()) }))
                .sort();
              results.push({ ids: saved.map((token) => order(token.getId())), rows });
            }
            assert.deepEqual(results[0], results[1]);
            assert.equal(results[0]?.rows.length, 7);
          } finally {
            await dispose(sequential);
          }
        }),
      );

      it(
        'writes nothing of a call when one of its tokens cannot be saved',
        withBulkStore(async (store) => {
          const owner = full(1, { id: '100' });
          await store.saveToken(owner);
          const refused = [
            [[full(2), full(3), newToken({ userName: 'empty@zylker.com' })], TokenStoreErrorCode.NOTHING_TO_SAVE],
            [
              [full(4), full(1, { accessToken: '1000.changed' }), full(5, { id: '100' })],
              TokenStoreErrorCode.ID_CONFLICT,
            ],
            [[full(6), 'not a token'], TokenStoreErrorCode.INVALID_TOKEN],
          ] as const;
          for (const [tokens, code] of refused) {
            await assertStoreError(store.saveTokens(tokens as unknown as TokenLike[]), code);
          }
          const all = await store.getTokens();
          assert.equal(all.length, 1);
          sameRecord(all[0] as TokenLike, owner);
          assert.equal(await store.findToken(newToken({ userName: 'user2@zylker.com' })), null);
        }),
      );

      it(
        'writes each user once when calls sharing users run concurrently, with saveToken too',
        withBulkStore(async (store) => {
          const calls = ['a', 'b', 'c'].map((tag) =>
            Array.from({ length: 40 }, (_, i) => full(i, { accessToken: `1000.access.${tag}.${i}` })),
          );
          await Promise.all([
            ...calls.map((tokens) => store.saveTokens(tokens)),
            ...Array.from({ length: 10 }, (_, i) =>
              store.saveToken(newToken({ userName: `user${i * 4}@zylker.com`, accessToken: `1000.access.d.${i}` })),
            ),
          ]);
          const all = await store.getTokens();
          assert.equal(all.length, 40);
          assert.equal(new Set(all.map((token) => token.getUserSignature()?.getName())).size, 40);
          // Every call's token of a user got that user's one id.
          for (let i = 0; i < 40; i++) {
            const ids = new Set(calls.map((tokens) => tokens[i]?.getId()));
            assert.equal(ids.size, 1, `user${i} got ${ids.size} ids`);
          }
        }),
      );

      it(
        'saves calls larger than one batch without duplicates, and an empty call as a no-op',
        withBulkStore(async (store) => {
          await store.saveTokens([]);
          assert.deepEqual(await store.getTokens(), []);
          const tokens = Array.from({ length: 2100 }, (_, i) =>
            i < 2000 ? full(i) : newToken({ userName: `user${i - 1990}@zylker.com`, accessToken: `1000.again.${i}` }),
          );
          await store.saveTokens(tokens);
          assert.equal((await store.getTokens()).length, 2000);
          assert.equal(new Set(tokens.slice(0, 2000).map((token) => token.getId())).size, 2000);
          assert.equal(tokens[2050]?.getId(), tokens[60]?.getId());
          const found = await store.findToken(newToken({ userName: 'user60@zylker.com' }));
          assert.equal(found?.getAccessToken(), '1000.again.2050');
          assert.equal(found?.getRefreshToken(), '1000.refresh.60');
          sameRecord(await byId(store, tokens[1999]?.getId() ?? null), tokens[1999] as TokenLike);
        }),
      );
    });

    describe('paged reads (stores that offer them)', () => {
      it(
        'walks every token once, in id order, in pages of at most the limit; countTokens agrees',
        withPagedStore(async (store) => {
          assert.deepEqual(await store.getTokensPage(null, 10), []);
          assert.equal(await store.countTokens(), 0);
          // Fresh ids are ten digits, which every collation orders as JavaScript does.
          const saved = Array.from({ length: 25 }, (_, i) => full(i));
          for (const token of saved) await store.saveToken(token);
          const all = await store.getTokens();

          const pages = await walk(store, 7);
          assert.deepEqual(
            pages.map((page) => page.length),
            [7, 7, 7, 4],
          );
          const walked = pages.flat();
          const ids = walked.map((token) => token.getId() as string);
          assert.deepEqual(ids, [...ids].sort(), 'in id order');
          assert.equal(new Set(ids).size, 25, 'each token once');
          assert.deepEqual([...ids].sort(), all.map((token) => token.getId()).sort(), 'the same tokens as getTokens');
          for (const token of walked) {
            assert.equal(token.constructor, all[0]?.constructor, 'tokens of the class getTokens gives');
            sameRecord(token, saved.find((s) => s.getId() === token.getId()) as TokenLike);
          }
          assert.deepEqual(await store.getTokensPage(ids.at(-1) as string, 7), [], 'nothing after the last id');
          assert.deepEqual(
            (await store.getTokensPage(null, 100)).map((token) => token.getId()),
            ids,
            'one page when the limit allows',
          );
          assert.equal(await store.countTokens(), 25);
        }),
      );

      it(
        'continues after an id that is not stored, so a walk survives the deletion of a page end',
        withPagedStore(async (store) => {
          for (let i = 0; i < 10; i++) await store.saveToken(full(i));
          const ids = (await walk(store, 10)).flat().map((token) => token.getId() as string);
          const [first] = await walk(store, 4);
          const end = first?.at(-1)?.getId() as string;
          assert.equal(end, ids[3]);
          await store.deleteToken(end);
          const next = await store.getTokensPage(end, 4);
          assert.deepEqual(
            next.map((token) => token.getId()),
            ids.slice(4, 8),
          );
          assert.deepEqual(
            (await store.getTokensPage('0', 3)).map((token) => token.getId()),
            ids.slice(0, 3),
            'after an id below every stored one',
          );
          assert.deepEqual(await store.getTokensPage('zzzz', 3), [], 'after an id above every stored one');
          assert.equal(await store.countTokens(), 9);
        }),
      );

      it(
        'sees saves and deletions made after a walk started, on pages not yet read',
        withPagedStore(async (store) => {
          const tokens = Array.from({ length: 6 }, (_, i) => full(i));
          for (const token of tokens) await store.saveToken(token);
          const ids = (await walk(store, 6)).flat().map((token) => token.getId() as string);
          const [first] = await walk(store, 2);
          await store.deleteToken(ids[4] as string);
          const changed = full(999, { id: ids[5] as string, userName: null, accessToken: '1000.access.changed' });
          await store.saveToken(changed);
          const rest = (await store.getTokensPage(first?.at(-1)?.getId() as string, 10)).map((token) => [
            token.getId(),
            token.getAccessToken(),
          ]);
          const stored = (id: string) => tokens.find((token) => token.getId() === id)?.getAccessToken();
          assert.deepEqual(rest, [
            [ids[2], stored(ids[2] as string)],
            [ids[3], stored(ids[3] as string)],
            [ids[5], '1000.access.changed'],
          ]);
        }),
      );

      it(
        'rejects an id that is neither null nor a non-empty string, and a limit that is not a positive integer',
        withPagedStore(async (store) => {
          await store.saveToken(full(1));
          for (const bad of ['', 42, {}, undefined]) {
            await assertStoreError(store.getTokensPage(bad as never, 5), TokenStoreErrorCode.INVALID_ID);
          }
          for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '5', null]) {
            await assert.rejects(store.getTokensPage(null, bad as never), TypeError, `limit ${String(bad)}`);
          }
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

    describe('values no store keeps: a NUL, a lone UTF-16 surrogate', () => {
      // A server refuses a NUL (PostgreSQL) or silently changes a lone surrogate (UTF-8 encoding).
      const secret = 'secret-value';
      const BAD = [`${secret}\u0000`, `${secret}\uD800x`, `${secret}\uDC00`, `\uDBFF${secret}`];
      const FIELDS = [
        'id',
        'userName',
        'clientId',
        'clientSecret',
        'refreshToken',
        'accessToken',
        'grantToken',
        'expiresIn',
        'redirectURL',
        'apiDomain',
      ] as const;
      const refused = (code: string) => (error: unknown) => {
        assert.ok(isTokenStoreError(error), `expected a TokenStoreError, got ${String(error)}`);
        assert.equal(error.code, code);
        assert.ok(!error.message.includes(secret), 'the message names the field, never the value');
        return true;
      };
      const byRefresh = (refreshToken: string) =>
        newToken({ clientId: '1000.CLIENT', clientSecret: 'client-secret', refreshToken });

      it(
        'refuses them in every field of a token with INVALID_TOKEN, storing nothing',
        withStore(async (store) => {
          for (const field of FIELDS) {
            for (const bad of BAD) {
              const where = `${field} ${JSON.stringify(bad)}`;
              await assert.rejects(store.saveToken(full(1, { [field]: bad })), refused('INVALID_TOKEN'), where);
              await assert.rejects(store.findToken(full(1, { [field]: bad })), refused('INVALID_TOKEN'), where);
            }
          }
          assert.deepEqual(await store.getTokens(), []);
        }),
      );

      it(
        'refuses them in an id argument with INVALID_ID',
        withStore(async (store) => {
          await store.saveToken(full(1));
          const paged = store as Partial<PagedStore>;
          for (const bad of BAD) {
            await assert.rejects(store.findTokenById(bad), refused('INVALID_ID'));
            await assert.rejects(store.deleteToken(bad), refused('INVALID_ID'));
            if (paged.getTokensPage) await assert.rejects(paged.getTokensPage(bad, 5), refused('INVALID_ID'));
          }
          assert.equal((await store.getTokens()).length, 1);
        }),
      );

      it(
        'fails only the call that carries one: concurrent saves and lookups of others succeed',
        withStore(async (store) => {
          const [one, two] = [full(1), full(2)];
          await store.saveToken(one);
          const saves = await Promise.allSettled([
            store.saveToken(two),
            store.saveToken(full(3, { refreshToken: BAD[0] })),
            store.saveToken(full(4)),
            store.saveToken(full(5, { userName: BAD[1] })),
          ]);
          assert.deepEqual(
            saves.map((result) => result.status),
            ['fulfilled', 'rejected', 'fulfilled', 'rejected'],
          );
          for (const result of saves) if (result.status === 'rejected') refused('INVALID_TOKEN')(result.reason);
          const outcome = (result: PromiseSettledResult<TokenLike | null>) =>
            result.status === 'fulfilled' ? (result.value?.getAccessToken() ?? null) : 'rejected';
          // Lookups of one column, as a store that batches them would send together.
          const asked = ['1000.refresh.1', BAD[0] as string, '1000.refresh.2', BAD[2] as string, '1000.refresh.4'];
          const found = await Promise.allSettled(asked.map((refresh) => store.findToken(byRefresh(refresh))));
          assert.deepEqual(found.map(outcome), [
            '1000.access.1',
            'rejected',
            '1000.access.2',
            'rejected',
            '1000.access.4',
          ]);
          for (const result of found) if (result.status === 'rejected') refused('INVALID_TOKEN')(result.reason);
          const ids = [one.getId(), BAD[3], two.getId()] as string[];
          const byIds = await Promise.allSettled(ids.map((id) => store.findTokenById(id)));
          assert.deepEqual(byIds.map(outcome), ['1000.access.1', 'rejected', '1000.access.2']);
          assert.equal((await store.getTokens()).length, 3);
        }),
      );

      it(
        'fails a saveTokens call that carries one, writing nothing of it',
        withBulkStore(async (store) => {
          await store.saveToken(full(1));
          for (const bad of BAD) {
            await assert.rejects(
              store.saveTokens([full(2), full(3, { clientSecret: bad }), full(4)]),
              refused('INVALID_TOKEN'),
            );
          }
          assert.equal((await store.getTokens()).length, 1);
          assert.equal(await store.findToken(newToken({ userName: 'user2@zylker.com' })), null);
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
