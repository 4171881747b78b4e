import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  type ActivityTracking,
  isTokenStoreError,
  OAuthToken,
  type TokenStore,
  TokenStoreErrorCode,
} from 'zoho-token-store';
import { MySQLStore } from 'zoho-token-store/stores/mysql';
import { PostgresStore } from 'zoho-token-store/stores/postgres';
import { RedisStore } from 'zoho-token-store/stores/redis';
import { describeTokenStoreConformance } from 'zoho-token-store/testing';
import { LookupCoalescer } from '../src/stores/lookup-coalescer.js';
import { recordWith } from './fixtures/test-stores.js';

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHILD = fileURLToPath(new URL('./fixtures/server-store-child.ts', import.meta.url));

type Kind = 'mysql' | 'postgres' | 'redis';
type LockingStore = TokenStore<OAuthToken> & {
  close(): Promise<void>;
  saveTokens(tokens: readonly object[]): Promise<void>;
  withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R>;
};

/** Admin connections for set-up and clean-up; each answers whether its server is up. */
const admin = {
  mysql: mysql.createPool({ uri: MYSQL_URL, connectTimeout: 2000, connectionLimit: 2 }),
  postgres: new pg.Pool({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000, max: 2 }),
  redis: new Redis(REDIS_URL, { connectTimeout: 2000, maxRetriesPerRequest: 0, lazyConnect: true }),
};
admin.postgres.on('error', () => undefined);
admin.redis.on('error', () => undefined);

async function probe(kind: Kind, check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (error) {
    if (process.env.CI === 'true') throw new Error(`${kind} server is not reachable in CI`, { cause: error });
    console.warn(`\n!!! ${kind} server not reachable: SKIPPING its tests (${(error as Error).message}) !!!\n`);
    return false;
  }
}
const up: Record<Kind, boolean> = {
  mysql: await probe('mysql', () => admin.mysql.query('SELECT 1')),
  postgres: await probe('postgres', () => admin.postgres.query('SELECT 1')),
  redis: await probe('redis', () => admin.redis.connect().then(() => admin.redis.ping())),
};

// Every table and prefix a test creates, removed at the end so the shared servers stay tidy.
const tables = { mysql: new Set<string>(), postgres: new Set<string>() };
const prefixes = new Set<string>();
after(async () => {
  if (up.mysql) for (const t of tables.mysql) await admin.mysql.query(`DROP TABLE IF EXISTS \`${t}\``);
  if (up.postgres) for (const t of tables.postgres) await admin.postgres.query(`DROP TABLE IF EXISTS "${t}"`);
  if (up.redis) {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await admin.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await admin.redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  }
  await Promise.all([admin.mysql.end(), admin.postgres.end()]);
  admin.redis.disconnect();
});

const suffix = () => randomBytes(6).toString('hex');
/** Where a fresh store of each kind keeps its tokens, registered for clean-up. */
const fresh = {
  mysql: () => {
    const table = `zts_${suffix()}`;
    tables.mysql.add(table).add(`${table}_activity`);
    return { url: MYSQL_URL, table };
  },
  postgres: () => {
    const table = `zts_${suffix()}`;
    tables.postgres.add(table).add(`${table}_activity`);
    return { url: POSTGRES_URL, table };
  },
  redis: () => {
    const prefix = `zts-test:${suffix()}:`;
    prefixes.add(prefix);
    return { url: REDIS_URL, prefix };
  },
};
const open = (kind: Kind, options: Record<string, unknown>): LockingStore =>
  kind === 'mysql'
    ? new MySQLStore(options)
    : kind === 'postgres'
      ? new PostgresStore(options)
      : new RedisStore(options);

