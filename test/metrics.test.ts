// OpenTelemetry metrics (issue #15, item 5): after real exchanges and refreshes against the
// emulator, an in-memory reader holds the counters and histograms the README documents; and the
// package as users install it, without @opentelemetry/api, still exchanges and refreshes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { metrics } from '@opentelemetry/api';
import { type HistogramMetricData, MeterProvider, MetricReader, type SumMetricData } from '@opentelemetry/sdk-metrics';
import {
  customEnvironment,
  OAuthToken,
  type TokenLike,
  TokenManager,
  type TokenReference,
  type TokenStore,
} from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { MemoryStore } from 'zoho-token-store/stores/memory';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { emulatorClient, expiredSignIn } from './fixtures/expired-sign-in.js';
import { installPackedPackage } from './fixtures/packed-package.js';

/** A reader the test collects from when it wants, instead of on a timer. */
class CollectingReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

let emulator: ZohoEmulator;
/** The reader of the provider the first test registers (globally, once per process). */
let reader: CollectingReader | undefined;
const dir = mkdtempSync(join(tmpdir(), 'zts-metrics-'));
before(async () => {
  emulator = await startZohoEmulator();
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

const environment = () => customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });

/** Every metric the reader holds, by name. */
async function collected(reader: MetricReader) {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const all = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
  return new Map(all.map((metric) => [metric.descriptor.name, metric]));
}

/** A counter's value per `outcome`. */
const byOutcome = (metric: unknown) =>
  Object.fromEntries(
    ((metric as SumMetricData | undefined)?.dataPoints ?? []).map((point) => [point.attributes.outcome, point.value]),
  );

/** A histogram's number of recordings per value of `attribute`. */
const countsBy = (metric: unknown, attribute: string) =>
  Object.fromEntries(
    ((metric as HistogramMetricData | undefined)?.dataPoints ?? []).map((point) => [
      String(point.attributes[attribute]),
      point.value.count,
    ]),
  );

