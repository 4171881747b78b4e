// A real network partition between app hosts: three network namespaces on a bridge share a private
// PostgreSQL or Redis and reach the Zoho emulator, all in the root namespace. One host takes the
// refresh lock and its refresh is held open at Zoho; its link is then cut (packets dropped
// silently). The other hosts must wait at most the lease, then refresh once between them; the cut
// host's late answer, after the link heals, must change nothing.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  customEnvironment,
  fetchCurrentUserEmail,
  OAuthToken,
  refreshAccessToken,
  type TokenLike,
  TokenManager,
  type TokenStore,
} from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { PostgresStore } from 'zoho-token-store/stores/postgres';
import { RedisStore } from 'zoho-token-store/stores/redis';
import {
  createNetHosts,
  type NetHost,
  type NetHosts,
  netHostsUnsupported,
  relayToLoopback,
  removeLeftovers,
} from './fixtures/net-hosts.js';
import { type PrivateServer, startPrivatePostgres, startPrivateRedis } from './fixtures/private-servers.js';

const CHILD = resolve(import.meta.dirname, 'fixtures', 'net-host-child.ts');
const LEASE_MS = 2_000;
// How long Zoho holds the cut host's refresh: past the lease, the others' refresh and the heal.
const HOLD_MS = 6_000;
const USER = 'ana.lopez@zylker.com';
const client = { clientId: EMULATOR_CLIENT.clientId, clientSecret: EMULATOR_CLIENT.clientSecret };

// Root is needed for namespaces; outside CI a machine without it skips loudly, CI must run it.
const unsupported = netHostsUnsupported();
const skip = unsupported !== null && process.env.CI !== 'true';
if (skip) console.warn(`\n*** network partition tests skipped: ${unsupported} ***\n`);

type Store = TokenStore<TokenLike> & { close(): Promise<void> };
interface HostResult {
  accessToken?: string;
  error?: string;
  ms: number;
}
/** An app process on a host, ready to ask for a token on `go()`. */
interface App {
  process: ChildProcess;
  go(): Promise<HostResult>;
}

