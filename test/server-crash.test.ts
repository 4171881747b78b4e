// Real crashes of real servers: private PostgreSQL, MariaDB and Redis instances (one per server
// kind, for the whole file) are killed with SIGKILL while several processes save and refresh
// tokens, then restarted. Calls fail typed and bounded meanwhile, every acknowledged save is
// there afterwards, whole and once, and the stores the processes opened recover by themselves.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { customEnvironment, OAuthToken, type TokenLike, TokenManager, type TokenStore } from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { cli } from './fixtures/cli-run.js';
import { type Call, crashToken, type RefreshCall, type SaveCall } from './fixtures/crash-load.js';
import {
  type PrivateServer,
  startPrivateMariaDB,
  startPrivatePostgres,
  startPrivateRedis,
} from './fixtures/private-servers.js';
import { freshOptions, openTestStore } from './fixtures/test-stores.js';

const CHILD = resolve(import.meta.dirname, 'fixtures', 'crash-load-child.ts');
const CHILDREN = 3;
const SAVE_WORKERS = 3;
const REFRESH_USERS = ['r0@zylker.com', 'r1@zylker.com', 'r2@zylker.com'];
// The stores' bounds in this test; every call must end within them, server up or down.
const TIMEOUTS = { connectTimeoutMs: 1000, queryTimeoutMs: 2000, lockTimeoutMs: 2000, lockLeaseMs: 3000 };
const SAVE_BOUND_MS = 4000;
const REFRESH_BOUND_MS = 8000;
// A call that starts this long after the server answers again must succeed.
const RECOVERY_MS = 1500;

type Store = TokenStore<OAuthToken> & { close(): Promise<void> };

let emulator: ZohoEmulator;
before(async () => {
  emulator = await startZohoEmulator({
    users: REFRESH_USERS.map((email, n) => ({ email, firstName: 'Crash', lastName: `Tester ${n}` })),
  });
});
after(() => emulator.close());

