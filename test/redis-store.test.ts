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
});
