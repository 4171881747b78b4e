// A refresh-lock holder paused past its lease must not go back in time (issue #15, item 4): a real
// child process takes the lock and refreshes, the emulator holds its answer, and the child is
// SIGSTOPped; its lock lapses (the lease runs out, or on MySQL and PostgreSQL, whose locks live as
// long as a session, the server drops its session, as a partition or an idle timeout would); this
// process refreshes and saves; then SIGCONT. The late save must change nothing.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  customEnvironment,
  OAuthToken,
  refreshAccessToken,
  type TokenLike,
  TokenManager,
  type TokenStore,
} from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { EncryptedStore, generateKey } from 'zoho-token-store/stores/encrypted';
import { MemoryStore } from 'zoho-token-store/stores/memory';
import { emulatorClient, expiredSignIn } from './fixtures/expired-sign-in.js';
import { childOutput, storeChild } from './fixtures/store-child.js';
import {
  dropTestStore,
  freshOptions,
  MYSQL_URL,
  openTestStore,
  POSTGRES_URL,
  serverAnswers,
} from './fixtures/test-stores.js';

const CHILD = resolve(import.meta.dirname, 'fixtures', 'stale-holder-child.ts');
const LEASE_MS = 1_500;
/** How long the emulator holds the paused holder's refresh: it answers while the holder is stopped. */
const HOLD_MS = 800;
const USER = 'ana.lopez@zylker.com';
const KEYS = generateKey('k1');

type Store = TokenStore<TokenLike> & { close(): Promise<void> };

let emulator: ZohoEmulator;
const dir = mkdtempSync(join(tmpdir(), 'zts-stale-'));
before(async () => {
  emulator = await startZohoEmulator();
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

const refreshes = () => emulator.counters()['token.refresh_token'] ?? 0;
const environment = () => customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });

function holder(kind: string, options: Record<string, unknown>, encrypted: boolean): ChildProcess {
  return storeChild(CHILD, kind, options, {
    EMULATOR_URL: emulator.url,
    USER_NAME: USER,
    ...(encrypted ? { ENCRYPTION_KEYS: KEYS } : {}),
  });
}

/** What the holder printed: the access token it ended with, or its error's code, and its events. */
async function outcome(
  child: ChildProcess,
): Promise<{ accessToken: string | null; error: string | null; events: string[] }> {
  return JSON.parse((await childOutput(child)).trim().split('\n').at(-1) as string);
}

/**
 * Ends the paused holder's lock. Leased locks (SQLite, file, Redis) lapse by themselves; a MySQL or
 * PostgreSQL lock lives with its session, which the server is made to drop.
 */
