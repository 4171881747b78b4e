import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lookupValue } from '../src/store/matching.js';
import type { LookupColumn } from '../src/store/record-backend.js';
import { LookupCoalescer } from '../src/stores/lookup-coalescer.js';
import type { TokenRecord } from '../src/token/token-record.js';

const record = (id: string, userName: string | null, accessToken: string | null = null): TokenRecord => ({
  id,
  userName,
  accessToken,
  clientId: null,
  clientSecret: null,
  refreshToken: null,
  grantToken: null,
  expiryTime: null,
  redirectUrl: null,
  apiDomain: null,
});

/** A table in memory behind a batch read that records every query it answers. */
function table(rows: readonly TokenRecord[], loose = false) {
  const queries: { column: LookupColumn; values: readonly string[] }[] = [];
  const read = async (column: LookupColumn, values: readonly string[]) => {
    queries.push({ column, values: [...values] });
    // Read when the query arrives, answer a moment later; `loose` compares as MySQL does (trailing spaces ignored).
    const wanted = new Set(values.map((v) => (loose ? v.trimEnd() : v)));
    const found = rows.filter((row) => {
      const value = lookupValue(row, column);
      return value !== null && wanted.has(loose ? value.trimEnd() : value);
    });
    await new Promise((resolve) => setTimeout(resolve, 1));
    return found;
  };
  return { queries, read };
}

