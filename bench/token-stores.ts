// Issue #2 workload: N tokens for N users, then random findToken by user name, by refresh token,
// findTokenById, and upserts — for MemoryStore, SQLiteStore (file) and the official SDK's FileStore.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sdk from '@zohocrm/typescript-sdk-8.0';
import Database from 'better-sqlite3';
import { OAuthToken, type OAuthTokenFields, type TokenLike } from 'zoho-token-store';
import { MemoryStore } from 'zoho-token-store/stores/memory';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';

const SIZES = process.env.BENCH_SIZES ? process.env.BENCH_SIZES.split(',').map(Number) : [1_000, 10_000, 100_000];
const OP_SECONDS = 1.5; // each operation runs this long (or MAX_OPS), whichever comes first
const MAX_OPS = 2_000_000;
const PASS_LIMIT_MS = 60_000; // a store whose fill alone takes longer at a size is skipped there
const CLIENT = {
  clientId: '1000.7Q2ZV9EXAMPLECLIENTID0000000',
  clientSecret: '8f2c0e3b1a4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a',
};

interface Subject {
  name: string;
  open(dir: string): { store: Store; newToken(fields: OAuthTokenFields): TokenLike; close(): Promise<void> };
}
type Store = {
  findToken(token: object): Promise<unknown>;
  saveToken(token: object): Promise<void>;
  findTokenById(id: string): Promise<unknown>;
};

/** The official SDK's own token, as its OAuthBuilder would make it from these fields. */
export const officialToken = (fields: OAuthTokenFields): InstanceType<typeof sdk.OAuthToken> => {
  const token = new sdk.OAuthToken(
    fields.clientId ?? null,
    fields.clientSecret ?? null,
    null,
    fields.refreshToken ?? null,
    fields.redirectURL ?? null,
    null,
    fields.accessToken ?? null,
    fields.userName == null ? null : new sdk.UserSignature(fields.userName),
  );
  if (fields.expiresIn != null) token.setExpiresIn(String(fields.expiresIn));
  if (fields.apiDomain != null) token.setAPIDomain(fields.apiDomain);
  return token;
};

const SUBJECTS: Subject[] = [
  { name: 'MemoryStore', open: () => ours(new MemoryStore()) },
  { name: 'SQLiteStore (file)', open: (dir) => ours(new SQLiteStore({ path: join(dir, 'bench.db') })) },
  {
    name: 'official FileStore',
    open: (dir) => ({
      store: new sdk.FileStore(join(dir, 'official.csv')),
      newToken: officialToken,
      close: async () => {},
    }),
  },
];

function ours(store: MemoryStore | SQLiteStore) {
  return { store, newToken: (fields: OAuthTokenFields) => new OAuthToken(fields), close: () => store.close() };
}

const hex = (n: number, width = 32) => n.toString(16).padStart(width, '0');
const userFields = (i: number, access = 0): OAuthTokenFields => ({
  userName: `student${i}@zylkeracademy.com`,
  ...CLIENT,
  refreshToken: `1000.${hex(i)}.${hex(i * 7 + 1)}`,
  accessToken: `1000.${hex(i + access * 1_000_003)}.${hex(i * 13 + access)}`,
  expiresIn: String(1_764_000_000_000 + i),
  redirectURL: 'https://portal.zylkeracademy.com/oauth/callback',
  apiDomain: 'https://www.zohoapis.com',
});

