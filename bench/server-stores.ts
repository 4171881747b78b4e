// Issue #5 workload: findToken by user name and saveToken (upsert) on MySQLStore, PostgresStore
// and RedisStore at N = 10k and 100k, beside the official SDK's DBStore on the same MariaDB and
// the same N: once on the table its README creates (primary key only), once with an index on
// user_name added. Our stores run with their defaults, lookup and save coalescing on;
// BENCH_COALESCE=0 turns both off.
import { randomBytes } from 'node:crypto';
import sdk from '@zohocrm/typescript-sdk-8.0';
import mysql from 'mysql2/promise';
import { OAuthToken, type OAuthTokenFields } from 'zoho-token-store';
import { MySQLStore } from 'zoho-token-store/stores/mysql';
import { PostgresStore } from 'zoho-token-store/stores/postgres';
import { RedisStore } from 'zoho-token-store/stores/redis';
import { fmt, officialToken, type Row } from './token-stores.js';

const SIZES = process.env.BENCH_SERVER_SIZES
  ? process.env.BENCH_SERVER_SIZES.split(',').map(Number)
  : [10_000, 100_000];
const OP_SECONDS = 2;
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const FILL_CONCURRENCY = 32;
const coalesce = process.env.BENCH_COALESCE !== '0';
const coalescing = { coalesceLookups: coalesce, coalesceSaves: coalesce };

type BenchStore = {
  findToken(token: object): Promise<unknown>;
  saveToken(token: object): Promise<void>;
  deleteTokens(): Promise<void>;
};

const userName = (i: number) => `student${i}@zylkeracademy.com`;
const fields = (i: number, round = 0): OAuthTokenFields => ({
  userName: userName(i),
  clientId: '1000.7Q2ZV9EXAMPLECLIENTID0000000',
  clientSecret: '8f2c0e3b1a4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a',
  refreshToken: `1000.${i.toString(16).padStart(32, '0')}.${round.toString(16).padStart(32, '0')}`,
  accessToken: `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`,
  expiresIn: String(1_764_000_000_000 + i),
  apiDomain: 'https://www.zohoapis.com',
});

/** Operations per second with `concurrency` callers in flight, as a pooled server sees them. */
async function throughput(op: (i: number) => Promise<unknown>, concurrency: number): Promise<number> {
  const deadline = performance.now() + OP_SECONDS * 1000;
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await op(next++);
    }),
  );
  return next / ((performance.now() - start) / 1000);
}

async function fill(
  store: BenchStore,
  n: number,
  newToken: (f: OAuthTokenFields) => object,
  concurrency: number,
): Promise<number> {
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) await store.saveToken(newToken(fields(i)));
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

// The table the official SDK's README creates for its DBStore: the primary key is its only index.
export const officialTable = (name: string, indexed: boolean) =>
  `CREATE TABLE ${name} (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255),
   client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255),
   expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), PRIMARY KEY (id)${indexed ? ', INDEX (user_name)' : ''})`;

async function seedOfficial(admin: mysql.Connection, table: string, n: number): Promise<void> {
  await admin.query(`DELETE FROM ${table}`);
  for (let start = 0; start < n; start += 500) {
    const rows = Array.from({ length: Math.min(500, n - start) }, (_, k) => {
      const f = fields(start + k);
      return [
        String(start + k + 1),
        f.userName,
        f.clientId,
        f.clientSecret,
        f.refreshToken,
        f.accessToken,
        null,
        f.expiresIn,
        null,
        f.apiDomain,
      ];
    });
    await admin.query(`INSERT INTO ${table} VALUES ?`, [rows]);
  }
}

/** A row of this section: findToken and saveToken also with one caller, and the official DBStore's at 32. */
export interface ServerRow extends Row {
  byUserAlone?: number;
  byUserAt32?: number;
  upsertAlone?: number;
}

const officialStore = (table: string) =>
  new sdk.DBBuilder()
    .host('127.0.0.1')
    .databaseName('test')
    .userName('root')
    .password('')
    .portNumber(3306)
    .tableName(table)
    .build() as unknown as BenchStore;

export async function benchServerStores(log: (line: string) => void): Promise<ServerRow[]> {
  const rows: ServerRow[] = [];
  const suffix = randomBytes(4).toString('hex');
  const ours = (f: OAuthTokenFields) => new OAuthToken(f);
  const plainTable = `bench_official_${suffix}`;
  const indexedTable = `bench_official_ix_${suffix}`;
  const admin = await mysql.createConnection(MYSQL_URL);
  await admin.query(officialTable(plainTable, false));
  await admin.query(officialTable(indexedTable, true));
  const subjects: [string, () => BenchStore & { close?(): Promise<void> }, (f: OAuthTokenFields) => object, string?][] =
    [
      [
        'MySQLStore (MariaDB)',
        () => new MySQLStore({ url: MYSQL_URL, table: `bench_mysql_${suffix}`, ...coalescing }),
        ours,
      ],
      [
        'PostgresStore',
        () => new PostgresStore({ url: POSTGRES_URL, table: `bench_pg_${suffix}`, ...coalescing }),
        ours,
      ],
      ['RedisStore', () => new RedisStore({ url: REDIS_URL, prefix: `bench:${suffix}:`, ...coalescing }), ours],
      [OFFICIAL, () => officialStore(plainTable), officialToken, plainTable],
      [OFFICIAL_INDEXED, () => officialStore(indexedTable), officialToken, indexedTable],
    ];
  try {
    for (const n of SIZES) {
      for (const [name, open, newToken, table] of subjects) {
        const store = open();
        // The official DBStore numbers rows max(id) + 1 on its varchar id, which is lexicographic
        // ('9' > '10'): its 11th insert collides. Its table is seeded directly, so only its
        // lookups and updates are measured. It opens a connection per call: 4 callers, and 32.
        const fillPerSecond = table ? undefined : await fill(store, n, newToken, FILL_CONCURRENCY);
        if (table) await seedOfficial(admin, table, n);
        const concurrency = table ? 4 : 32;
        const pick = (i: number) => (i * 2_654_435_761) % n;
        const row: ServerRow = { store: name, n, fillPerSecond };
        const findByUser = (i: number) => store.findToken(newToken({ userName: userName(pick(i)) }));
        row.byUser = await throughput(findByUser, concurrency);
        // One caller: no lookups to coalesce, so what a lone request pays.
        row.byUserAlone = await throughput(findByUser, 1);
        if (table) row.byUserAt32 = await throughput(findByUser, 32);
        log(`  ${name} N=${n}: ${fmt(row.byUser)} findToken/s, ${fmt(row.byUserAlone)} with 1 caller`);
        // Upserts of existing users only: the official DBStore's inserts would race on max(id) + 1.
        const upsert = (i: number) => store.saveToken(newToken(fields(pick(i), i + 1)));
        row.upsert = await throughput(upsert, concurrency);
        row.upsertAlone = await throughput(upsert, 1);
        rows.push(row);
        log(`  ${name} N=${n}: ${fmt(row.upsert)} saveToken/s, ${fmt(row.upsertAlone)} with 1 caller`);
        if (table) await admin.query(`DELETE FROM ${table}`);
        else await store.deleteTokens();
        await store.close?.();
      }
    }
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${plainTable}, ${indexedTable}`);
    await admin.end();
  }
  return rows;
}

export const OFFICIAL = 'official DBStore, README table';
export const OFFICIAL_INDEXED = 'official DBStore, user_name indexed';
