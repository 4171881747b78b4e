// Issue #3 workload: getAccessToken() for a valid token (throughput and p99 latency) on MemoryStore
// and SQLiteStore, beside the official SDK's getToken() on its FileStore; and a 1,000-call stampede
// on an expired token, counted at the emulator.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sdk from '@zohocrm/typescript-sdk-8.0';
import { customEnvironment, type TokenLike, TokenManager, type TokenStore } from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { MemoryStore } from 'zoho-token-store/stores/memory';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';

const SECONDS = 1.5;
const LATENCY_SAMPLES = 200_000;
const USER = 'ana.lopez@zylker.com';
const client = {
  clientId: EMULATOR_CLIENT.clientId,
  clientSecret: EMULATOR_CLIENT.clientSecret,
  redirectUri: EMULATOR_CLIENT.redirectUris[0],
};

export interface ManagerRow {
  subject: string;
  callsPerSecond: number;
  p50Us: number;
  p99Us: number;
}
export interface StampedeRow {
  subject: string;
  refreshRequests: number;
  ms: number;
  failed: number;
}

async function measure(subject: string, call: () => Promise<unknown>, samples = LATENCY_SAMPLES): Promise<ManagerRow> {
  for (let i = 0; i < 1000; i++) await call();
  const deadline = performance.now() + SECONDS * 1000;
  let calls = 0;
  const start = performance.now();
  while (performance.now() < deadline) for (let k = 0; k < 256; k++, calls++) await call();
  const callsPerSecond = calls / ((performance.now() - start) / 1000);
  const latencies = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    latencies[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  latencies.sort();
  return {
    subject,
    callsPerSecond,
    p50Us: latencies[Math.floor(samples * 0.5)] as number,
    p99Us: latencies[Math.floor(samples * 0.99)] as number,
  };
}

function managerFor(
  emulator: ZohoEmulator,
  store: TokenStore<TokenLike>,
  token: { grantToken: string } | { userName: string },
) {
  const environment = customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });
  return new TokenManager({ environment, store, client, token, now: () => emulator.clock.now() });
}

export async function benchTokenManager(): Promise<{ rows: ManagerRow[]; stampede: StampedeRow[] }> {
  const emulator = await startZohoEmulator();
  const dir = mkdtempSync(join(tmpdir(), 'zts-bench-manager-'));
  const rows: ManagerRow[] = [];
  const stampede: StampedeRow[] = [];
  try {
    for (const [name, store] of [
      ['TokenManager + MemoryStore', new MemoryStore()],
      ['TokenManager + SQLiteStore (file)', new SQLiteStore({ path: join(dir, 'manager.db') })],
    ] as const) {
      const manager = managerFor(emulator, store, { grantToken: emulator.issueGrantCode({ userEmail: USER }) });
      await manager.getAccessToken();
      rows.push(await measure(`${name}: getAccessToken()`, () => manager.getAccessToken()));

      emulator.clock.advance(2 * 3_600_000);
      emulator.resetCounters();
      const fresh = managerFor(emulator, store, { userName: USER });
      const t0 = performance.now();
      const results = await Promise.allSettled(Array.from({ length: 1000 }, () => fresh.getAccessToken()));
      stampede.push({
        subject: name,
        refreshRequests: emulator.counters()['token.refresh_token'] ?? 0,
        ms: performance.now() - t0,
        failed: results.filter((r) => r.status === 'rejected').length,
      });
      await store.close();
    }

    // The official SDK: getToken() reads its CSV FileStore on every call.
    const sdkToken = new sdk.OAuthBuilder()
      .clientId(client.clientId)
      .clientSecret(client.clientSecret)
      .grantToken(emulator.issueGrantCode({ userEmail: USER }))
      .redirectURL(client.redirectUri)
      .build();
    const sdkStore = new sdk.FileStore(join(dir, 'official.csv'));
    const environment = new sdk.Environment(emulator.url, `${emulator.url}/oauth/v2/token`, emulator.url);
    await new sdk.InitializeBuilder()
      .environment(environment)
      .token(sdkToken)
      .store(sdkStore)
      .resourcePath(dir)
      .initialize();
    rows.push(await measure('official SDK + FileStore: getToken()', () => sdkToken.getToken(), 20_000));

    const [saved] = ((await sdkStore.getTokens()) ?? []) as unknown as TokenLike[];
    if (saved) {
      saved.setExpiresIn(String(Date.now() - 1000));
      await sdkStore.saveToken(saved as never);
    }
    emulator.clock.advance(2 * 3_600_000);
    emulator.resetCounters();
    const t0 = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 1000 }, () => sdkToken.getToken()));
    stampede.push({
      subject: 'official SDK + FileStore',
      refreshRequests: emulator.counters()['token.refresh_token'] ?? 0,
      ms: performance.now() - t0,
      failed: results.filter((r) => r.status === 'rejected').length,
    });
  } finally {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, stampede };
}