describe('LookupCoalescer', () => {
  it('sends one query for the lookups of one burst and gives each caller its own rows', async () => {
    const rows = [record('1', 'ana'), record('2', 'bob'), record('3', 'bob'), record('4', 'cy')];
    const { queries, read } = table(rows);
    const coalescer = new LookupCoalescer(read);
    const users = ['bob', 'ana', 'nobody', 'cy', 'bob'];
    const found = await Promise.all(users.map((value) => coalescer.find({ column: 'userName', value })));
    assert.equal(queries.length, 1);
    assert.deepEqual(queries[0]?.values, ['bob', 'ana', 'nobody', 'cy'], 'each value once');
    assert.deepEqual(
      found.map((r) => r.map((row) => row.id)),
      [['2', '3'], ['1'], [], ['4'], ['2', '3']],
    );
    assert.notEqual(found[0], found[4], 'callers of one value get their own arrays');
  });

  it('keeps columns apart: one query per column, and a value of one column never answers another', async () => {
    const { queries, read } = table([record('1', 'x', 'y'), record('2', 'y', 'x')]);
    const coalescer = new LookupCoalescer(read);
    const [byUser, byAccess, byId] = await Promise.all([
      coalescer.find({ column: 'userName', value: 'x' }),
      coalescer.find({ column: 'accessToken', value: 'x' }),
      coalescer.find({ column: 'id', value: '2' }),
    ]);
    assert.deepEqual(
      queries.map((q) => q.column),
      ['userName', 'accessToken', 'id'],
    );
    assert.deepEqual(
      byUser.map((r) => r.id),
      ['1'],
    );
    assert.deepEqual(
      byAccess.map((r) => r.id),
      ['2'],
    );
    assert.deepEqual(
      byId.map((r) => r.id),
      ['2'],
    );
  });

  it('keeps only exact matches when the storage compares loosely, hostile values included', async () => {
    const hostile = ["' OR '1'='1", 'ana ', 'ana', '', '%', '\u0000', 'a'.repeat(5000)];
    const rows = hostile.map((value, i) => record(String(i), value));
    const { read } = table(rows, true);
    const coalescer = new LookupCoalescer(read);
    const found = await Promise.all(hostile.map((value) => coalescer.find({ column: 'userName', value })));
    assert.deepEqual(
      found.map((r) => r.map((row) => row.id)),
      hostile.map((_, i) => [String(i)]),
    );
  });

  it('splits a burst larger than maxBatch into several queries, all sent at once', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => record(String(i), `u${i}`));
    const { queries, read } = table(rows);
    const coalescer = new LookupCoalescer(read, { maxBatch: 4 });
    const found = await Promise.all(
      rows.map((row) => coalescer.find({ column: 'userName', value: row.userName ?? '' })),
    );
    assert.deepEqual(
      queries.map((q) => q.values.length),
      [4, 4, 2],
    );
    assert.deepEqual(
      found.map((r) => r[0]?.id),
      rows.map((row) => row.id),
    );
    assert.throws(() => new LookupCoalescer(read, { maxBatch: 0 }), TypeError);
  });

  it('rejects every caller of a failed query with its error, and only them', async () => {
    const failure = new Error('connection lost');
    let calls = 0;
    const coalescer = new LookupCoalescer(async (column, values) => {
      calls++;
      if (column === 'userName') throw failure;
      return values.map((v) => record(v, null));
    });
    const results = await Promise.allSettled([
      coalescer.find({ column: 'userName', value: 'a' }),
      coalescer.find({ column: 'userName', value: 'b' }),
      coalescer.find({ column: 'userName', value: 'a' }),
      coalescer.find({ column: 'id', value: '7' }),
    ]);
    assert.equal(calls, 2);
    assert.deepEqual(
      results.slice(0, 3).map((r) => r.status === 'rejected' && r.reason),
      [failure, failure, failure],
    );
    assert.equal(results[3]?.status, 'fulfilled');
    // The next burst is a new query: a failure is not remembered.
    assert.deepEqual(await coalescer.find({ column: 'id', value: '8' }), [record('8', null)]);
  });

  it('reads each value of a batch the storage refuses for its data alone, so only that caller fails', async () => {
    // As mysql2 and pg report a value the server cannot take: an SQLSTATE of class 22.
    const refused = Object.assign(new Error('invalid byte sequence'), { sqlState: '22021' });
    const { queries, read } = table([record('1', 'ana'), record('2', 'bob')]);
    const coalescer = new LookupCoalescer(async (column, values) => {
      if (values.includes('bad')) {
        queries.push({ column, values: [...values] });
        throw refused;
      }
      return read(column, values);
    });
    const results = await Promise.allSettled(
      ['ana', 'bad', 'bob', 'bad'].map((value) => coalescer.find({ column: 'userName', value })),
    );
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value.map((row) => row.id) : r.reason)),
      [['1'], refused, ['2'], refused],
    );
    assert.deepEqual(
      queries.map((q) => q.values),
      [['ana', 'bad', 'bob'], ['ana'], ['bad'], ['bob']],
    );
  });

  it('rejects its callers rather than leaving them waiting when an answer is malformed', async () => {
    const coalescer = new LookupCoalescer(async () => null as unknown as TokenRecord[]);
    const results = await Promise.allSettled([
      coalescer.find({ column: 'userName', value: 'a' }),
      coalescer.find({ column: 'userName', value: 'b' }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.ok((results[0] as PromiseRejectedResult).reason instanceof TypeError);
  });

  it('never answers a lookup from a query sent before it was made', async () => {
    const rows: TokenRecord[] = [];
    const { queries, read } = table(rows);
    const coalescer = new LookupCoalescer(read);
    const early = coalescer.find({ column: 'userName', value: 'late' });
    // Let the first query leave, then store the row and look again while it is still in flight.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(queries.length, 1);
    rows.push(record('1', 'late'));
    const later = coalescer.find({ column: 'userName', value: 'late' });
    assert.deepEqual(await early, []);
    assert.deepEqual(
      (await later).map((r) => r.id),
      ['1'],
    );
    assert.equal(queries.length, 2);
  });

  it('gathers callers woken by a finished query into the next single query', async () => {
    const rows = Array.from({ length: 16 }, (_, i) => record(String(i), `u${i}`));
    const { queries, read } = table(rows);
    const coalescer = new LookupCoalescer(read);
    // 16 callers in a loop, each awaiting through a few promise hops as a store's findToken does.
    const find = async (value: string) => (await coalescer.find({ column: 'userName', value }))[0];
    await Promise.all(
      rows.map(async (row) => {
        for (let round = 0; round < 5; round++) assert.equal((await find(row.userName ?? ''))?.id, row.id);
      }),
    );
    assert.equal(queries.length, 5);
    for (const query of queries) assert.equal(query.values.length, 16);
  });
});
