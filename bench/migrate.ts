// `BENCH=migrate npm run bench`: `zoho-tokens migrate` of 100k tokens from SQLite into PostgreSQL,
// run as users run it (the built bin, in its own process), timed from spawn to exit, with the
// process's peak RSS. BENCH_MIGRATE_BIN points at another build of the bin, to compare versions.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';

const N = Number(process.env.BENCH_MIGRATE_N ?? 100_000);
const TARGET_SECONDS = 30;
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
const BIN = process.env.BENCH_MIGRATE_BIN ?? fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
// GNU time reports the peak RSS of the process it runs (%M, KiB); without it the column says so.
const GNU_TIME = '/usr/bin/time';
const RSS_MARK = 'zts-bench-peak-rss-kib=';

/** Fills the official `oauthtoken` layout directly: seeding is not what is measured. */
async function seedSqlite(path: string, n: number): Promise<void> {
  await new SQLiteStore({ path }).close();
  const db = new Database(path);
  const insert = db.prepare('INSERT INTO oauthtoken VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?)');
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      insert.run(
        String(1_000_000_000 + i),
        `student${i}@zylkeracademy.com`,
        '1000.7Q2ZV9EXAMPLECLIENTID0000000',
        '8f2c0e3b1a4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a',
        `1000.${i.toString(16).padStart(32, '0')}.${randomBytes(16).toString('hex')}`,
        `1000.${randomBytes(16).toString('hex')}.${randomBytes(16).toString('hex')}`,
        String(1_764_000_000_000 + i),
        'https://www.zohoapis.com',
      );
    }
  })();
  db.close();
}

interface BinRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** Peak resident set size in MiB, or null when it could not be measured. */
  peakMiB: number | null;
}

function runBin(args: string[]): Promise<BinRun> {
  const started = performance.now();
  const measured = existsSync(GNU_TIME);
  const command = [process.execPath, BIN, ...args];
  const child = measured
    ? spawn(GNU_TIME, ['-f', `${RSS_MARK}%M`, ...command], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      const mark = stderr.lastIndexOf(RSS_MARK);
      const kib = mark === -1 ? Number.NaN : Number.parseInt(stderr.slice(mark + RSS_MARK.length), 10);
      if (mark !== -1) stderr = stderr.slice(0, mark);
      resolve({ code, stdout, stderr, seconds, peakMiB: Number.isFinite(kib) ? kib / 1024 : null });
    }),
  );
}

/**
 * Runs the benchmark (needs `npm run build` first, as `npm run bench` does) and returns its markdown section.
 *
 * @example
 * ```ts
 * const section = await benchMigrate((line) => console.error(line));
 * ```
 */
export async function benchMigrate(log: (line: string) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zts-bench-migrate-'));
  const table = `bench_migrate_${randomBytes(4).toString('hex')}`;
  const target = new URL(POSTGRES_URL);
  target.searchParams.set('table', table);
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    const source = join(dir, 'tokens.db');
    log(`migrate: seeding ${N} tokens into SQLite…`);
    await seedSqlite(source, N);
    const args = ['migrate', '--from', `sqlite:${source}`, '--to', target.toString(), '--no-progress'];
    const rows: string[] = [];
    // The second run finds every token already there: it measures the re-run that must add nothing.
    for (const run of ['first run', 're-run (all updates)']) {
      log(`migrate: SQLite → PostgreSQL, ${run}…`);
      const result = await runBin(args);
      const peak = result.peakMiB === null ? 'not measured' : `${Math.round(result.peakMiB)} MiB`;
      log(`  exit ${result.code}, ${result.seconds.toFixed(1)} s, peak RSS ${peak}`);
      const { rows: count } = await admin.query(`SELECT count(*)::int AS n FROM "${table}"`);
      const held = count[0]?.n as number;
      const verified = result.code === 0 && /every source id is among them/.test(result.stdout) && held === N;
      const failure = result.code === 0 ? '' : ` (${result.stderr.trim().split('\n')[0]})`;
      rows.push(
        `| ${run} | ${result.seconds.toFixed(1)} s | ${Math.round(N / result.seconds).toLocaleString('en-US')} | ${peak} | ${held.toLocaleString('en-US')} | ${verified ? 'yes' : `**no**${failure}`} | ${result.seconds < TARGET_SECONDS ? 'yes' : '**no**'} |`,
      );
    }
    return [
      '',
      `## zoho-tokens migrate: ${N.toLocaleString('en-US')} tokens, SQLite → PostgreSQL`,
      '',
      'The built bin (`node dist/cli/index.js migrate --from sqlite:… --to postgres://…?table=… --no-progress`), timed',
      'from spawn to exit: read 1,000 tokens at a time, copy with ids kept, and the check that the target holds',
      'every source id. Peak RSS is that of the bin (GNU time). The re-run must leave exactly as many rows.',
      '',
      '| run | wall time | tokens/s | peak RSS | target rows | verified | under 30 s |',
      '|---|---:|---:|---:|---:|---|---|',
      ...rows,
    ].join('\n');
  } finally {
    await admin.query(`DROP TABLE IF EXISTS "${table}", "${table}_activity"`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}
