// One refresh per expiry across OS processes that share a store, and a lock holder that dies.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { customEnvironment, type TokenLike, TokenManager, type TokenStore } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { emulatorClient as client, expiredSignIn } from './fixtures/expired-sign-in.js';
import { childOutput, storeChild } from './fixtures/store-child.js';
import { dropTestStore, freshOptions, openTestStore, serverAnswers } from './fixtures/test-stores.js';

const CHILD = resolve(import.meta.dirname, 'fixtures', 'stampede-child.ts');
const PROCESSES = 8;
const CALLS = 200;

let emulator: ZohoEmulator;
const dir = mkdtempSync(join(tmpdir(), 'zts-multi-'));
before(async () => {
  emulator = await startZohoEmulator();
});
after(async () => {
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

type Store = TokenStore<TokenLike> & { close(): Promise<void> };

function child(
  kind: string,
  options: Record<string, unknown>,
  userName: string,
  extra: Record<string, string> = {},
): ChildProcess {
  return storeChild(CHILD, kind, options, {
    EMULATOR_URL: emulator.url,
    USER_NAME: userName,
    CALLS: String(CALLS),
    ...extra,
  });
}

const KINDS = ['sqlite', 'file', 'mysql', 'postgres', 'redis'];

for (const kind of KINDS) {
  describe(`one refresh across processes: ${kind}`, () => {
    const used: Record<string, unknown>[] = [];
    const optionsFor = () => {
      const options = freshOptions(kind, dir);
      used.push(options);
      return options;
    };
    let skip = false;
    before(async () => {
      if (await serverAnswers(kind)) return;
      // Outside CI a missing server skips loudly; in CI it fails the run.
      if (process.env.CI === 'true') throw new Error(`${kind} does not answer`);
      console.warn(`\n*** ${kind} does not answer: skipping its multi-process tests ***\n`);
      skip = true;
    });
    after(async () => {
      if (!skip) for (const options of used) await dropTestStore(kind, options);
    });

    it(`${PROCESSES} processes × ${CALLS} concurrent calls on an expired token refresh it once`, async (t) => {
      if (skip) return t.skip(`${kind} does not answer`);
      const options = optionsFor();
      const store = (await openTestStore(kind, options)) as Store;
      const userName = 'ana.lopez@zylker.com';
      await expiredSignIn(emulator, store, userName);
      const startAt = String(Date.now() + 2_500);
      const runs = await Promise.all(
        Array.from({ length: PROCESSES }, () => childOutput(child(kind, options, userName, { START_AT: startAt }))),
      );
      const results = runs.map((text) => JSON.parse(text.trim().split('\n').at(-1) as string));
      assert.deepEqual(
        results.map((r) => r.failed),
        Array(PROCESSES).fill(0),
        results.find((r) => r.firstError)?.firstError,
      );
      assert.equal(new Set(results.flatMap((r) => r.tokens)).size, 1, 'every process got the same new token');
      assert.equal(emulator.counters()['token.refresh_token'], 1);
      await store.close();
    });

    it('a process killed while holding the refresh lock blocks the others only for the lease', async (t) => {
      if (skip) return t.skip(`${kind} does not answer`);
      const leaseMs = 1_500;
      const options = { ...optionsFor(), lockLeaseMs: leaseMs };
      const store = (await openTestStore(kind, options)) as Store;
      const userName = 'kenji.sato@zylkeracademy.com';
      const id = await expiredSignIn(emulator, store, userName);
      const holder = child(kind, options, userName, { HOLD_LOCK: `zoho-token:${id}` });
      await new Promise<void>((ready) =>
        holder.stdout?.on('data', (chunk) => String(chunk).includes('holding') && ready()),
      );
      holder.kill('SIGKILL');

      const started = Date.now();
      const manager = new TokenManager({
        environment: customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url }),
        store,
        client,
        token: { userName },
      });
      assert.match(await manager.getAccessToken(), /^1000\./);
      const waited = Date.now() - started;
      assert.ok(waited < leaseMs + 2_000, `waited ${waited} ms for a lease of ${leaseMs} ms`);
      assert.equal(emulator.counters()['token.refresh_token'], 1);
      await store.close();
    });
  });
}
