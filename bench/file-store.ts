// `BENCH=file npm run bench`: FileStore findToken and saveToken at N = 1k and 10k, beside the
// official SDK's FileStore (a CSV read whole on every call) on the same tokens.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sdk from '@zohocrm/typescript-sdk-8.0';
import { OAuthToken, type OAuthTokenFields } from 'zoho-token-store';
import { FileStore } from 'zoho-token-store/stores/file';
import { fmt, officialToken } from './token-stores.js';

const SIZES = [1_000, 10_000];
const OP_SECONDS = 1.5;
/** Saves in flight in the concurrent run: what a busy server's requests look like to the store. */
const IN_FLIGHT = 64;
const CLIENT = {
  clientId: '1000.7Q2ZV9EXAMPLECLIENTID0000000',
  clientSecret: '8f2c0e3b1a4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a',
};

const hex = (n: number) => n.toString(16).padStart(32, '0');
const fields = (i: number, version = 0): OAuthTokenFields => ({
  userName: `student${i}@zylkeracademy.com`,
  ...CLIENT,
  refreshToken: `1000.${hex(i)}.${hex(i * 7 + 1)}`,
  accessToken: `1000.${hex(i + version * 1_000_003)}.${hex(i * 13 + version)}`,
  expiresIn: String(1_764_000_000_000 + i),
  apiDomain: 'https://www.zohoapis.com',
});
// A scattered but deterministic order, so lookups do not walk memory in insertion order.
const pick = (i: number, n: number) => (i * 2_654_435_761) % n;

/** Runs `op` (with up to `width` in flight) until time runs out; returns operations per second. */
async function opsPerSecond(op: (i: number) => Promise<unknown>, width = 1, seconds = OP_SECONDS): Promise<number> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let count = 0;
  const worker = async () => {
    while (performance.now() < deadline) for (let k = 0; k < 16; k++) await op(count++);
  };
  await Promise.all(Array.from({ length: width }, worker));
  return count / ((performance.now() - start) / 1000);
}

interface Row {
  store: string;
  n: number;
  find: number;
  saveOne: number;
  saveConcurrent?: number;
}

async function benchOurs(dir: string, n: number, log: (line: string) => void): Promise<Row> {
  const store = new FileStore({ path: join(dir, 'tokens.json') });
  for (let start = 0; start < n; start += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, n - start) }, (_, k) => new OAuthToken(fields(start + k)));
    await Promise.all(batch.map((token) => store.saveToken(token)));
  }
  const users = Array.from({ length: n }, (_, i) => fields(i).userName as string);
  const find = await opsPerSecond((i) => store.findToken(new OAuthToken({ userName: users[pick(i, n)] as string })));
  log(`  FileStore N=${n}: ${fmt(find)} findToken/s`);
  const saveOne = await opsPerSecond((i) => store.saveToken(new OAuthToken(fields(pick(i, n), i + 1))));
  log(`  FileStore N=${n}: ${fmt(saveOne)} saveToken/s one at a time`);
  const saveConcurrent = await opsPerSecond(
    (i) => store.saveToken(new OAuthToken(fields(pick(i, n), i + 1))),
    IN_FLIGHT,
  );
  log(`  FileStore N=${n}: ${fmt(saveConcurrent)} saveToken/s with ${IN_FLIGHT} in flight`);
  await store.close();
  return { store: 'FileStore', n, find, saveOne, saveConcurrent };
}

async function benchOfficial(dir: string, n: number, log: (line: string) => void): Promise<Row> {
  // Seeded in its own format directly: its saveToken rewrites the whole file, so filling is O(N²).
  const path = join(dir, 'official.csv');
  const line = (i: number) => {
    const f = fields(i);
    return [
      i + 1,
      f.userName,
      f.clientId,
      f.clientSecret,
      f.refreshToken,
      f.accessToken,
      '',
      f.expiresIn,
      '',
      f.apiDomain,
    ];
  };
  const header =
    'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain';
  writeFileSync(path, [header, ...Array.from({ length: n }, (_, i) => line(i).join(','))].join('\n'));
  const store = new sdk.FileStore(path);
  const seconds = n > 1_000 ? OP_SECONDS * 2 : OP_SECONDS; // slow enough that a short run counts few calls
  const find = await opsPerSecond(
    (i) => store.findToken(officialToken({ userName: fields(pick(i, n)).userName })),
    1,
    seconds,
  );
  log(`  official FileStore N=${n}: ${fmt(find)} findToken/s`);
  const saveOne = await opsPerSecond((i) => store.saveToken(officialToken(fields(pick(i, n), i + 1))), 1, seconds);
  log(`  official FileStore N=${n}: ${fmt(saveOne)} saveToken/s`);
  return { store: 'official FileStore', n, find, saveOne };
}

/**
 * Runs the FileStore benchmark and returns its markdown section, with the targets
 * checked: findToken ≥ 500k ops/s from the index, saveToken ≥ 1k/s with fsync, awaited one at a time.
 *
 * @example
 * ```ts
 * const section = await benchFileStore((line) => console.error(line));
 * ```
 */
export async function benchFileStore(log: (line: string) => void): Promise<string> {
  log('file store (issue #4 workload)…');
  const rows: Row[] = [];
  for (const n of SIZES) {
    for (const bench of [benchOurs, benchOfficial]) {
      const dir = mkdtempSync(join(tmpdir(), 'zts-bench-file-'));
      try {
        rows.push(await bench(dir, n, log));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const out = [
    '',
    '## FileStore: operations per second',
    '',
    `Every save is durable when it resolves: one checksummed journal record and one fdatasync; the journal is compacted into the file (temporary file, fsync, rename, folder fsync) once it outgrows the file, roughly once per N saves. "${IN_FLIGHT} in flight": concurrent saves share one record (group commit). The official FileStore reads the whole CSV on every call and writes it in place without fsync.`,
    '',
    `| store | N | findToken by user | saveToken, one at a time | saveToken, ${IN_FLIGHT} in flight | findToken × official |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const official = rows.find((r) => r.n === row.n && r.store === 'official FileStore');
    const ratio = official ? `${fmt(row.find / official.find)}×` : '—';
    out.push(
      `| ${row.store} | ${row.n.toLocaleString('en-US')} | ${fmt(row.find)} | ${fmt(row.saveOne)} | ${row.saveConcurrent === undefined ? '—' : fmt(row.saveConcurrent)} | ${ratio} |`,
    );
  }
  const ours = rows.filter((row) => row.store === 'FileStore');
  const slowestFind = Math.min(...ours.map((row) => row.find));
  const slowestSave = Math.min(...ours.map((row) => row.saveOne));
  out.push('', '| target | measured (slowest N) | met |', '|---|---|---|');
  out.push(
    `| FileStore findToken ≥ 500k ops/s | ${fmt(slowestFind)}/s | ${slowestFind >= 500_000 ? 'yes' : '**no**'} |`,
  );
  out.push(
    `| FileStore saveToken ≥ 1k/s with fsync, one at a time | ${fmt(slowestSave)}/s | ${slowestSave >= 1_000 ? 'yes' : '**no**'} |`,
  );
  return out.join('\n');
}