const NAMES: Record<Kind, string> = { mysql: 'MySQLStore', postgres: 'PostgresStore', redis: 'RedisStore' };
const KINDS: Kind[] = ['mysql', 'postgres', 'redis'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const token = (n: number) =>
  new OAuthToken({
    userName: `u${n}@zylker.com`,
    clientId: 'c',
    clientSecret: 's',
    refreshToken: `r${n}`,
    accessToken: `a${n}`,
  });
const storageFailure = (e: unknown) => isTokenStoreError(e) && e.code === TokenStoreErrorCode.STORAGE_FAILURE;

/** A TCP proxy to the real server that a test can cut (blackhole) and restore. */
class CuttableProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #cut = false;
  port = 0;

  constructor(readonly target: number) {
    this.#server = net.createServer((client) => {
      this.#sockets.add(client);
      client.on('close', () => this.#sockets.delete(client));
      client.on('error', () => undefined);
      if (this.#cut) return; // accepted but silent: the client must give up on its own
      const upstream = net.connect(target, '127.0.0.1');
      this.#sockets.add(upstream);
      upstream.on('close', () => this.#sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
  }
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
    return this;
  }
  #dropAll(): void {
    for (const socket of this.#sockets) socket.destroy();
  }
  cut(): void {
    this.#cut = true;
    this.#dropAll();
  }
  restore(): void {
    this.#cut = false;
    this.#dropAll();
  }
  async stop(): Promise<void> {
    this.#dropAll();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

const urlThrough = (url: string, port: number) => {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
};

async function eventually<R>(call: () => Promise<R>, withinMs: number): Promise<R> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

function runChild(kind: Kind, options: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', CHILD, kind, JSON.stringify(options)],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${kind} child exited with ${code}`))));
  });
}

for (const kind of KINDS) {
  const skip = !up[kind];
  const describeKind = (name: string, body: () => void) => describe(name, { skip }, body);

  // The options behind each conformance store, so the suite can open a second store on its data.
  const optionsOf = new WeakMap<object, Record<string, unknown>>();
  describeTokenStoreConformance({ describe: describeKind, it }, NAMES[kind], {
    createStore: () => {
      const options = fresh[kind]();
      const store = open(kind, options);
      optionsOf.set(store, options);
      return store;
    },
    reopenStore: (store) => open(kind, optionsOf.get(store) as Record<string, unknown>),
  });

  describeKind(`${NAMES[kind]} on a real server`, () => {
    it('keeps exactly one row per user when 4 processes save the same 20 users at once', async () => {
      const options = fresh[kind]();
      await Promise.all(Array.from({ length: 4 }, () => runChild(kind, options)));
      const store = open(kind, options);
      try {
        const all = await store.getTokens();
        assert.equal(all.length, 20);
        assert.equal(new Set(all.map((t) => t.getUserSignature()?.getName())).size, 20);
      } finally {
        await store.close();
      }
    });

    it('leaves no activity behind when uses race with deletes of the same tokens', async () => {
      const options = fresh[kind]();
      const writer = open(kind, options) as LockingStore & ActivityTracking;
      const deleter = open(kind, options);
      try {
        const tokens = Array.from({ length: 30 }, (_, n) => token(n));
        for (const t of tokens) await writer.saveToken(t);
        const ids = tokens.map((t) => t.getId() as string);
        const gone = ids.filter((_, i) => i % 2 === 0);
        await Promise.all([
          ...ids.flatMap((id) => [1, 2, 3].map((n) => writer.recordUse(id, 1_000 * n))),
          ...gone.map((id) => deleter.deleteToken(id)),
        ]);
        const tracked = new Set((await writer.getActivity()).map((entry) => entry.id));
        for (const id of gone) assert.ok(!tracked.has(id), `activity of deleted token ${id} survived`);
        for (const id of ids.filter((id) => !gone.includes(id))) assert.ok(tracked.has(id));
      } finally {
        await Promise.all([writer.close(), deleter.close()]);
      }
    });

    it('fails fast with a typed error while the server is unreachable, and recovers without losing rows', async () => {
      const target = Number(new URL({ mysql: MYSQL_URL, postgres: POSTGRES_URL, redis: REDIS_URL }[kind]).port);
      const proxy = await new CuttableProxy(target).start();
      const options = { ...fresh[kind](), connectTimeoutMs: 1000, queryTimeoutMs: 1000 };
      const store = open(kind, { ...options, url: urlThrough(options.url, proxy.port) });
      try {
        for (let n = 0; n < 5; n++) await store.saveToken(token(n));
        proxy.cut();
        for (const call of [() => store.getTokens(), () => store.saveToken(token(9))]) {
          const started = Date.now();
          await assert.rejects(call(), storageFailure);
          assert.ok(Date.now() - started < 3500, `took ${Date.now() - started} ms`);
        }
        proxy.restore();
        await eventually(() => store.saveToken(token(5)), 5000);
        const all = await store.getTokens();
        assert.deepEqual(all.map((t) => t.getRefreshToken()).sort(), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
      } finally {
        await store.close();
        await proxy.stop();
      }
    });

    it('fails with a typed error, never a hang, when nothing listens on the port', async () => {
      const closed = net.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as net.AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const options = { ...fresh[kind](), connectTimeoutMs: 1000, queryTimeoutMs: 1000 };
      const store = open(kind, { ...options, url: urlThrough(options.url, port) });
      try {
        const started = Date.now();
        await assert.rejects(store.getTokens(), (e: unknown) => storageFailure(e) && (e as Error).cause !== undefined);
        await assert.rejects(
          store.withRefreshLock('k', async () => 'never'),
          storageFailure,
        );
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
      } finally {
        await store.close();
      }
    });

    it('never lets two holders of one refresh lock overlap, and does not block other keys', async () => {
      const options = fresh[kind]();
      const [a, b] = [open(kind, options), open(kind, options)];
      try {
        let holders = 0;
        let most = 0;
        const hold = async () => {
          most = Math.max(most, ++holders);
          await sleep(20);
          holders--;
        };
        await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).withRefreshLock('user-1', hold)));
        assert.equal(most, 1);

        let release = () => {};
        const held = a.withRefreshLock('user-1', () => new Promise<void>((resolve) => (release = resolve)));
        await sleep(50);
        const started = Date.now();
        assert.equal(await b.withRefreshLock('user-2', async () => 'free'), 'free');
        assert.ok(Date.now() - started < 1000);
        release();
        await held;
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

    it('saves inside more refresh locks at once than the pool has connections', { timeout: 20_000 }, async () => {
      // Each held lock keeps a pooled connection; the saves inside need more. 12 > the pool's 10.
      const store = open(kind, fresh[kind]());
      try {
        const started = Date.now();
        const results = await Promise.allSettled(
          Array.from({ length: 12 }, (_, n) =>
            store.withRefreshLock(`user-${n}`, async () => {
              await sleep(50);
              await store.saveToken(token(n));
            }),
          ),
        );
        assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['fulfilled']));
        assert.equal((await store.getTokens()).length, 12);
        assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
      } finally {
        await store.close();
      }
    });

    it('gives up on a busy refresh lock after lockTimeoutMs with a typed error', async () => {
      const options = fresh[kind]();
      const [a, b] = [open(kind, options), open(kind, { ...options, lockTimeoutMs: 300 })];
      try {
        let release = () => {};
        const held = a.withRefreshLock('busy', () => new Promise<void>((resolve) => (release = resolve)));
        await sleep(50);
        const started = Date.now();
        await assert.rejects(
          b.withRefreshLock('busy', async () => 'never'),
          (e: unknown) => isTokenStoreError(e) && e.code === TokenStoreErrorCode.LOCK_TIMEOUT,
        );
        assert.ok(Date.now() - started < 2000);
        release();
        await held;
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  });
}

describe('RedisStore refresh lock lease', { skip: !up.redis }, () => {
  it('is taken over once the lease of a holder that died has passed', async () => {
    const options = fresh.redis();
    // A "dead" holder: set with a short lease and never released. Lock names are hashed.
    const lockKey = `${options.prefix}lock:${createHash('sha256').update('user-1').digest('base64url')}`;
    await admin.redis.set(lockKey, 'dead-owner', 'PX', 300);
    const store = new RedisStore({ ...options, lockTimeoutMs: 3000 });
    try {
      const started = Date.now();
      assert.equal(await store.withRefreshLock('user-1', async () => 'mine'), 'mine');
      assert.ok(Date.now() - started >= 200, 'acquired before the lease ran out');
      assert.equal(await admin.redis.exists(lockKey), 0, 'released after work');
    } finally {
      await store.close();
    }
  });
});

describe('SQL stores on a real server', () => {
  it('MySQLStore uses a table the official SDK created as it is', { skip: !up.mysql }, async () => {
    const options = fresh.mysql();
    await admin.mysql.query(`CREATE TABLE \`${options.table}\` (id varchar(10) NOT NULL, user_name varchar(255),
      client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255),
      grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255),
      PRIMARY KEY (id))`);
    await admin.mysql.query(`INSERT INTO \`${options.table}\` (id, user_name, refresh_token) VALUES (?, ?, ?)`, [
      '1',
      'legacy@zylker.com',
      'r-legacy',
    ]);
    const store = new MySQLStore(options);
    try {
      await store.saveToken(token(1));
      const legacy = await store.findToken(new OAuthToken({ userName: 'legacy@zylker.com' }));
      assert.equal(legacy?.getRefreshToken(), 'r-legacy');
      const [rows] = await admin.mysql.query('SELECT data_type FROM information_schema.columns WHERE table_name = ?', [
        options.table,
      ]);
      assert.ok((rows as { data_type: string }[]).every((r) => r.data_type === 'varchar'));
    } finally {
      await store.close();
    }
  });

  for (const kind of ['mysql', 'postgres'] as const) {
    it(`${NAMES[kind]} gives no activity to a token saved under the id of a row deleted behind its back`, {
      skip: !up[kind],
    }, async () => {
      const options = fresh[kind]();
      const store = open(kind, options) as LockingStore & ActivityTracking;
      const q = kind === 'mysql' ? (t: string) => `\`${t}\`` : (t: string) => `"${t}"`;
      try {
        const [one, two] = [token(1), token(2)];
        await store.saveTokens([one, two]);
        for (const t of [one, two]) await store.recordUse(t.getId() as string, 1_000);
        // As the official SDK deletes: the row only, the activity table unknown to it.
        const deleteRows = `DELETE FROM ${q(options.table)}`;
        await (kind === 'mysql' ? admin.mysql.query(deleteRows) : admin.postgres.query(deleteRows));
        assert.equal((await store.getActivity()).length, 2, 'the activity was left behind');
        await store.saveToken(new OAuthToken({ id: one.getId(), userName: 'new1@zylker.com', accessToken: 'n1' }));
        await store.saveTokens([new OAuthToken({ id: two.getId(), userName: 'new2@zylker.com', accessToken: 'n2' })]);
        assert.deepEqual(await store.getActivity(), []);
        assert.equal((await store.getTokens()).length, 2);
      } finally {
        await store.close();
      }
    });
  }

  for (const kind of ['mysql', 'postgres'] as const) {
    it(`${NAMES[kind]} rolls a failed save back whole`, { skip: !up[kind] }, async () => {
      const options = fresh[kind]();
      const store = open(kind, options);
      try {
        await store.saveToken(token(1));
        // A trigger that fails the update after the row was read: nothing of the save may remain.
        if (kind === 'mysql') {
          await admin.mysql.query(`CREATE TRIGGER \`${options.table}_ro\` BEFORE UPDATE ON \`${options.table}\`
            FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'read-only'`);
        } else {
          await admin.postgres.query(`CREATE FUNCTION "${options.table}_ro"() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'read-only'; END $$`);
          await admin.postgres.query(`CREATE TRIGGER ro BEFORE UPDATE ON "${options.table}"
            FOR EACH ROW EXECUTE FUNCTION "${options.table}_ro"()`);
        }
        await assert.rejects(
          store.saveToken(new OAuthToken({ userName: 'u1@zylker.com', accessToken: 'changed' })),
          storageFailure,
        );
        const found = await store.findToken(new OAuthToken({ userName: 'u1@zylker.com' }));
        assert.equal(found?.getAccessToken(), 'a1');
        // A batch whose insert went through before its update failed keeps neither.
        await assert.rejects(
          store.saveTokens([token(2), new OAuthToken({ userName: 'u1@zylker.com', accessToken: 'changed' })]),
          storageFailure,
        );
        assert.equal(await store.findToken(new OAuthToken({ userName: 'u2@zylker.com' })), null);
        assert.deepEqual(
          (await store.getTokens()).map((t) => t.getAccessToken()),
          ['a1'],
        );
      } finally {
        await store.close();
        if (kind === 'postgres') {
          await admin.postgres.query(`DROP TABLE IF EXISTS "${options.table}"`);
          await admin.postgres.query(`DROP FUNCTION IF EXISTS "${options.table}_ro"()`);
        }
      }
    });
  }
});

/**
 * A store of this kind on a pool or client of the test's own whose plain lookups it counts: pool
 * queries (transactions run on their own connections) or Redis scripts (saves use MULTI); and,
 * on the SQL stores, its transactions: the connections it takes from the pool.
 */
function countingStore(kind: Kind, extra: Record<string, unknown> = {}) {
  const options: { url: string; table?: string; prefix?: string } = fresh[kind]();
  const counter = { queries: 0, transactions: 0 };
  const count = <F extends (...args: never[]) => unknown>(call: F, what: keyof typeof counter = 'queries'): F =>
    ((...args: Parameters<F>) => {
      counter[what]++;
      return call(...args);
    }) as F;
  if (kind === 'mysql') {
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 4 });
    Object.assign(pool, {
      query: count(pool.query.bind(pool)),
      getConnection: count(pool.getConnection.bind(pool), 'transactions'),
    });
    return { store: new MySQLStore({ ...options, ...extra, pool }), counter, options, done: () => pool.end() };
  }
  if (kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 });
    Object.assign(pool, {
      query: count(pool.query.bind(pool)),
      connect: count(pool.connect.bind(pool), 'transactions'),
    });
    return { store: new PostgresStore({ ...options, ...extra, pool }), counter, options, done: () => pool.end() };
  }
  const client = new Redis(REDIS_URL);
  Object.assign(client, { eval: count(client.eval.bind(client)) });
  return {
    store: new RedisStore({ ...options, ...extra, client }),
    counter,
    options,
    done: async () => client.disconnect(),
  };
}

