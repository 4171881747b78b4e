import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isTokenStoreError,
  type LookupKey,
  OAuthToken,
  type RecordBackend,
  RecordTokenStore,
  type TokenRecord,
  TokenStoreErrorCode,
} from 'zoho-token-store';

/** A backend whose upsert claims every fresh id is taken for the first `collisions` calls. */
function collidingBackend(collisions: number) {
  const written: TokenRecord[] = [];
  let calls = 0;
  const backend: RecordBackend = {
    findBy: () => [],
    async upsert(keys: readonly LookupKey[], decide) {
      calls++;
      const freshId = keys.at(-1)?.value as string;
      const taken = { ...(written[0] ?? {}), id: freshId } as TokenRecord;
      written.push(decide(calls <= collisions ? [taken] : []));
    },
    delete: async () => {},
    list: async () => written,
    clear: async () => {},
  };
  return { backend, written, calls: () => calls };
}

describe('RecordTokenStore fresh ids', () => {
  it('draws another id when the fresh one is taken', async () => {
    const { backend, written, calls } = collidingBackend(2);
    const token = new OAuthToken({ accessToken: 'a' });
    await new RecordTokenStore(backend).saveToken(token);
    assert.equal(calls(), 3);
    assert.equal(written.length, 1);
    assert.equal(token.getId(), written[0]?.id);
    assert.match(token.getId() ?? '', /^\d{10}$/);
  });

  it('gives up with a typed error after five taken ids', async () => {
    const { backend, written } = collidingBackend(Number.POSITIVE_INFINITY);
    await assert.rejects(
      new RecordTokenStore(backend).saveToken(new OAuthToken({ accessToken: 'a' })),
      (error: unknown) => isTokenStoreError(error) && error.code === TokenStoreErrorCode.STORAGE_FAILURE,
    );
    assert.equal(written.length, 0);
  });
});