async function dropHolderSession(kind: string, lockKey: string): Promise<void> {
  if (kind === 'mysql') {
    const connection = await mysql.createConnection(MYSQL_URL);
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      "SELECT IS_USED_LOCK(CONCAT('zts-refresh:', SHA1(CONCAT(DATABASE(), '.', ?)))) AS holder",
      [lockKey],
    );
    const session = rows[0]?.holder;
    assert.ok(session != null, 'the paused process holds the MySQL lock');
    await connection.query('KILL ?', [session]);
    await connection.end();
  } else if (kind === 'postgres') {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    // A two-key advisory lock shows its keys as unsigned 32-bit numbers in classid and objid.
    const { rows } = await client.query<{ pid: number }>(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted
         AND classid::bigint = (hashtext('zts-refresh')::bigint & 4294967295)
         AND objid::bigint = (hashtext($1)::bigint & 4294967295)`,
      [lockKey],
    );
    assert.equal(rows.length, 1, 'the paused process holds the PostgreSQL lock');
    await client.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    await client.end();
  }
}

const CASES = [
  { kind: 'sqlite', encrypted: false },
  { kind: 'file', encrypted: false },
  { kind: 'mysql', encrypted: false },
  { kind: 'postgres', encrypted: false },
  { kind: 'redis', encrypted: false },
  { kind: 'sqlite', encrypted: true },
  { kind: 'postgres', encrypted: true },
];

for (const { kind, encrypted } of CASES) {
  const name = encrypted ? `EncryptedStore on ${kind}` : kind;
  describe(`a stale refresh-lock holder, on ${name}`, () => {
    const options = { ...freshOptions(kind, dir), lockLeaseMs: LEASE_MS };
    let skip = false;
    before(async () => {
      if (await serverAnswers(kind)) return;
      if (process.env.CI === 'true') throw new Error(`${kind} does not answer`);
      console.warn(`\n*** ${kind} does not answer: skipping its stale-holder test ***\n`);
      skip = true;
    });
    after(async () => {
      if (!skip) await dropTestStore(kind, options);
    });

    it('paused past its lock, its late save changes nothing and it uses the newer token', async (t) => {
      if (skip) return t.skip(`${kind} does not answer`);
      const inner = (await openTestStore(kind, options)) as Store;
      const store: Store = encrypted ? new EncryptedStore(inner, { keys: KEYS }) : inner;
      try {
        const id = await expiredSignIn(emulator, store, USER);
        emulator.injectFault({ path: '/oauth/v2/token', kind: 'latency', latencyMs: HOLD_MS });
        const paused = holder(kind, options, encrypted);
        const result = outcome(paused);
        for (let waited = 0; refreshes() === 0; waited += 5) {
          assert.ok(waited < 15_000, 'the holder’s refresh never reached the emulator');
          await sleep(5);
        }
        // Inside the refresh, holding the lock: pause it until the emulator has answered it.
        paused.kill('SIGSTOP');
        await sleep(HOLD_MS + 200);
        await dropHolderSession(kind, `zoho-token:${id}`);

        // Another process (this one) takes the lock once it lapsed, refreshes and saves.
        const manager = new TokenManager({ environment: environment(), store, client: emulatorClient, token: { id } });
        const newer = await manager.getAccessToken();
        const newerExpiry = (await manager.getToken()).getExpiresIn();
        assert.equal(refreshes(), 2, 'the holder and this process each refreshed once');

        paused.kill('SIGCONT');
        const late = await result;
        assert.deepEqual(
          { accessToken: late.accessToken, error: late.error },
          { accessToken: newer, error: null },
          'the late holder uses the newer stored token',
        );
        assert.ok(!late.events.includes('refreshed'), 'the late holder saved no refresh');

        const stored = (await store.findTokenById(id)) as TokenLike;
        assert.equal(stored.getAccessToken(), newer, 'the stored access token is the newer one');
        assert.equal(stored.getExpiresIn(), newerExpiry, 'the stored expiry is the newer one');
        assert.equal((await store.getTokens()).length, 1, 'no duplicate rows');
        // Both stored tokens still work at Zoho.
        const user = await fetch(`${emulator.url}/crm/v8/users?type=CurrentUser`, {
          headers: { Authorization: `Zoho-oauthtoken ${newer}` },
        });
        assert.equal(user.status, 200);
        const again = await refreshAccessToken(environment(), emulatorClient, stored.getRefreshToken() as string);
        assert.match(again.accessToken, /^1000\./);
      } finally {
        emulator.clearFaults();
        await store.close();
      }
    });
  });
}

describe('a refresh whose row was replaced meanwhile by a token that is not valid', () => {
  it('saves nothing over it and fails with TOKEN_CHANGED; the next call starts from the stored token', async () => {
    const store = new MemoryStore();
    const id = await expiredSignIn(emulator, store, USER);
    const manager = new TokenManager({ environment: environment(), store, client: emulatorClient, token: { id } });
    emulator.injectFault({ path: '/oauth/v2/token', kind: 'latency', latencyMs: HOLD_MS });
    const late = manager.getAccessToken();
    for (let waited = 0; refreshes() === 0; waited += 5) {
      assert.ok(waited < 5_000, 'the refresh never reached the emulator');
      await sleep(5);
    }
    // Saved meanwhile (a store without a lock): an access token that is already expired.
    await store.saveToken(new OAuthToken({ id, accessToken: '1000.replaced', expiresIn: String(Date.now() - 1) }));
    await assert.rejects(late, { name: 'TokenManagerError', code: 'TOKEN_CHANGED' });
    assert.equal((await store.findTokenById(id))?.getAccessToken(), '1000.replaced', 'nothing saved over it');
    // The next call refreshes from the stored row, under its refresh token.
    assert.match(await manager.getAccessToken(), /^1000\./);
    assert.equal(refreshes(), 2);
    await store.close();
  });
});