describe('a network partition between hosts', { skip: skip && String(unsupported) }, () => {
  let net: NetHosts | undefined;
  let emulator: ZohoEmulator | undefined;
  let relay: { url: string; close(): void } | undefined;
  const servers: PrivateServer[] = [];
  const urls: Record<string, string> = {};
  const apps: App[] = [];

  before(async () => {
    removeLeftovers();
    net = createNetHosts(3);
    const postgres = await startPrivatePostgres(net.serverAddress);
    servers.push(postgres);
    urls.postgres = postgres.url;
    // Protected mode would refuse the hosts: the bridge is not loopback and has no password.
    const redis = await startPrivateRedis(['--appendonly', 'no', '--protected-mode', 'no'], net.serverAddress);
    servers.push(redis);
    urls.redis = redis.url;
    emulator = await startZohoEmulator();
    relay = await relayToLoopback(net.serverAddress, Number(new URL(emulator.url).port));
  });
  // Processes first: a namespace lives on while a process runs in it.
  after(async () => {
    for (const app of apps) app.process.kill('SIGKILL');
    relay?.close();
    await emulator?.close();
    for (const server of servers) await server.stop();
    net?.close();
  });

  async function startApp(host: NetHost, kind: string, options: Record<string, unknown>): Promise<App> {
    const child = host.spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CHILD], {
      env: {
        ...process.env,
        STORE_KIND: kind,
        STORE_OPTIONS: JSON.stringify(options),
        ZOHO_URL: relay?.url,
        USER_NAME: USER,
      },
    });
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const next = () =>
      new Promise<string>((resolveLine, reject) => {
        lines.once('line', resolveLine);
        child.once('exit', (code) => reject(new Error(`${host.namespace}: app exited ${code}`)));
      });
    const app: App = {
      process: child,
      go: async () => {
        const answer = next();
        child.stdin?.write('go\n');
        return JSON.parse(await answer);
      },
    };
    apps.push(app);
    assert.equal(await next(), 'ready');
    return app;
  }

  for (const kind of ['postgres', 'redis']) {
    describe(kind, () => {
      let store: Store;
      let others: HostResult[];
      let late: HostResult;
      let refreshes: number;
      let afterRefresh: TokenLike;
      let afterLate: TokenLike;
      let rows: number;

      before(async () => {
        const suffix = randomBytes(4).toString('hex');
        const options = {
          url: urls[kind],
          ...(kind === 'postgres' ? { table: `tokens_${suffix}` } : { prefix: `tokens:${suffix}:` }),
          lockLeaseMs: LEASE_MS,
          lockTimeoutMs: 15_000,
        };
        const zoho = emulator as ZohoEmulator;
        store = kind === 'postgres' ? new PostgresStore(options) : new RedisStore(options);
        // Signed in, then expired: the next call on any host refreshes.
        const direct = customEnvironment({ apiBaseUrl: zoho.url, accountsUrl: zoho.url });
        const signIn = new TokenManager({
          environment: direct,
          store,
          client: { ...client, redirectUri: EMULATOR_CLIENT.redirectUris[0] },
          token: { grantToken: zoho.issueGrantCode({ userEmail: USER }) },
        });
        await signIn.getAccessToken();
        const token = (await store.findToken(new OAuthToken({ userName: USER }))) as TokenLike;
        token.setExpiresIn(String(Date.now() - 1_000));
        await store.saveToken(token);

        const [cut, ...rest] = (net as NetHosts).hosts as [NetHost, ...NetHost[]];
        const [partitioned, ...waiting] = await Promise.all([cut, ...rest].map((h) => startApp(h, kind, options)));
        zoho.resetCounters();
        zoho.injectFault({ path: '/oauth/v2/token', kind: 'latency', latencyMs: HOLD_MS });
        const lateAnswer = (partitioned as App).go();
        // Its refresh has reached Zoho: it holds the refresh lock. Now its link goes.
        for (const giveUp = Date.now() + 10_000; zoho.counters()['token.refresh_token'] !== 1; await sleep(5)) {
          if (Date.now() > giveUp) throw new Error('the first host never asked Zoho for a refresh');
        }
        cut.cut();
        try {
          others = await Promise.all(waiting.map((app) => app.go()));
          refreshes = zoho.counters()['token.refresh_token'] ?? 0;
          afterRefresh = (await store.findTokenById(token.getId() as string)) as TokenLike;
        } finally {
          cut.heal();
        }
        late = await lateAnswer;
        afterLate = (await store.findTokenById(token.getId() as string)) as TokenLike;
        rows = (await store.getTokens()).length;
      });
      after(() => store?.close());

      it('the other hosts wait at most the lease, then exactly one of them refreshes', (t) => {
        t.diagnostic(
          `lease ${LEASE_MS} ms; the waiting hosts got a token after ${others.map((r) => r.ms).join(' and ')} ms`,
        );
        for (const result of others) {
          assert.ok(result.accessToken, `a waiting host failed: ${result.error}`);
          // They did wait for the cut holder's lock, and not much past its lease.
          assert.ok(result.ms >= LEASE_MS - 500 && result.ms < LEASE_MS + 1_000, `waited ${result.ms} ms`);
        }
        assert.equal(new Set(others.map((r) => r.accessToken)).size, 1, 'both waiting hosts got the same token');
        assert.equal(refreshes, 2, 'the cut host’s refresh and one more');
        assert.equal(afterRefresh.getAccessToken(), others[0]?.accessToken);
      });

      it('no refresh token is lost and no row is duplicated', async () => {
        const zoho = emulator as ZohoEmulator;
        assert.equal(rows, 1);
        const direct = customEnvironment({ apiBaseUrl: zoho.url, accountsUrl: zoho.url });
        // The stored tokens still work at Zoho: the access token for the API, the refresh token for a refresh.
        assert.equal(
          await fetchCurrentUserEmail(zoho.url, afterLate.getAccessToken() as string, { environment: direct }),
          USER,
        );
        const grant = await refreshAccessToken(direct, client, afterLate.getRefreshToken() as string);
        assert.match(grant.accessToken, /^1000\./);
      });

      // The save after a refresh is conditional on the row it read (saveTokenIfUnchanged): the cut
      // host's late save finds the row moved on and writes nothing.
      it('the cut host’s late answer changes nothing', (t) => {
        t.diagnostic(`the cut host answered after ${late.ms} ms: ${late.error ?? 'a token'}`);
        assert.ok(late.ms >= HOLD_MS, `the cut host answered after ${late.ms} ms`);
        assert.deepEqual(
          [afterLate.getAccessToken(), afterLate.getRefreshToken(), afterLate.getExpiresIn()],
          [afterRefresh.getAccessToken(), afterRefresh.getRefreshToken(), afterRefresh.getExpiresIn()],
        );
      });
    });
  }
});
