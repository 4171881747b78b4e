// Issue #15 workload: a fleet for a day. P app processes share one store and serve U users' API calls
// (TokenManager + createCrmClient, or the official SDK's getToken) against the emulator, on a
// seeded day of bursty traffic. Time is simulated: for each instant with calls, this process sets
// the emulator's clock, sends each worker that clock reading with its calls, and waits for them all,
// so every process decides expiry on the same time and the clock jumps between calls.
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sdk from '@zohocrm/typescript-sdk-8.0';
import mysql from 'mysql2/promise';
import { customEnvironment, exchangeAuthorizationCode, OAuthToken, openStore } from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { type FleetCall, generateTraffic, refreshesDue, userHours } from './fleet-traffic.js';
import type { FleetSubject, FromWorker, ToWorker, WorkerStats } from './fleet-worker.js';
import { officialTable } from './server-stores.js';
import { officialToken } from './token-stores.js';

const WORKER = resolve(import.meta.dirname, 'fleet-worker.ts');
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The day starts here on the emulator's clock: a fixed time, so runs replay exactly. */
const DAY_START = Date.UTC(2026, 0, 5);
const LIFETIME_MS = 3_600_000;
/** The TokenManager's default refresh window, and the official SDK's (it renews under 5 s left). */
const OUR_WINDOW_MS = 60_000;
const OFFICIAL_WINDOW_MS = 4_999;
const client = {
  clientId: EMULATOR_CLIENT.clientId,
  clientSecret: EMULATOR_CLIENT.clientSecret,
  redirectUri: EMULATOR_CLIENT.redirectUris[0],
};

/** The subjects, by the name `BENCH_FLEET_STORES` picks them with. */
export const FLEET_SUBJECTS = {
  sqlite: 'SQLiteStore (file)',
  postgres: 'PostgresStore',
  mysql: 'MySQLStore (MariaDB)',
  redis: 'RedisStore',
  file: 'FileStore',
  'official-db': 'official SDK, DBStore (MariaDB)',
  'official-file': 'official SDK, FileStore',
} as const;
export type FleetSubjectName = keyof typeof FLEET_SUBJECTS;

export interface FleetOptions {
  processes: number;
  users: number;
  hours: number;
  seed: number;
  subjects: readonly FleetSubjectName[];
  log?: (line: string) => void;
}

export interface FleetRow {
  subject: string;
  official: boolean;
  /** Refresh requests that reached the emulator, throttled ones included. */
  tokenRequests: number;
  /** The fewest refreshes that give every call a valid token, and the fewest under this subject's refresh window. */
  minimum: number;
  minimumWithWindow: number;
  accessDenied: number;
  failed: number;
  errors: Record<string, number>;
  calls: number;
  storeOps: number;
  /** µs inside getAccessToken. */
  overheadFree: { p50: number; p99: number; n: number };
  overheadDue: { p50: number; p99: number; n: number };
  /** Of `overheadFree`, the calls served from memory. */
  overheadMemory: { p50: number; p99: number; n: number };
  wallMs: number;
}

export interface FleetResult {
  calls: number;
  userHours: number;
  activeUsers: number;
  rows: FleetRow[];
}

const emailOf = (user: number) => `fleet.user${String(user).padStart(5, '0')}@zylker-fleet.com`;

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number;
};

/** Every user signs in once at the start of the day: a refresh token and an access token from the emulator. */
async function signIn(emulator: ZohoEmulator, users: number) {
  const environment = customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });
  const grants = [];
  for (let start = 0; start < users; start += 25) {
    const batch = Array.from({ length: Math.min(25, users - start) }, (_, k) => {
      const code = emulator.issueGrantCode({ userEmail: emailOf(start + k) });
      return exchangeAuthorizationCode(environment, client, code, { now: () => emulator.clock.now() });
    });
    grants.push(...(await Promise.all(batch)));
  }
  return grants.map((grant, user) => ({
    userName: emailOf(user),
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    redirectURL: client.redirectUri,
    refreshToken: grant.refreshToken,
    accessToken: grant.accessToken,
    expiresIn: String(grant.expiresAt),
    apiDomain: grant.apiDomain ?? emulator.url,
  }));
}

type Seeded = Awaited<ReturnType<typeof signIn>>;

