import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hasActivityTracking,
  isTokenStoreError,
  type LookupKey,
  lookupValue,
  OAuthToken,
  type OAuthTokenFields,
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

describe('RecordTokenStore activity', () => {
  it('does not track activity on a backend without touch and activity: NOT_SUPPORTED', async () => {
    const store = new RecordTokenStore(collidingBackend(0).backend);
    assert.equal(store.tracksActivity, false);
    assert.equal(hasActivityTracking(store), false);
    const notSupported = (error: unknown) =>
      isTokenStoreError(error) && error.code === TokenStoreErrorCode.NOT_SUPPORTED;
    await assert.rejects(store.recordUse('1', 1), notSupported);
    await assert.rejects(store.recordRevoked('1', 1), notSupported);
    await assert.rejects(store.getActivity(), notSupported);
  });

  it('passes whole ms to the backend, refuses a time that is not a finite number, and types failures', async () => {
    const touched: [string, string, number][] = [];
    const backend: RecordBackend = {
      ...collidingBackend(0).backend,
      async touch(id, event, at) {
        if (id === 'broken') throw new Error('connection reset');
        touched.push([id, event, at]);
      },
      activity: async () => [],
    };
    const store = new RecordTokenStore(backend);
    assert.equal(hasActivityTracking(store), true);
    await store.recordUse('1', 1_764_000_000_000.7);
    await store.recordRevoked('2', 5);
    assert.deepEqual(touched, [
      ['1', 'used', 1_764_000_000_000],
      ['2', 'revoked', 5],
    ]);
    for (const at of [Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      await assert.rejects(store.recordUse('1', at), TypeError);
    }
    await assert.rejects(
      store.recordUse('broken', 1),
      (error: unknown) =>
        isTokenStoreError(error) && error.code === TokenStoreErrorCode.STORAGE_FAILURE && error.cause instanceof Error,
    );
  });
});

/** A backend with `upsertMany` that claims a fresh id is taken in its first `collisions` calls. */
function batchingBackend(collisions: number) {
  const written: TokenRecord[] = [];
  const batches: number[] = [];
  let calls = 0;
  const backend: RecordBackend = {
    findBy: () => [],
    upsert: async () => assert.fail('saveTokens used upsert although the backend has upsertMany'),
    async upsertMany(keys, decide) {
      calls++;
      const freshId = keys.find((key) => key.column === 'id')?.value as string;
      const taken: TokenRecord = {
        id: freshId,
        userName: 'someone-else@zylker.com',
        clientId: null,
        clientSecret: null,
        refreshToken: null,
        accessToken: 'theirs',
        grantToken: null,
        expiryTime: null,
        redirectUrl: null,
        apiDomain: null,
      };
      const records = decide(calls <= collisions ? [taken] : []);
      written.push(...records);
      batches.push(records.length);
    },
    delete: async () => {},
    list: async () => written,
    clear: async () => {},
  };
  return { backend, written, batches };
}

describe('RecordTokenStore saveTokens', () => {
  it('saves one token at a time through upsert when the backend has no upsertMany', async () => {
    const { backend, written, calls } = collidingBackend(1);
    const tokens = [new OAuthToken({ accessToken: 'a' }), new OAuthToken({ accessToken: 'b' })];
    await new RecordTokenStore(backend).saveTokens(tokens);
    assert.equal(calls(), 3, 'one upsert per token, and one retry for the taken id');
    assert.deepEqual(
      written.map((record) => [record.id, record.accessToken]),
      tokens.map((token) => [token.getId(), token.getAccessToken()]),
    );
  });

  it('writes batches of 1,000 through upsertMany, drawing new ids for a batch when one is taken', async () => {
    const { backend, written, batches } = batchingBackend(1);
    const tokens = Array.from({ length: 2_500 }, (_, i) => new OAuthToken({ accessToken: `a${i}` }));
    await new RecordTokenStore(backend).saveTokens(tokens);
    assert.deepEqual(batches, [1_000, 1_000, 500], 'the refused attempt wrote nothing');
    const ids = tokens.map((token) => token.getId());
    assert.equal(new Set(ids).size, 2_500);
    assert.ok(ids.every((id) => /^\d{10}$/.test(id ?? '')));
    assert.deepEqual(
      written.map((record) => record.id),
      ids,
    );
  });
});

describe('RecordTokenStore paged reads', () => {
  const row = (id: string): TokenRecord => ({
    id,
    userName: `${id}@zylker.com`,
    clientId: null,
    clientSecret: null,
    refreshToken: `r${id}`,
    accessToken: `a${id}`,
    grantToken: null,
    expiryTime: null,
    redirectUrl: null,
    apiDomain: null,
  });
  /** A backend with rows in no particular order, counting the calls it gets. */
  function listedBackend(ids: readonly string[], extra: Partial<RecordBackend> = {}) {
    const calls: string[] = [];
    const backend: RecordBackend = {
      findBy: () => [],
      upsert: async () => {},
      delete: async () => {},
      async list() {
        calls.push('list');
        return ids.map(row);
      },
      clear: async () => {},
      ...extra,
    };
    return { backend, calls };
  }

  it('falls back to list() sorted by id, and its length for the count, on a backend without listPage', async () => {
    const { backend, calls } = listedBackend(['30', '10', '25', '20', '11']);
    const store = new RecordTokenStore(backend);
    const ids = async (after: string | null, limit: number) =>
      (await store.getTokensPage(after, limit)).map((token) => token.getId());
    assert.deepEqual(await ids(null, 2), ['10', '11']);
    assert.deepEqual(await ids('11', 2), ['20', '25']);
    assert.deepEqual(await ids('21', 5), ['25', '30']);
    assert.deepEqual(await ids('30', 5), []);
    const [first] = await store.getTokensPage(null, 1);
    assert.equal(first?.getRefreshToken(), 'r10', 'tokens filled from their rows');
    assert.equal(await store.countTokens(), 5);
    assert.equal(calls.length, 6);
  });

  it('uses listPage and count when the backend has them, never list(); failures are typed', async () => {
    const pages: [string | null, number][] = [];
    const { backend, calls } = listedBackend(['1', '2'], {
      async listPage(afterId, limit) {
        pages.push([afterId, limit]);
        return afterId === null ? [row('1')] : [];
      },
      count: async () => 41,
    });
    const store = new RecordTokenStore(backend);
    assert.deepEqual(
      (await store.getTokensPage(null, 3)).map((token) => token.getId()),
      ['1'],
    );
    assert.deepEqual(await store.getTokensPage('1', 3), []);
    assert.equal(await store.countTokens(), 41);
    assert.deepEqual(pages, [
      [null, 3],
      ['1', 3],
    ]);
    assert.deepEqual(calls, [], 'list() never called');

    const broken = new RecordTokenStore(
      listedBackend([], {
        listPage: async () => Promise.reject(new Error('connection reset')),
        count: async () => Promise.reject(new Error('connection reset')),
      }).backend,
    );
    for (const call of [broken.getTokensPage(null, 1), broken.countTokens()]) {
      await assert.rejects(call, (error: unknown) => {
        assert.ok(isTokenStoreError(error) && error.code === TokenStoreErrorCode.STORAGE_FAILURE);
        assert.match(error.message, /^(getTokensPage|countTokens) failed in the storage backend$/);
        return true;
      });
    }
    await store.close();
    await assert.rejects(store.getTokensPage(null, 1), { code: TokenStoreErrorCode.CLOSED });
  });
});

/**
 * A working backend that answers a turn of the event loop later, like a server, and counts its
 * writes: `upsert` for a lone save, `upsertMany` (with the records of each) for a group. It can
 * fail its next group (`failNext`), every write (`down`), or refuse writing a record as a
 * database refuses a bad row (`refuses`).
 */
function slowBackend() {
  const rows = new Map<string, TokenRecord>();
  const calls = {
    upsert: 0,
    upsertMany: [] as number[],
    failNext: false,
    down: false,
    refuses: (_record: TokenRecord) => false,
  };
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const matching = (keys: readonly LookupKey[]) =>
    [...rows.values()].filter((row) => keys.some((key) => lookupValue(row, key.column) === key.value));
  const write = (records: readonly TokenRecord[]) => {
    if (calls.down) throw new Error('connection refused');
    if (records.some(calls.refuses)) {
      throw Object.assign(new Error(`Data too long for column 'id' at row 1: ${records[0]?.id}`), {
        sqlState: '22001',
      });
    }
    for (const record of records) rows.set(record.id, record);
  };
  const backend: RecordBackend = {
    findBy: (key) => matching([key]),
    async upsert(keys, decide) {
      calls.upsert++;
      await turn();
      write([decide(matching(keys))]);
    },
    async upsertMany(keys, decide) {
      await turn();
      if (calls.failNext) {
        calls.failNext = false;
        throw new Error('connection reset');
      }
      const records = decide(matching(keys));
      calls.upsertMany.push(records.length);
      write(records);
    },
    delete: async (id) => void rows.delete(id),
    list: async () => [...rows.values()],
    clear: async () => rows.clear(),
    close: async () => {
      calls.down = true;
    },
  };
  return { backend, rows, calls };
}

const storeError = (code: string) => (error: unknown) => isTokenStoreError(error) && error.code === code;
const user = (name: string, fields: Partial<OAuthTokenFields> = {}) =>
  new OAuthToken({ userName: `${name}@zylker.com`, accessToken: `a-${name}`, ...fields });
const statuses = (results: PromiseSettledResult<unknown>[]) =>
  results.map((result) =>
    result.status === 'fulfilled' ? 'saved' : ((result.reason as { code?: string }).code ?? 'error'),
  );

describe('RecordTokenStore save coalescing', () => {
  it('writes a burst of saves as one upsertMany, saves made during a write as the next, a lone save through upsert', async () => {
    const { backend, rows, calls } = slowBackend();
    const store = new RecordTokenStore(backend);
    const tokens = Array.from({ length: 50 }, (_, i) => user(`u${i}`, { clientId: 'c' }));
    await Promise.all(tokens.map((token) => store.saveToken(token)));
    assert.deepEqual(calls.upsertMany, [50]);
    assert.equal(calls.upsert, 0);
    assert.equal(new Set(tokens.map((token) => token.getId())).size, 50);
    for (const [i, token] of tokens.entries()) {
      assert.equal(rows.get(token.getId() ?? '')?.accessToken, `a-u${i}`);
      assert.equal((await store.findToken(new OAuthToken({ userName: `u${i}@zylker.com` })))?.getId(), token.getId());
    }

    const first = Promise.all(['v1', 'v2', 'v3'].map((name) => store.saveToken(user(name))));
    await Promise.resolve(); // the first group is being written now
    const second = Promise.all(['w1', 'w2'].map((name) => store.saveToken(user(name))));
    await Promise.all([first, second]);
    assert.deepEqual(calls.upsertMany, [50, 3, 2]);

    await store.saveToken(user('alone'));
    assert.equal(calls.upsert, 1);
    assert.equal(rows.size, 56);
  });

  it('decides a group in call order, with the result of saving one after another', async () => {
    const user = 'ana@zylker.com';
    const saves = () => [
      new OAuthToken({ userName: 'first@zylker.com', accessToken: 'x' }),
      new OAuthToken({ userName: user, accessToken: 'a1', refreshToken: 'r1', clientId: 'c' }),
      new OAuthToken({ userName: user, accessToken: 'a2' }),
      new OAuthToken({ refreshToken: 'r1', clientId: 'c', apiDomain: 'https://www.zohoapis.eu' }),
      new OAuthToken({ accessToken: 'a2', expiresIn: '99' }),
      new OAuthToken({ userName: user, refreshToken: 'r2' }),
      new OAuthToken({ userName: 'bob@zylker.com', grantToken: 'g' }),
      new OAuthToken({ grantToken: 'g', accessToken: 'b1' }),
    ];
    // Rows and each token's id, with ids renamed by first appearance (fresh ids are random).
    const outcome = (tokens: OAuthToken[], rows: Iterable<TokenRecord>) => {
      const names = new Map<string, string>();
      const name = (id: string | null | undefined) => {
        if (!id) return id;
        if (!names.has(id)) names.set(id, `#${names.size}`);
        return names.get(id);
      };
      const ids = tokens.map((token) => name(token.getId()));
      const stored = [...rows].map((row) => ({ ...row, id: name(row.id) }));
      return { ids, stored: stored.sort((a, b) => String(a.id).localeCompare(String(b.id))) };
    };

    const serial = slowBackend();
    const oneByOne = saves();
    const serialStore = new RecordTokenStore(serial.backend, { coalesceSaves: false });
    for (const token of oneByOne) await serialStore.saveToken(token);

    const grouped = slowBackend();
    const together = saves();
    const store = new RecordTokenStore(grouped.backend);
    await Promise.all(together.map((token) => store.saveToken(token)));
    assert.equal(grouped.calls.upsert, 0);
    assert.equal(grouped.calls.upsertMany.length, 1, 'the eight saves went as one group');
    assert.deepEqual(outcome(together, grouped.rows.values()), outcome(oneByOne, serial.rows.values()));
    const ana = [...grouped.rows.values()].find((row) => row.userName === user);
    assert.deepEqual([ana?.accessToken, ana?.refreshToken, ana?.expiryTime], ['a2', 'r2', '99']);
  });

  it('fails only the saves of a group that cannot be written, with their own typed errors', async () => {
    const { backend, rows, calls } = slowBackend();
    const store = new RecordTokenStore(backend);
    const owner = user('owner');
    await store.saveToken(owner);
    const burst = (tokens: OAuthToken[]) => Promise.allSettled(tokens.map((token) => store.saveToken(token)));
    const nothing = () => new OAuthToken({ userName: 'empty@zylker.com' });
    const conflict = () => user('thief', { id: owner.getId() ?? '' });
    assert.deepEqual(statuses(await burst([user('u1'), nothing(), user('u2'), conflict(), user('u3')])), [
      'saved',
      TokenStoreErrorCode.NOTHING_TO_SAVE,
      'saved',
      TokenStoreErrorCode.ID_CONFLICT,
      'saved',
    ]);
    assert.deepEqual(calls.upsertMany, [3]);

    // A group in which every save fails writes nothing and changes nothing.
    const before = JSON.stringify([...rows.values()]);
    assert.deepEqual(statuses(await burst([nothing(), conflict()])), [
      TokenStoreErrorCode.NOTHING_TO_SAVE,
      TokenStoreErrorCode.ID_CONFLICT,
    ]);
    assert.deepEqual(calls.upsertMany, [3, 0]);
    assert.equal(JSON.stringify([...rows.values()]), before);
  });

  it('tries each save of a group alone, in call order, when the storage refuses its data: only that row fails', async () => {
    const { backend, rows, calls } = slowBackend();
    const store = new RecordTokenStore(backend);
    calls.refuses = (record) => record.accessToken === 'a-poison';
    const burst = [user('a'), user('poison'), user('b', { accessToken: 'b1' }), user('b', { accessToken: 'b2' })];
    const results = await Promise.allSettled(burst.map((token) => store.saveToken(token)));
    assert.deepEqual(statuses(results), ['saved', TokenStoreErrorCode.STORAGE_FAILURE, 'saved', 'saved']);
    assert.deepEqual([...rows.values()].map((row) => `${row.userName} ${row.accessToken}`).sort(), [
      'a@zylker.com a-a',
      'b@zylker.com b2',
    ]);
    assert.equal(calls.upsert, 4, 'each tried again on its own');
    // Only the refused save carries the storage's error about its row.
    const { reason } = results[1] as PromiseRejectedResult;
    assert.match(String(reason.cause?.message), /Data too long/);

    // Any other failure (a dropped connection) fails the whole group at once, with nothing written.
    calls.failNext = true;
    assert.deepEqual(statuses(await Promise.allSettled(['c', 'd'].map((name) => store.saveToken(user(name))))), [
      TokenStoreErrorCode.STORAGE_FAILURE,
      TokenStoreErrorCode.STORAGE_FAILURE,
    ]);
    assert.equal(calls.upsert, 4, 'not tried again one by one');
    assert.equal(rows.size, 2);
  });

  it('fails every save with a typed error that names no value while the storage is down, and goes on after', async () => {
    const { backend, rows, calls } = slowBackend();
    const store = new RecordTokenStore(backend);
    calls.down = true;
    const tokens = ['a', 'b', 'c'].map((name) => user(name));
    for (const result of await Promise.allSettled(tokens.map((token) => store.saveToken(token)))) {
      assert.equal(result.status, 'rejected');
      const { reason } = result as PromiseRejectedResult;
      assert.ok(storeError(TokenStoreErrorCode.STORAGE_FAILURE)(reason));
      assert.ok(!String(reason.message).includes('@zylker.com'));
    }
    assert.equal(rows.size, 0);
    calls.down = false;
    await Promise.all(tokens.map((token) => store.saveToken(token)));
    assert.equal(rows.size, 3);
  });

  it('settles every save of a group when filling one token in throws, without an unhandled rejection', async () => {
    const { backend, rows } = slowBackend();
    const store = new RecordTokenStore(backend);
    const broken = user('broken');
    broken.setExpiresIn = () => {
      throw new Error('read-only token');
    };
    const results = await Promise.allSettled([user('a'), broken, user('b')].map((token) => store.saveToken(token)));
    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(rows.size, 3, 'the group was written; only filling the token in failed');
    await store.saveToken(user('after'));
    assert.equal(rows.size, 4);
  });

  it('writes the saves already called before close() closes the backend; later saves fail with CLOSED', async () => {
    const { backend, rows } = slowBackend();
    const store = new RecordTokenStore(backend);
    const pending = ['a', 'b', 'c'].map((name) => store.saveToken(user(name)));
    const closing = store.close();
    await assert.rejects(store.saveToken(user('late')), storeError(TokenStoreErrorCode.CLOSED));
    await Promise.all([...pending, closing, store.close()]);
    assert.equal(rows.size, 3);
    await assert.rejects(store.saveToken(user('later')), storeError(TokenStoreErrorCode.CLOSED));
  });

  it('lets every call already made finish before close() closes the backend, without coalescing too', async () => {
    const { backend, rows } = slowBackend();
    const store = new RecordTokenStore(backend, { coalesceSaves: false });
    const saving = Promise.all(['a', 'b'].map((name) => store.saveToken(user(name))));
    const listing = store.getTokens();
    await store.close(); // the backend refuses every write once closed
    await saving;
    await listing; // resolves: it was under way when close() began
    assert.equal(rows.size, 2);
    await assert.rejects(store.getTokens(), storeError(TokenStoreErrorCode.CLOSED));
  });

  it('tries the backend’s close again after it failed', async () => {
    let attempts = 0;
    const backend: RecordBackend = {
      ...slowBackend().backend,
      close: async () => {
        if (++attempts === 1) throw new Error('socket busy');
      },
    };
    const store = new RecordTokenStore(backend);
    await assert.rejects(store.close(), /socket busy/);
    await store.close();
    await store.close();
    assert.equal(attempts, 2);
  });

  it('writes one save at a time with coalesceSaves: false', async () => {
    const { backend, rows, calls } = slowBackend();
    const store = new RecordTokenStore(backend, { coalesceSaves: false });
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.saveToken(user(`u${i}`))));
    assert.equal(calls.upsert, 10);
    assert.deepEqual(calls.upsertMany, []);
    assert.equal(rows.size, 10);
  });
});