function child(kind: string, options: Record<string, unknown>): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CHILD], {
    env: {
      ...process.env,
      STORE_KIND: kind,
      STORE_OPTIONS: JSON.stringify(options),
      EMULATOR_URL: emulator.url,
      SAVE_WORKERS: String(SAVE_WORKERS),
      REFRESH_USERS: JSON.stringify(REFRESH_USERS),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

type Report = { saves: SaveCall[]; refreshes: RefreshCall[] };

/** Resolves once the child said "ready", with a promise of its final JSON report. */
async function started(process: ChildProcess): Promise<{ report: Promise<Report> }> {
  let text = '';
  const report = new Promise<Report>((done, reject) => {
    process.on('error', reject);
    process.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${text}`));
      else done(JSON.parse(text.trim().split('\n').at(-1) as string));
    });
  });
  report.catch(() => undefined);
  await new Promise<void>((ready, reject) => {
    process.stdout?.on('data', (chunk) => {
      text += chunk;
      if (text.includes('ready\n')) ready();
    });
    process.on('exit', () => reject(new Error(`child ended before it was ready: ${text}`)));
  });
  return { report };
}

/** Times one call of the test's own store, so its failure while the server is down is checked too. */
async function timed(work: () => Promise<unknown>): Promise<Call> {
  const start = Date.now();
  try {
    await work();
    return { start, ms: Date.now() - start };
  } catch (error) {
    const { name, code, message } = error as { name: string; code?: string; message: string };
    return { start, ms: Date.now() - start, error: { name, code, message } };
  }
}

function manager(store: Store, token: ConstructorParameters<typeof TokenManager>[0]['token']): TokenManager {
  return new TokenManager({
    environment: customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url }),
    store,
    client: {
      clientId: EMULATOR_CLIENT.clientId,
      clientSecret: EMULATOR_CLIENT.clientSecret,
      redirectUri: EMULATOR_CLIENT.redirectUris[0],
    },
    token,
    refreshWindowMs: 2 * 3_600_000,
  });
}

const versionOf = (token: TokenLike): number => Number(/\.v(\d+)$/.exec(token.getAccessToken() ?? '')?.[1]);

/** Checks the calls' outcomes against the crash's timeline. */
function checkCalls(
  what: string,
  calls: readonly Call[],
  bound: number,
  timeline: { crashed: number; answering: number },
): void {
  for (const call of calls) {
    assert.ok(call.ms <= bound, `a ${what} took ${call.ms} ms, over its bound of ${bound} ms`);
    if (!call.error) continue;
    assert.equal(call.error.name, 'TokenStoreError', `a ${what} failed untyped: ${JSON.stringify(call.error)}`);
    assert.ok(
      call.error.code === 'STORAGE_FAILURE' || call.error.code === 'LOCK_TIMEOUT',
      `a ${what} failed with ${call.error.code}: ${call.error.message}`,
    );
    assert.ok(
      call.start < timeline.answering + RECOVERY_MS,
      `a ${what} failed ${call.start - timeline.answering} ms after the server answered again: ${call.error.message}`,
    );
  }
  assert.ok(
    calls.some((call) => call.error && call.start + call.ms >= timeline.crashed),
    `no ${what} failed while the server was down`,
  );
  assert.ok(
    calls.some((call) => !call.error && call.start > timeline.answering),
    `no ${what} succeeded after the server came back`,
  );
}

const SERVERS: { name: string; kind: string; start: () => Promise<PrivateServer> }[] = [
  { name: 'PostgreSQL', kind: 'postgres', start: startPrivatePostgres },
  { name: 'MariaDB', kind: 'mysql', start: startPrivateMariaDB },
  {
    name: 'Redis, appendonly yes, appendfsync everysec',
    kind: 'redis',
    start: () => startPrivateRedis(['--appendonly', 'yes', '--appendfsync', 'everysec']),
  },
  {
    name: 'Redis, appendonly yes, appendfsync always',
    kind: 'redis',
    start: () => startPrivateRedis(['--appendonly', 'yes', '--appendfsync', 'always']),
  },
];

for (const { name, kind, start } of SERVERS) {
  describe(`kill -9 of ${name} under load`, () => {
    let server: PrivateServer;
    before(async () => {
      server = await start();
    });
    after(() => server?.stop());

    it(`${CHILDREN} processes saving and refreshing: typed, bounded failures, every acknowledged save kept whole and once, recovery without reopening`, async (t) => {
      const options = { ...freshOptions(kind, ''), url: server.url, ...TIMEOUTS };
      const store = (await openTestStore(kind, options)) as Store;
      for (const userName of REFRESH_USERS) {
        await manager(store, { grantToken: emulator.issueGrantCode({ userEmail: userName }) }).getAccessToken();
      }
      const signedIn = new Map(
        (await store.getTokens()).map((token) => [token.getUserName()?.split(':')[0], token.getRefreshToken()]),
      );
      // Zoho allows 10 refreshes per refresh token per 10 minutes: move its clock on.
      const ticker = setInterval(() => emulator.clock.advance(11 * 60_000), 300);
      const children = Array.from({ length: CHILDREN }, () => child(kind, options));
      try {
        const reports = await Promise.all(children.map(started));
        await sleep(1000);
        const crashed = Date.now();
        await server.crash();
        const whileDown = await timed(() => store.getTokens());
        await sleep(1500);
        const restartMs = await server.restart();
        const answering = Date.now();
        await sleep(2500);
        for (const process of children) process.stdin?.end('stop\n');
        const results = await Promise.all(reports.map((r) => r.report));
        clearInterval(ticker);

        const timeline = { crashed, answering };
        const saves = results.flatMap((r) => r.saves);
        const refreshes = results.flatMap((r) => r.refreshes);
        checkCalls('save', saves, SAVE_BOUND_MS, timeline);
        checkCalls('refresh', refreshes, REFRESH_BOUND_MS, timeline);
        assert.equal(whileDown.error?.code, 'STORAGE_FAILURE', JSON.stringify(whileDown));
        assert.ok(whileDown.ms <= SAVE_BOUND_MS, `a read took ${whileDown.ms} ms while the server was down`);

        // The test's own store, opened before the crash, reads everything back.
        const rows = await store.getTokens();
        const byUser = new Map<string, OAuthToken[]>();
        for (const row of rows) {
          const user = row.getUserName()?.split(':')[0] as string;
          byUser.set(user, [...(byUser.get(user) ?? []), row]);
        }
        for (const [user, found] of byUser) assert.equal(found.length, 1, `${found.length} rows for ${user}`);

        // Per user: the last acknowledged version, and the versions tried after it that failed
        // (a failed save may still have been written: its answer was lost with the server).
        const acknowledged = new Map<string, number>();
        const uncertain = new Map<string, Set<number>>();
        for (const save of [...saves].sort((a, b) => a.version - b.version)) {
          if (!save.error) {
            acknowledged.set(save.user, save.version);
            uncertain.delete(save.user);
          } else uncertain.set(save.user, (uncertain.get(save.user) ?? new Set()).add(save.version));
        }
        let lost = 0;
        for (const [user, version] of acknowledged) {
          const row = byUser.get(user)?.[0];
          const stored = row ? versionOf(row) : null;
          if (stored !== version && !(stored !== null && uncertain.get(user)?.has(stored))) lost++;
        }
        const tried = new Set(saves.map((save) => save.user));
        for (const [user, [row]] of byUser) {
          if (REFRESH_USERS.includes(user)) continue;
          assert.ok(tried.has(user), `a row for ${user}, whom no process saved`);
          // Whole: every field is that of the one save its access token names.
          const expected = crashToken(user, versionOf(row as TokenLike));
          for (const field of [
            'getRefreshToken',
            'getAccessToken',
            'getExpiresIn',
            'getClientId',
            'getClientSecret',
            'getAPIDomain',
          ] as const) {
            assert.equal(row?.[field](), expected[field](), `${field} of ${user}`);
          }
        }
        assert.equal(lost, 0, `${lost} of ${acknowledged.size} acknowledged saves are gone`);

        // The refreshed users: one row each, the refresh token of their sign-in, still good at Zoho.
        for (const user of REFRESH_USERS) {
          assert.equal(byUser.get(user)?.[0]?.getRefreshToken(), signedIn.get(user), user);
          assert.match(await manager(store, { userName: user }).getAccessToken(), /^1000\./);
        }
        const failed = (calls: readonly Call[]) => calls.filter((call) => call.error).length;
        t.diagnostic(
          `${name}: ${saves.length} saves (${acknowledged.size} users, ${failed(saves)} failed), ` +
            `${refreshes.length} refreshes (${failed(refreshes)} failed), restart ${restartMs} ms, ` +
            `longest call ${Math.max(...saves.map((s) => s.ms), ...refreshes.map((r) => r.ms))} ms, 0 acknowledged saves lost`,
        );
      } finally {
        clearInterval(ticker);
        for (const process of children) if (process.exitCode === null) process.kill('SIGKILL');
        await store.close();
      }
    });
  });
}

describe('Redis without persistence', () => {
  let server: PrivateServer;
  before(async () => {
    server = await startPrivateRedis(['--appendonly', 'no']);
  });
  after(() => server?.stop());

  it('loses every token on a restart', async () => {
    const store = (await openTestStore('redis', {
      ...freshOptions('redis', ''),
      url: server.url,
      ...TIMEOUTS,
    })) as Store;
    try {
      for (let n = 0; n < 20; n++) await store.saveToken(crashToken(`u${n}@zylker.com`, 1));
      assert.equal((await store.getTokens()).length, 20);
      await server.crash();
      await server.restart();
      assert.equal(
        (await store.findToken(new OAuthToken({ userName: 'u0@zylker.com' })))?.getAccessToken() ?? null,
        null,
      );
      assert.equal((await store.getTokens()).length, 0);
    } finally {
      await store.close();
    }
  });
});

describe('zoho-tokens doctor on Redis persistence', () => {
  let server: PrivateServer;
  let admin: Redis;
  before(async () => {
    server = await startPrivateRedis(['--appendonly', 'no']);
    admin = new Redis(server.url);
  });
  after(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  const doctor = async (url = server.url) => {
    const run = await cli(['doctor', '--store', `${url}?prefix=doctor:`]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    return run.stdout.split('\n').find((text) => text.includes('persistence:')) ?? run.stdout;
  };

  it('warns when Redis keeps nothing, or only RDB snapshots, and passes with the AOF on', async () => {
    await admin.config('SET', 'appendonly', 'no');
    await admin.config('SET', 'save', '');
    assert.equal(
      await doctor(),
      '! persistence: none (appendonly no, no save schedule): a restart of Redis loses every token; ' +
        'set appendonly yes and appendfsync everysec (or always) in redis.conf',
    );
    await admin.config('SET', 'save', '3600 1');
    assert.match(
      await doctor(),
      /^! persistence: RDB snapshots only \(save 3600 1\): a restart of Redis loses the tokens saved since the last snapshot; /,
    );
    await admin.config('SET', 'appendonly', 'yes');
    assert.equal(await doctor(), '✓ persistence: appendonly yes, appendfsync everysec');
    await admin.config('SET', 'appendfsync', 'no');
    assert.match(await doctor(), /^! persistence: appendonly yes, appendfsync no: a crash of the machine /);
    await admin.config('SET', 'appendfsync', 'everysec');
  });

  it('says so when CONFIG is not allowed, reading the AOF state from INFO when it may', async () => {
    await admin.call('ACL', 'SETUSER', 'noconfig', 'on', 'nopass', '~*', '&*', '+@all', '-config');
    await admin.call('ACL', 'SETUSER', 'noinfo', 'on', 'nopass', '~*', '&*', '+@all', '-config', '-info');
    const as = (user: string) => server.url.replace('redis://', `redis://${user}:x@`);
    await admin.config('SET', 'appendonly', 'yes');
    assert.equal(
      await doctor(as('noconfig')),
      '✓ persistence: appendonly yes (appendfsync could not be checked: CONFIG is not allowed)',
    );
    await admin.config('SET', 'appendonly', 'no');
    assert.equal(
      await doctor(as('noconfig')),
      '! persistence: could not check (CONFIG is not allowed, and INFO says appendonly is off); a token store needs appendonly yes',
    );
    assert.equal(
      await doctor(as('noinfo')),
      '! persistence: could not check (CONFIG is not allowed, nor INFO); a token store needs appendonly yes',
    );
  });
});