const byUser = (name: string) => new OAuthToken({ userName: name });
// Quotes, LIKE and regex characters, a backslash, NUL-free control text, unicode, a value that
// differs from a stored one only by a trailing space (MySQL compares those as equal), and case.
const HOSTILE = ["x' OR '1'='1", 'a\\', '%_*?', '$1', 'ü@zylker.com', 'u1@zylker.com ', 'U1@ZYLKER.COM'];

for (const kind of KINDS) {
  describe(`${NAMES[kind]} lookup coalescing`, { skip: !up[kind] }, () => {
    it('answers a burst of lookups with one query, each caller getting its own token', async () => {
      const { store, counter, done } = countingStore(kind);
      try {
        const users = Array.from({ length: 40 }, (_, n) => `u${n}@zylker.com`);
        await store.saveTokens([
          ...users.map((_, n) => token(n)),
          ...HOSTILE.map((name, n) => new OAuthToken({ userName: name, accessToken: `hostile-${n}` })),
        ]);
        const asked = [...users, ...HOSTILE, 'nobody@zylker.com', 'u7@zylker.com', "' OR 1=1 --"];
        counter.queries = 0;
        const found = await Promise.all(asked.map((name) => store.findToken(byUser(name))));
        // One for the names, one for the `email:zgid` rows of the names not found.
        assert.equal(counter.queries, 2);
        const expected = asked.map((name) => {
          const n = users.indexOf(name);
          if (n >= 0) return `a${n}`;
          const h = HOSTILE.indexOf(name);
          return h >= 0 ? `hostile-${h}` : null;
        });
        assert.deepEqual(
          found.map((t) => t?.getAccessToken() ?? null),
          expected,
        );
        for (const [i, t] of found.entries()) if (t) assert.equal(t.getUserSignature()?.getName(), asked[i]);

        // By access token (no client credentials) and by id: one query per column.
        counter.queries = 0;
        const ids = (await Promise.all(users.slice(0, 5).map((u) => store.findToken(byUser(u))))).map((t) =>
          t?.getId(),
        );
        const [byAccess, byId] = await Promise.all([
          Promise.all(['a3', 'hostile-0', 'missing'].map((a) => store.findToken(new OAuthToken({ accessToken: a })))),
          Promise.all([...ids, '9999999999'].map((id) => store.findTokenById(id as string))),
        ]);
        assert.equal(counter.queries, 3);
        assert.deepEqual(
          byAccess.map((t) => t?.getUserSignature()?.getName() ?? null),
          ['u3@zylker.com', HOSTILE[0], null],
        );
        assert.deepEqual(
          byId.map((t) => t?.getUserSignature()?.getName() ?? null),
          [...users.slice(0, 5), null],
        );
      } finally {
        await store.close();
        await done();
      }
    });

    it('sends one query per lookup with coalesceLookups: false', async () => {
      const { store, counter, done } = countingStore(kind, { coalesceLookups: false });
      try {
        await store.saveTokens([token(1), token(2)]);
        counter.queries = 0;
        const found = await Promise.all(['u1', 'u2', 'u3'].map((u) => store.findToken(byUser(`${u}@zylker.com`))));
        // u3 is not found by name: its `email:zgid` rows are looked up too.
        assert.equal(counter.queries, 4);
        assert.deepEqual(
          found.map((t) => t?.getAccessToken() ?? null),
          ['a1', 'a2', null],
        );
      } finally {
        await store.close();
        await done();
      }
    });

    it('rejects every caller of a failed batch with a typed error that names no value', async () => {
      const { store, counter, options, done } = countingStore(kind);
      try {
        await store.saveTokens([token(1), token(2)]);
        // A real server-side failure of the one query: the table gone, or an index key of the wrong type.
        if (kind === 'mysql') await admin.mysql.query(`DROP TABLE \`${options.table}\``);
        else if (kind === 'postgres') await admin.postgres.query(`DROP TABLE "${options.table}"`);
        else {
          const hashed = createHash('sha256').update('bad@zylker.com').digest('base64url');
          await admin.redis.set(`${options.prefix}index:userName:${hashed}`, 'not a set');
        }
        counter.queries = 0;
        const names = ['u1@zylker.com', 'bad@zylker.com', 'u2@zylker.com', 'secret-user@zylker.com'];
        const results = await Promise.allSettled(names.map((name) => store.findToken(byUser(name))));
        assert.equal(counter.queries, 1);
        for (const result of results) {
          assert.equal(result.status, 'rejected');
          const error = (result as PromiseRejectedResult).reason;
          assert.ok(storageFailure(error), String(error));
          assert.ok(error.cause !== undefined);
          for (const name of names) assert.ok(!error.message.includes(name));
        }
      } finally {
        await store.close();
        await done();
      }
    });

    it('answers the other lookups of a burst when one carries a NUL, and refuses that one', async () => {
      const { store, done } = countingStore(kind);
      try {
        await store.saveTokens([token(1), token(2), token(3)]);
        // The attack: /oauth/callback?code=%00 looks a grant up beside other users' sign-ins.
        const byRefresh = (refreshToken: string) => new OAuthToken({ clientId: 'c', clientSecret: 's', refreshToken });
        const asked = ['r1', 'r\u0000x', 'r2', 'r3'];
        const results = await Promise.allSettled(asked.map((r) => store.findToken(byRefresh(r))));
        assert.deepEqual(
          results.map((r) => (r.status === 'fulfilled' ? (r.value?.getAccessToken() ?? null) : 'rejected')),
          ['a1', 'rejected', 'a2', 'a3'],
        );
        const error = (results[1] as PromiseRejectedResult).reason;
        assert.ok(isTokenStoreError(error) && error.code === TokenStoreErrorCode.INVALID_TOKEN, String(error));
      } finally {
        await store.close();
        await done();
      }
    });

    it('refuses at save a value with a lone surrogate, which the server would silently change', async () => {
      const store = open(kind, fresh[kind]());
      try {
        for (const bad of [
          new OAuthToken({ userName: 'u\uD800@zylker.com', accessToken: 'a-lone' }),
          new OAuthToken({ clientId: 'c', clientSecret: 's', refreshToken: 'r\uDC00', accessToken: 'a-lone' }),
        ]) {
          await assert.rejects(
            store.saveToken(bad),
            (e: unknown) => isTokenStoreError(e) && e.code === TokenStoreErrorCode.INVALID_TOKEN,
          );
          await assert.rejects(
            store.findToken(bad),
            (e: unknown) => isTokenStoreError(e) && e.code === TokenStoreErrorCode.INVALID_TOKEN,
          );
        }
        assert.deepEqual(await store.getTokens(), []);
      } finally {
        await store.close();
      }
    });

    it('shows every lookup made after a save resolved that save, while other lookups are in flight', async () => {
      const options = fresh[kind]();
      const store = open(kind, options);
      try {
        await store.saveTokens(Array.from({ length: 20 }, (_, n) => token(n)));
        let saved = false;
        let stop = false;
        let afterSave = 0;
        const reader = async (n: number) => {
          while (!stop) {
            const started = saved;
            const [late, other] = await Promise.all([
              store.findToken(byUser('late@zylker.com')),
              store.findToken(byUser(`u${n}@zylker.com`)),
            ]);
            assert.equal(other?.getAccessToken(), `a${n}`);
            if (started) {
              afterSave++;
              assert.equal(late?.getAccessToken(), 'a-late', 'a lookup made after the save missed it');
            }
          }
        };
        const readers = Array.from({ length: 16 }, (_, n) => reader(n));
        await sleep(30);
        await store.saveToken(new OAuthToken({ userName: 'late@zylker.com', accessToken: 'a-late' }));
        saved = true;
        assert.equal((await store.findToken(byUser('late@zylker.com')))?.getAccessToken(), 'a-late');
        await sleep(30);
        stop = true;
        await Promise.all(readers);
        assert.ok(afterSave >= 16, `only ${afterSave} lookups after the save`);
      } finally {
        await store.close();
      }
    });
  });
}