describe('OpenTelemetry metrics', () => {
  it('counts exchanges and refreshes by outcome, and times lock waits and store calls, in ms', async () => {
    const store = new SQLiteStore({ path: join(dir, 'tokens.db') });
    const manager = (token: TokenReference) =>
      new TokenManager({ environment: environment(), store, client: emulatorClient, token });
    try {
      // Before the application registers its provider: nothing to record into, and nothing breaks.
      await manager({
        grantToken: emulator.issueGrantCode({ userEmail: 'kenji.sato@zylkeracademy.com' }),
      }).getAccessToken();

      reader = new CollectingReader();
      assert.ok(metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] })));
      // Registered after the library's first use, the provider still gets every measurement.
      await manager({ grantToken: emulator.issueGrantCode({ userEmail: 'ana.lopez@zylker.com' }) }).getAccessToken();
      const id = await expiredSignIn(emulator, store, 'ana.lopez@zylker.com');
      const refreshing = manager({ id });
      const fresh = await refreshing.getAccessToken();
      // Zoho refuses an unknown refresh token: a refused refresh.
      const bogus = new OAuthToken({
        userName: 'lost@zylker.com',
        refreshToken: '1000.unknown.refresh',
        accessToken: '1000.old',
        expiresIn: String(Date.now() - 1_000),
      });
      await store.saveToken(bogus);
      await assert.rejects(manager({ userName: 'lost@zylker.com' }).getAccessToken(), {
        code: 'REAUTHORIZATION_REQUIRED',
      });

      const found = await collected(reader);
      // expiredSignIn signed in once more: two exchanges since the provider was registered.
      assert.deepEqual(byOutcome(found.get('zoho_token_store.exchanges')), { success: 2 });
      assert.deepEqual(byOutcome(found.get('zoho_token_store.refreshes')), { success: 1, refused: 1 });
      assert.equal(found.get('zoho_token_store.refreshes')?.descriptor.unit, '{refresh}');
      assert.equal(found.get('zoho_token_store.exchanges')?.descriptor.unit, '{exchange}');
      const lockWait = found.get('zoho_token_store.lock.wait');
      assert.equal(lockWait?.descriptor.unit, 'ms');
      assert.deepEqual(countsBy(lockWait, 'outcome'), { acquired: 4 });
      const storeDuration = found.get('zoho_token_store.store.duration');
      assert.equal(storeDuration?.descriptor.unit, 'ms');
      const calls = countsBy(storeDuration, 'operation');
      for (const operation of ['findToken', 'findTokenById', 'saveToken', 'saveTokenIfUnchanged']) {
        assert.ok((calls[operation] ?? 0) > 0, `no ${operation} recorded: ${JSON.stringify(calls)}`);
      }

      // The hot path (a valid token in memory) records nothing.
      for (let i = 0; i < 1_000; i++) assert.equal(await refreshing.getAccessToken(), fresh);
      assert.deepEqual(countsBy((await collected(reader)).get('zoho_token_store.store.duration'), 'operation'), calls);
    } finally {
      await store.close();
    }
  });

  it('counts every other outcome: rate limited, failed, superseded, deleted; a lock not taken; a store error', async () => {
    assert.ok(reader, 'the first test registered the provider');
    const collector = reader;
    const before = await collected(collector);
    const delta = async () => {
      const after = await collected(collector);
      const diff = (name: string, of: (metric: unknown) => Record<string, number>) => {
        const [was, now] = [of(before.get(name)), of(after.get(name))];
        return Object.fromEntries(
          Object.entries(now)
            .map(([key, value]) => [key, value - (was[key] ?? 0)])
            .filter(([, value]) => value !== 0),
        );
      };
      return {
        refreshes: diff('zoho_token_store.refreshes', byOutcome),
        lockWait: diff('zoho_token_store.lock.wait', (metric) => countsBy(metric, 'outcome')),
        storeErrors: diff('zoho_token_store.store.duration', (metric) => {
          const { undefined: _succeeded, ...failed } = countsBy(metric, 'error.type');
          return failed;
        }),
      };
    };
    const memory = new MemoryStore();
    const expired = (userName: string) => expiredSignIn(emulator, memory, userName);
    const manager = (token: TokenReference, store: TokenStore<TokenLike> = memory) =>
      new TokenManager({
        environment: environment(),
        store,
        client: emulatorClient,
        token,
        http: { retries: 0 },
      });
    try {
      // Zoho's "Access Denied", then a server error.
      let id = await expired('ana.lopez@zylker.com');
      emulator.injectFault({ path: '/oauth/v2/token', kind: 'access-denied' });
      await assert.rejects(manager({ id }).getAccessToken(), { code: 'RATE_LIMITED' });
      emulator.injectFault({ path: '/oauth/v2/token', kind: 'status', status: 503 });
      await assert.rejects(manager({ id }).getAccessToken());

      // A store without a lock: a second manager refreshes and saves while the first one's answer
      // is held, so the first one's save is superseded; then the same with a delete in between.
      for (const between of ['refresh', 'delete'] as const) {
        id = await expired('kenji.sato@zylkeracademy.com');
        emulator.injectFault({ path: '/oauth/v2/token', kind: 'latency', latencyMs: 300 });
        const late = manager({ id }).getAccessToken();
        for (let waited = 0; !emulator.counters()['token.refresh_token']; waited += 5) {
          assert.ok(waited < 5_000, 'the held refresh never reached the emulator');
          await sleep(5);
        }
        if (between === 'refresh') {
          const newer = await manager({ id }).getAccessToken();
          assert.equal(await late, newer, 'the late manager uses the newer stored token');
        } else {
          await memory.deleteToken(id);
          await assert.rejects(late, { code: 'TOKEN_DELETED' });
        }
      }

      // A refresh lock another holder keeps past the lock timeout.
      const sqlite = new SQLiteStore({ path: join(dir, 'locked.db'), lockTimeoutMs: 200 });
      try {
        const lockedId = await expiredSignIn(emulator, sqlite, 'ana.lopez@zylker.com');
        await sqlite.withRefreshLock(`zoho-token:${lockedId}`, () =>
          assert.rejects(manager({ id: lockedId }, sqlite).getAccessToken(), { code: 'LOCK_TIMEOUT' }),
        );
      } finally {
        await sqlite.close();
      }
      // A store call that fails: the store is closed.
      await memory.close();
      await assert.rejects(manager({ id }).getAccessToken(), { code: 'CLOSED' });

      assert.deepEqual(await delta(), {
        refreshes: { rate_limited: 1, error: 1, success: 1, superseded: 1, deleted: 1 },
        // expiredSignIn's exchange took the lock; the refused conditional saves show as TOKEN_CHANGED.
        lockWait: { acquired: 1, failed: 1 },
        storeErrors: { CLOSED: 1, TOKEN_CHANGED: 2 },
      });
    } finally {
      emulator.clearFaults();
      await memory.close();
    }
  });

  it('without @opentelemetry/api installed, the package exchanges and refreshes as before', async () => {
    const { app } = installPackedPackage(dir, ['better-sqlite3']);
    const script = `
      import { createRequire } from 'node:module';
      import { customEnvironment, TokenManager } from 'zoho-token-store';
      import { MemoryStore } from 'zoho-token-store/stores/memory';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
      let otel = 'installed';
      try { createRequire(process.cwd() + '/')('@opentelemetry/api'); } catch { otel = 'absent'; }
      const url = process.env.EMULATOR_URL;
      const store = new SQLiteStore({ path: ':memory:' });
      const manager = new TokenManager({
        environment: customEnvironment({ apiBaseUrl: url, accountsUrl: url }),
        store,
        client: JSON.parse(process.env.CLIENT),
        token: { grantToken: process.env.GRANT_CODE },
      });
      const first = await manager.getAccessToken();
      manager.invalidate(first);
      const second = await manager.getAccessToken();
      await store.close();
      console.log(otel, first !== second && second.startsWith('1000.') ? 'refreshed' : 'not refreshed');
    `;
    emulator.resetCounters();
    // Run without blocking: the emulator answers from this process.
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      encoding: 'utf8',
      env: {
        ...process.env,
        EMULATOR_URL: emulator.url,
        CLIENT: JSON.stringify(emulatorClient),
        GRANT_CODE: emulator.issueGrantCode({ userEmail: 'ana.lopez@zylker.com' }),
      },
    });
    assert.equal(stdout.trim(), 'absent refreshed');
    assert.equal(emulator.counters()['token.refresh_token'], 1);
  });
});