/** Runs `op` back to back until time or count runs out; returns operations per second. */
async function opsPerSecond(op: (i: number) => Promise<unknown>): Promise<number> {
  const deadline = process.hrtime.bigint() + BigInt(OP_SECONDS * 1e9);
  const start = process.hrtime.bigint();
  let count = 0;
  while (count < MAX_OPS) {
    for (let k = 0; k < 256; k++) await op(count++);
    if (process.hrtime.bigint() > deadline) break;
  }
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

export interface Row {
  store: string;
  n: number;
  fillPerSecond?: number;
  byUser?: number;
  byRefresh?: number;
  byId?: number;
  upsert?: number;
  skipped?: string;
  heapMB?: number;
  /** better-sqlite3 alone, same SELECT by user name: what the file-backed store cannot beat. */
  rawSelect?: number;
}

export async function benchTokenStores(log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const skippedFrom = new Map<string, string>();
  for (const n of SIZES) {
    for (const subject of SUBJECTS) {
      const skip = skippedFrom.get(subject.name);
      if (skip) {
        rows.push({ store: subject.name, n, skipped: skip });
        continue;
      }
      const dir = mkdtempSync(join(tmpdir(), 'zts-bench-'));
      try {
        globalThis.gc?.();
        const heapBefore = process.memoryUsage().heapUsed;
        const { store, newToken, close } = subject.open(dir);
        const ids: string[] = [];
        const fillStart = performance.now();
        let timedOut = false;
        for (let i = 0; i < n; i++) {
          const token = newToken(userFields(i));
          await store.saveToken(token);
          ids.push(token.getId() as string);
          if (performance.now() - fillStart > PASS_LIMIT_MS) {
            timedOut = true;
            break;
          }
        }
        if (timedOut) {
          const reason = `skipped: filling ${n} tokens took over ${PASS_LIMIT_MS / 1000} s (${ids.length} saved by then)`;
          skippedFrom.set(subject.name, reason);
          rows.push({ store: subject.name, n, skipped: reason });
          await close();
          continue;
        }
        const fillPerSecond = n / ((performance.now() - fillStart) / 1000);
        globalThis.gc?.();
        const heapMB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;

        // Lookup values are built before timing, so only the store's work is measured; the
        // order is scattered (deterministic) so lookups do not walk memory in insertion order.
        const order = Int32Array.from({ length: 1 << 16 }, (_, i) => (i * 2_654_435_761) % n);
        const pick = (i: number) => order[i & 0xffff] as number;
        const users = Array.from({ length: n }, (_, i) => userFields(i).userName as string);
        const refreshTokens = Array.from({ length: n }, (_, i) => userFields(i).refreshToken as string);
        const updates = Array.from({ length: 1 << 12 }, (_, i) => userFields(pick(i), i + 1));
        const row: Row = { store: subject.name, n, fillPerSecond, heapMB };
        row.byUser = await opsPerSecond((i) => store.findToken(newToken({ userName: users[pick(i)] as string })));
        row.byRefresh = await opsPerSecond((i) =>
          // Plain literals, no spread: a spread object makes V8's property reads megamorphic.
          store.findToken(
            newToken({
              clientId: CLIENT.clientId,
              clientSecret: CLIENT.clientSecret,
              refreshToken: refreshTokens[pick(i)] as string,
            }),
          ),
        );
        row.byId = await opsPerSecond((i) => store.findTokenById(ids[pick(i)] as string));
        if (store instanceof SQLiteStore) {
          // The floor under SQLiteStore: the same indexed SELECT through better-sqlite3 alone.
          const raw = new Database(join(dir, 'bench.db'), { readonly: true });
          const select = raw.prepare('SELECT * FROM oauthtoken WHERE user_name = ?');
          row.rawSelect = await opsPerSecond(async (i) => select.get(users[pick(i)]));
          raw.close();
        }
        row.upsert = await opsPerSecond((i) => store.saveToken(newToken(updates[i & 0xfff] as OAuthTokenFields)));
        rows.push(row);
        log(`  ${subject.name} N=${n}: ${fmt(row.byUser)} findToken/s by user`);
        await close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  return rows;
}

export const fmt = (value: number | undefined): string =>
  value === undefined
    ? '—'
    : value >= 1e6
      ? `${(value / 1e6).toFixed(2)} M`
      : value >= 1e3
        ? `${(value / 1e3).toFixed(1)} k`
        : value.toFixed(0);