describe('LookupCoalescer on PostgreSQL', { skip: !up.postgres }, () => {
  // Straight to the coalescer, past the store's own checks: a custom caller, or a value the checks miss.
  const coalescerOn = (queries: string[][]) =>
    new LookupCoalescer(async (_column, values) => {
      queries.push([...values]);
      const { rows } = await admin.postgres.query<{ v: string }>('SELECT v FROM unnest($1::text[]) AS v', [values]);
      return rows.map(({ v }) => recordWith({ id: v, userName: v }));
    });

  it('tries each lookup of a refused batch alone, so only the one with a NUL fails', async () => {
    const queries: string[][] = [];
    const coalescer = coalescerOn(queries);
    const asked = ['ana', 'bad\u0000', 'bob'];
    const results = await Promise.allSettled(asked.map((value) => coalescer.find({ column: 'userName', value })));
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value.map((row) => row.id) : 'rejected')),
      [['ana'], 'rejected', ['bob']],
    );
    assert.equal((results[1] as PromiseRejectedResult).reason.code, '22021');
    assert.deepEqual(queries, [asked, ['ana'], ['bad\u0000'], ['bob']]);
  });
});

for (const kind of ['mysql', 'postgres'] as const) {
  describe(`${NAMES[kind]} save coalescing`, { skip: !up[kind] }, () => {
    it('writes a burst of saves as one transaction, each caller getting its own id', async () => {
      const { store, counter, done } = countingStore(kind);
      try {
        await store.saveToken(token(0));
        counter.transactions = 0;
        const burst = Array.from({ length: 40 }, (_, n) => token(n));
        await Promise.all(burst.map((t) => store.saveToken(t)));
        assert.equal(counter.transactions, 1);
        const found = await Promise.all(burst.map((_, n) => store.findToken(byUser(`u${n}@zylker.com`))));
        assert.deepEqual(
          found.map((t) => t?.getId()),
          burst.map((t) => t.getId()),
        );
        assert.equal((await store.getTokens()).length, 40);
      } finally {
        await store.close();
        await done();
      }
    });

    it('fails only the save whose row the server refuses, writing the rest of its group', async () => {
      const { store, done } = countingStore(kind);
      try {
        // An id longer than the official layout's varchar(10): the server refuses the row.
        const refused = new OAuthToken({ id: '12345678901', userName: 'long@zylker.com', accessToken: 'a-long' });
        const burst = [token(1), refused, token(2)];
        const results = await Promise.allSettled(burst.map((t) => store.saveToken(t)));
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled'],
        );
        assert.ok(storageFailure((results[1] as PromiseRejectedResult).reason));
        assert.deepEqual((await store.getTokens()).map((t) => t.getUserSignature()?.getName()).sort(), [
          'u1@zylker.com',
          'u2@zylker.com',
        ]);
      } finally {
        await store.close();
        await done();
      }
    });

    it('takes one transaction per save with coalesceSaves: false', async () => {
      const { store, counter, done } = countingStore(kind, { coalesceSaves: false });
      try {
        await store.saveToken(token(0));
        counter.transactions = 0;
        await Promise.all(Array.from({ length: 10 }, (_, n) => store.saveToken(token(n))));
        assert.equal(counter.transactions, 10);
      } finally {
        await store.close();
        await done();
      }
    });
  });
}
