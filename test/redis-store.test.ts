import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { OAuthToken } from 'zoho-token-store';
import { RedisStore } from 'zoho-token-store/stores/redis';
import { REDIS_URL, serverAnswers } from './fixtures/test-stores.js';

describe('RedisStore at size', () => {
  let skip = false;
  before(async () => {
    if (await serverAnswers('redis')) return;
    if (process.env.CI === 'true') throw new Error('redis does not answer');
    console.warn('\n*** redis does not answer: skipping RedisStore size tests ***\n');
    skip = true;
  });
  const prefix = `test:clear:${process.pid}:`;
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  after(() => redis.disconnect());

  it('deleteTokens clears more tokens (and their activity) than one batch, leaving no key behind', async (t) => {
    if (skip) return t.skip('redis does not answer');
    const store = new RedisStore({ url: REDIS_URL, prefix });
    const saves = Array.from({ length: 1_200 }, (_, i) =>
      store.saveToken(new OAuthToken({ userName: `u${i}@zylker.com`, accessToken: `a${i}`, refreshToken: `r${i}` })),
    );
    await Promise.all(saves);
    assert.equal((await store.getTokens()).length, 1_200);
    const ids = (await store.getTokens()).map((token) => token.getId() as string);
    await Promise.all(ids.slice(0, 700).map((id, i) => store.recordUse(id, 1_000 + i)));
    await Promise.all(ids.slice(500).map((id) => store.recordRevoked(id, 5_000)));
    assert.equal((await store.getActivity()).length, 1_200);
    await store.deleteTokens();
    assert.deepEqual(await store.getActivity(), []);
    assert.deepEqual(await store.getTokens(), []);
    assert.equal(await store.findToken(new OAuthToken({ userName: 'u7@zylker.com' })), null);
    assert.deepEqual(await redis.keys(`${prefix}*`), []);
    await store.close();
  });

  // Issue #13, item 4: a token in a key name shows in KEYS, SCAN, SLOWLOG and keyspace events.
  it('names no key by a token value, a user name or a client secret', async (t) => {
    if (skip) return t.skip('redis does not answer');
    const own = `test:names:${process.pid}:`;
    const store = new RedisStore({ url: REDIS_URL, prefix: own });
    const token = new OAuthToken({
      userName: 'keyname@zylker.com',
      clientId: '1000.CLIENT',
      clientSecret: 'SECRETclient',
      grantToken: '1000.SECRETgrant',
      refreshToken: '1000.SECRETrefresh',
      accessToken: '1000.SECRETaccess',
    });
    await store.saveToken(token);
    const found = await store.findToken(
      new OAuthToken({ clientId: '1000.CLIENT', clientSecret: 'x', refreshToken: '1000.SECRETrefresh' }),
    );
    assert.equal(found?.getId(), token.getId());
    const names = (await redis.keys(`${own}*`)).join('\n');
    for (const value of ['SECRET', 'keyname@zylker.com'])
      assert.ok(!names.includes(value), `a key name holds ${value}`);
    await store.deleteTokens();
    await store.close();
  });

  it('re-indexes a store whose index sets an earlier version named by raw values, and deletes those', async (t) => {
    if (skip) return t.skip('redis does not answer');
    const old = `test:oldindex:${process.pid}:`;
    // As the previous release wrote one token: its hash, the id sets and raw-valued index sets.
    await redis.hset(`${old}token:1234567890`, {
      id: '1234567890',
      userName: 'old@zylker.com',
      clientId: '1000.CLIENT',
      refreshToken: '1000.oldrefresh',
      accessToken: '1000.oldaccess',
    });
    await redis.sadd(`${old}ids`, '1234567890');
    await redis.zadd(`${old}ids:ordered`, 0, '1234567890');
    for (const [column, value] of [
      ['userName', 'old@zylker.com'],
      ['refreshToken', '1000.oldrefresh'],
      ['accessToken', '1000.oldaccess'],
    ]) {
      await redis.sadd(`${old}idx:${column}:${value}`, '1234567890');
    }
    await redis.set(`${old}idx:other-store:token:1`, 'not ours');
    const store = new RedisStore({ url: REDIS_URL, prefix: old });
    const byRefresh = await store.findToken(
      new OAuthToken({ clientId: '1000.CLIENT', clientSecret: 'x', refreshToken: '1000.oldrefresh' }),
    );
    assert.equal(byRefresh?.getAccessToken(), '1000.oldaccess');
    assert.equal((await store.findToken(new OAuthToken({ accessToken: '1000.oldaccess' })))?.getId(), '1234567890');
    // The raw-valued index sets are gone; another store whose prefix begins with this one's keeps its keys.
    assert.deepEqual(await redis.keys(`${old}idx:*`), [`${old}idx:other-store:token:1`]);
    assert.equal(await redis.get(`${old}idx:other-store:token:1`), 'not ours');
    await redis.del(`${old}idx:other-store:token:1`);
    await store.deleteTokens();
    await store.close();
  });

  it('pages tokens saved before the ordered id set existed, and skips ids whose token is gone', async (t) => {
    if (skip) return t.skip('redis does not answer');
    const paged = `test:paged:${process.pid}:`;
    const store = new RedisStore({ url: REDIS_URL, prefix: paged });
    try {
      await store.saveTokens(
        Array.from(
          { length: 1_200 },
          (_, i) => new OAuthToken({ userName: `u${i}@zylker.com`, accessToken: `a${i}`, refreshToken: `r${i}` }),
        ),
      );
      const ids = (await store.getTokens()).map((token) => token.getId() as string).sort();
      assert.equal(await redis.zcard(`${paged}ids:ordered`), 1_200);
      // As an earlier version of the store left it: the id set only.
      await redis.del(`${paged}ids:ordered`);
      const walked: string[] = [];
      for (let page = await store.getTokensPage(null, 500); page.length > 0; ) {
        walked.push(...page.map((token) => token.getId() as string));
        page = await store.getTokensPage(walked.at(-1) as string, 500);
      }
      assert.deepEqual(walked, ids, 'every token, once, in id order');
      assert.equal(await redis.zcard(`${paged}ids:ordered`), 1_200, 'the ordered set rebuilt');

      // Deleted as that version deletes: everything but the id's place in the ordered set.
      for (const id of ids.slice(1, 4)) {
        await store.deleteToken(id);
        await redis.zadd(`${paged}ids:ordered`, 0, id);
      }
      const page = (await store.getTokensPage(null, 10)).map((token) => token.getId());
      assert.deepEqual(page, [ids[0], ...ids.slice(4, 13)], 'a full page without the deleted ids');
      assert.equal(await store.countTokens(), 1_197);
      await store.deleteTokens();
      assert.deepEqual(await redis.keys(`${paged}*`), [], 'deleteTokens leaves no key, stale ids included');
    } finally {
      await store.deleteTokens();
      await store.close();
    }
  });
});
