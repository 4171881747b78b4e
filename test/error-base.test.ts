// Every error of the library extends one base class with `code` and `cause`, and one guard knows
// them all, also from another copy of the package.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  createCrmClient,
  customEnvironment,
  type Environment,
  isCrmError,
  isOAuthError,
  isTokenManagerError,
  isTokenStoreError,
  isZohoTokenStoreError,
  OAuthToken,
  openStore,
  refreshAccessToken,
  TokenManager,
  ZohoTokenStoreError,
} from 'zoho-token-store';
import { EMULATOR_CLIENT, EmulatorStateError, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { MemoryStore } from 'zoho-token-store/stores/memory';

let emulator: ZohoEmulator;
let environment: Environment;
before(async () => {
  emulator = await startZohoEmulator();
  environment = customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });
});
after(() => emulator.close());

/** What the real components throw, with the name and guard each keeps. */
const cases: { name: string; guard: (value: unknown) => boolean; make: () => Promise<unknown> }[] = [
  { name: 'TokenStoreError', guard: isTokenStoreError, make: () => openStore('nosuchscheme://x') },
  {
    name: 'OAuthError',
    guard: isOAuthError,
    make: () => refreshAccessToken(environment, EMULATOR_CLIENT, '1000.no-such-refresh-token'),
  },
  {
    name: 'TokenManagerError',
    guard: isTokenManagerError,
    make: () =>
      new TokenManager({
        environment,
        store: new MemoryStore(),
        token: { userName: 'nobody@zylker.com' },
      }).getAccessToken(),
  },
  {
    name: 'CrmError',
    guard: isCrmError,
    make: () =>
      createCrmClient({
        tokens: {
          getAccessToken: async () => 'a',
          // No API domain: nowhere to send the call.
          getToken: async () => new OAuthToken({ accessToken: 'a' }),
          invalidate: () => undefined,
          environment,
        },
      }).request('GET', '/crm/v8/org'),
  },
  {
    name: 'EmulatorStateError',
    guard: (value) => value instanceof EmulatorStateError,
    async make() {
      const dir = mkdtempSync(join(tmpdir(), 'zts-errors-'));
      try {
        writeFileSync(join(dir, 'state.json'), 'not json', { mode: 0o600 });
        return await startZohoEmulator({ stateFile: join(dir, 'state.json') });
      } finally {
        rmSync(dir, { recursive: true });
      }
    },
  },
];

describe('ZohoTokenStoreError', () => {
  for (const { name, guard, make } of cases) {
    it(`is the base of ${name}, which keeps its name and guard`, async () => {
      await assert.rejects(make(), (error: unknown) => {
        assert.ok(error instanceof ZohoTokenStoreError, `${String(error)} extends the base`);
        assert.ok(isZohoTokenStoreError(error));
        assert.equal(error.name, name);
        assert.ok(guard(error), `${name}'s own guard still matches`);
        assert.equal(typeof error.code, 'string');
        assert.ok(error.code.length > 0);
        return true;
      });
    });
  }

  it('carries the cause it was given', async () => {
    // Nothing listens on port 1: the driver's connection error is the cause.
    const store = await openStore('postgres://root@127.0.0.1:1/test');
    try {
      await assert.rejects(
        store.getTokens(),
        (error: unknown) =>
          isZohoTokenStoreError(error) &&
          error.code === 'STORAGE_FAILURE' &&
          (error.cause as { code?: string } | undefined)?.code === 'ECONNREFUSED',
      );
    } finally {
      await store.close();
    }
  });

  it('is told apart from errors that are not ours', () => {
    for (const value of [new Error('x'), Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), null, 'text', {}]) {
      assert.equal(isZohoTokenStoreError(value), false);
    }
    // A look-alike by name and code is not enough.
    assert.equal(isZohoTokenStoreError(Object.assign(new Error('x'), { name: 'TokenStoreError', code: 'X' })), false);
  });

  it('is recognised from another copy of the package, where instanceof fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zts-copy-'));
    try {
      for (const file of ['zoho-token-store-error.ts', 'errors.ts']) {
        copyFileSync(new URL(`../src/${file}`, import.meta.url), join(dir, file));
      }
      const copy = (await import(pathToFileURL(join(dir, 'errors.ts')).href)) as typeof import('../src/errors.js');
      const error = new copy.TokenStoreError('CLOSED', 'closed');
      assert.equal(error instanceof ZohoTokenStoreError, false, 'a class of another copy');
      assert.ok(isZohoTokenStoreError(error));
      assert.ok(isTokenStoreError(error));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