/** Prepares a subject's store with every user's token; returns what workers open and how to clean up. */
async function prepare(
  name: FleetSubjectName,
  dir: string,
  tokens: Seeded,
): Promise<{ subject: FleetSubject; cleanUp: () => Promise<void> }> {
  const suffix = randomBytes(4).toString('hex');
  if (name === 'official-db') {
    const table = `fleet_official_${suffix}`;
    const admin = await mysql.createConnection(MYSQL_URL);
    await admin.query(officialTable(table, false));
    const rows = tokens.map((t, i) => [
      String(i + 1),
      t.userName,
      t.clientId,
      t.clientSecret,
      t.refreshToken,
      t.accessToken,
      null,
      t.expiresIn,
      t.redirectURL,
      t.apiDomain,
    ]);
    for (let start = 0; start < rows.length; start += 500)
      await admin.query(`INSERT INTO ${table} VALUES ?`, [rows.slice(start, start + 500)]);
    return {
      subject: { kind: 'official-db', table },
      cleanUp: async () => {
        await admin.query(`DROP TABLE IF EXISTS ${table}`);
        await admin.end();
      },
    };
  }
  if (name === 'official-file') {
    const path = join(dir, `official-${suffix}.csv`);
    const store = new sdk.FileStore(path);
    for (const t of tokens) await store.saveToken(officialToken(t));
    return { subject: { kind: 'official-file', path }, cleanUp: async () => {} };
  }
  const url = {
    sqlite: `sqlite:${join(dir, `fleet-${suffix}.db`)}`,
    postgres: `${POSTGRES_URL}?table=fleet_pg_${suffix}`,
    mysql: `${MYSQL_URL}?table=fleet_my_${suffix}`,
    redis: `${REDIS_URL}?prefix=fleet:${suffix}:`,
    file: `file:${join(dir, `fleet-${suffix}.json`)}`,
  }[name];
  const store = await openStore(url);
  for (let start = 0; start < tokens.length; start += 100) {
    await Promise.all(tokens.slice(start, start + 100).map((t) => store.saveToken(new OAuthToken(t))));
  }
  await store.close();
  return {
    subject: { kind: 'ours', url },
    cleanUp: async () => {
      const opened = await openStore(url);
      await opened.deleteTokens();
      await opened.close();
      if (name === 'postgres') {
        const { default: pg } = await import('pg');
        const admin = new pg.Client({ connectionString: POSTGRES_URL });
        await admin.connect();
        await admin.query(`DROP TABLE IF EXISTS "fleet_pg_${suffix}", "fleet_pg_${suffix}_activity"`);
        await admin.end();
      } else if (name === 'mysql') {
        const admin = await mysql.createConnection(MYSQL_URL);
        await admin.query(`DROP TABLE IF EXISTS \`fleet_my_${suffix}\`, \`fleet_my_${suffix}_activity\``);
        await admin.end();
      } else if (name === 'redis') {
        const { Redis } = await import('ioredis');
        const redis = new Redis(REDIS_URL);
        const keys = await redis.keys(`fleet:${suffix}:*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      }
    },
  };
}

/** A worker process, with a way to send it a message and wait for its answer. */
function startWorker() {
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--test'));
  const child: ChildProcess = fork(WORKER, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting: ((message: FromWorker) => void)[] = [];
  let exited: Error | null = null;
  child.on('message', (message: FromWorker) => waiting.shift()?.(message));
  child.on('exit', (code) => {
    exited = new Error(`a fleet worker exited with ${code}`);
    for (const reject of waiting.splice(0)) reject({ type: 'done' });
  });
  return {
    ask(message: ToWorker): Promise<FromWorker> {
      if (exited) return Promise.reject(exited);
      return new Promise((answer, reject) => {
        waiting.push((reply) => (exited && reply.type === 'done' ? reject(exited) : answer(reply)));
        child.send(message);
      });
    },
    kill: () => child.kill(),
  };
}

/** One subject's day: seed, fork the workers, replay the traffic instant by instant, collect. */
async function runSubject(
  name: FleetSubjectName,
  traffic: readonly FleetCall[],
  options: FleetOptions,
  dir: string,
): Promise<FleetRow> {
  const official = name.startsWith('official');
  const windowMs = official ? OFFICIAL_WINDOW_MS : OUR_WINDOW_MS;
  const { due } = refreshesDue(traffic, { lifetimeMs: LIFETIME_MS, marginMs: windowMs });
  const users = Array.from({ length: options.users }, (_, user) => ({
    email: emailOf(user),
    firstName: 'Fleet',
    lastName: `User ${user}`,
  }));
  const emulator = await startZohoEmulator({ users });
  emulator.clock.set(DAY_START);
  const { subject, cleanUp } = await prepare(name, dir, await signIn(emulator, options.users));
  const workers = Array.from({ length: options.processes }, startWorker);
  try {
    const emails = users.map((u) => u.email);
    await Promise.all(
      workers.map((w) =>
        w.ask({ type: 'init', subject, emulatorUrl: emulator.url, users: emails, now: emulator.clock.now() }),
      ),
    );
    emulator.resetCounters();
    const started = performance.now();
    for (let i = 0; i < traffic.length; ) {
      const at = (traffic[i] as FleetCall).at;
      const perProcess = new Map<number, [number, boolean][]>();
      for (; i < traffic.length && (traffic[i] as FleetCall).at === at; i++) {
        const call = traffic[i] as FleetCall;
        const list = perProcess.get(call.process) ?? [];
        list.push([call.user, due[i] as boolean]);
        perProcess.set(call.process, list);
      }
      emulator.clock.set(DAY_START + at);
      const now = emulator.clock.now();
      await Promise.all(
        [...perProcess].map(([p, calls]) => workers[p]?.ask({ type: 'step', now, calls }) as Promise<FromWorker>),
      );
    }
    const wallMs = performance.now() - started;
    const stats = (await Promise.all(workers.map((w) => w.ask({ type: 'finish' })))).map(
      (reply) => (reply as Extract<FromWorker, { type: 'stats' }>).stats,
    );
    const sum = (pick: (s: WorkerStats) => number) => stats.reduce((total, s) => total + pick(s), 0);
    const free = stats.flatMap((s) => s.overheadFree);
    const dueTimes = stats.flatMap((s) => s.overheadDue);
    const memory = stats.flatMap((s) => s.overheadMemory);
    const errors: Record<string, number> = {};
    for (const s of stats) for (const [code, n] of Object.entries(s.errors)) errors[code] = (errors[code] ?? 0) + n;
    const row: FleetRow = {
      subject: FLEET_SUBJECTS[name],
      official,
      tokenRequests: emulator.counters()['token.refresh_token'] ?? 0,
      minimum: refreshesDue(traffic, { lifetimeMs: LIFETIME_MS, marginMs: 0 }).refreshes,
      minimumWithWindow: refreshesDue(traffic, { lifetimeMs: LIFETIME_MS, marginMs: windowMs }).refreshes,
      accessDenied: sum((s) => s.accessDenied),
      failed: sum((s) => s.failed),
      errors,
      calls: sum((s) => s.calls),
      storeOps: sum((s) => s.storeOps),
      overheadFree: { p50: percentile(free, 0.5), p99: percentile(free, 0.99), n: free.length },
      overheadDue: { p50: percentile(dueTimes, 0.5), p99: percentile(dueTimes, 0.99), n: dueTimes.length },
      overheadMemory: { p50: percentile(memory, 0.5), p99: percentile(memory, 0.99), n: memory.length },
      wallMs,
    };
    options.log?.(
      `  ${row.subject}: ${row.tokenRequests} refreshes (minimum ${row.minimum}), ${row.accessDenied} Access Denied, ${row.failed} failed, ${(wallMs / 1000).toFixed(1)} s`,
    );
    return row;
  } finally {
    for (const w of workers) w.kill();
    await emulator.close();
    await cleanUp();
  }
}

/**
 * Runs the day once per subject, on the same traffic.
 *
 * @example
 * ```ts
 * const { rows } = await runFleet({ processes: 2, users: 20, hours: 3, seed: 15, subjects: ['sqlite'] });
 * ```
 */
export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  const traffic = generateTraffic(options);
  const dir = mkdtempSync(join(tmpdir(), 'zts-fleet-'));
  const rows: FleetRow[] = [];
  try {
    for (const name of options.subjects) rows.push(await runSubject(name, traffic, options, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    calls: traffic.length,
    userHours: userHours(traffic),
    activeUsers: new Set(traffic.map((c) => c.user)).size,
    rows,
  };
}

const envNumber = (name: string, fallback: number) => {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? fallback : Number(raw);
};

/** `BENCH=fleet`: the day on every store and the official SDK, as markdown for docs/benchmarks.md. */
export async function benchFleet(log: (line: string) => void): Promise<string> {
  const options: FleetOptions = {
    processes: envNumber('BENCH_FLEET_PROCESSES', 8),
    users: envNumber('BENCH_FLEET_USERS', 1_000),
    hours: envNumber('BENCH_FLEET_HOURS', 24),
    seed: envNumber('BENCH_FLEET_SEED', 15),
    subjects: (process.env.BENCH_FLEET_STORES?.split(',') ?? Object.keys(FLEET_SUBJECTS)) as FleetSubjectName[],
    log,
  };
  log(`fleet: ${options.processes} processes, ${options.users} users, ${options.hours} h (issue #15 workload)…`);
  const result = await runFleet(options);
  const out: string[] = [];
  const print = (line = '') => out.push(line);
  const us = (value: number) =>
    Number.isNaN(value) ? '—' : value < 1000 ? `${value.toFixed(0)} µs` : `${(value / 1000).toFixed(1)} ms`;
  const perHour = (n: number) => (n / result.userHours).toFixed(3);
  print();
  print('## Fleet: a simulated day');
  print();
  print(
    `${options.processes} processes, ${options.users} users, ${options.hours} simulated hours, seed ${options.seed}: ${result.calls} API calls by ${result.activeUsers} users over ${result.userHours} user-hours of activity.`,
  );
  print();
  print(
    '| subject | token requests to Zoho | per user-hour | physical minimum (per user-hour) | over the minimum | minimum under its refresh window | Access Denied | failed calls | token overhead p50 / p99, no refresh due | of those, from memory: share, p50 / p99 | p99, refresh due | store operations per call | wall time |',
  );
  print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of result.rows) {
    const over = ((row.tokenRequests / row.minimum - 1) * 100).toFixed(1);
    print(
      `| ${row.subject} | ${row.tokenRequests} | ${perHour(row.tokenRequests)} | ${row.minimum} (${perHour(row.minimum)}) | ${over} % | ${row.minimumWithWindow} | ${row.accessDenied} | ${row.failed} | ${us(row.overheadFree.p50)} / ${us(row.overheadFree.p99)} | ${Math.round((row.overheadMemory.n / Math.max(1, row.overheadFree.n)) * 100)} %, ${us(row.overheadMemory.p50)} / ${us(row.overheadMemory.p99)} | ${us(row.overheadDue.p99)} | ${(row.storeOps / row.calls).toFixed(2)} | ${(row.wallMs / 1000).toFixed(1)} s |`,
    );
  }
  print();
  print('| target | measured | met |');
  print('|---|---|---|');
  for (const row of result.rows.filter((r) => !r.official)) {
    const over = row.tokenRequests / row.minimum - 1;
    print(
      `| ${row.subject}: refreshes within 2 % of the physical minimum | ${row.tokenRequests} / ${row.minimum} (${(over * 100).toFixed(1)} %) | ${over <= 0.02 ? 'yes' : '**no**'} |`,
    );
    print(
      `| ${row.subject}: 0 Access Denied, 0 failed calls | ${row.accessDenied}, ${row.failed} | ${row.accessDenied === 0 && row.failed === 0 ? 'yes' : '**no**'} |`,
    );
    print(
      `| ${row.subject}: token overhead p99 < 1 ms with no refresh due | ${us(row.overheadFree.p99)} | ${row.overheadFree.p99 < 1000 ? 'yes' : '**no**'} |`,
    );
  }
  const failures = result.rows.filter((r) => r.failed > 0);
  if (failures.length > 0) {
    print();
    for (const row of failures)
      print(
        `${row.subject}: failed calls by error: ${Object.entries(row.errors)
          .map(([code, n]) => `${code} ${n}`)
          .join(', ')}.`,
      );
  }
  return out.join('\n');
}
