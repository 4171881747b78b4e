// `zoho-tokens revoke` against the local Zoho emulator, with real tokens from a code exchange,
// on a SQLite file and the local PostgreSQL.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  customEnvironment,
  type Environment,
  exchangeAuthorizationCode,
  isOAuthError,
  OAuthErrorCode,
  OAuthToken,
  openStore,
  refreshAccessToken,
} from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { generateKey } from 'zoho-token-store/stores/encrypted';
import { assertNoSecrets, type CliStore, cli, cliStoreKinds, freshCliStore, secretsOf } from './fixtures/cli-run.js';
import { POSTGRES_URL } from './fixtures/test-stores.js';

const USER = 'ana.lopez@zylker.com';
const client = {
  clientId: EMULATOR_CLIENT.clientId,
  clientSecret: EMULATOR_CLIENT.clientSecret,
  redirectUri: EMULATOR_CLIENT.redirectUris[0],
};

let emulator: ZohoEmulator;
let environment: Environment;
before(async () => {
  emulator = await startZohoEmulator();
  environment = customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });
});
after(() => emulator.close());

const KEYS = generateKey('k1');

/** A token as Zoho issues it after sign-in, saved in the store (encrypted with `keys` when given). */
async function signIn(url: string, keys?: string, at = emulator): Promise<OAuthToken> {
  const grant = await exchangeAuthorizationCode(
    customEnvironment({ apiBaseUrl: at.url, accountsUrl: at.url }),
    client,
    at.issueGrantCode({ userEmail: USER }),
  );
  const token = new OAuthToken({
    userName: USER,
    ...client,
    refreshToken: grant.refreshToken,
    accessToken: grant.accessToken,
    expiresIn: grant.expiresAt,
    apiDomain: grant.apiDomain,
  });
  const store = await openStore(url, { keys });
  await store.saveToken(token);
  await store.close();
  return token;
}

async function findById(url: string, id: string) {
  // As stored: whether the row is there, encrypted or not.
  const store = await openStore(url);
  (store as { passSealedValues?: () => unknown }).passSealedValues?.();
  try {
    return await store.findTokenById(id);
  } finally {
    await store.close();
  }
}

const refreshRefused = (refreshToken: string) =>
  assert.rejects(refreshAccessToken(environment, client, refreshToken), (error: unknown) => {
    assert.ok(isOAuthError(error) && error.code === OAuthErrorCode.INVALID_GRANT, String(error));
    return true;
  });

for (const kind of await cliStoreKinds()) {
  describe(`zoho-tokens revoke on ${kind}`, () => {
    let store: CliStore;
    beforeEach(() => {
      store = freshCliStore(kind);
      emulator.resetCounters();
      emulator.clearFaults();
      // A fresh window for Zoho's rate limits: every test signs in anew.
      emulator.clock.advance(10 * 60_000);
    });
    afterEach(() => store.drop());

    it('revokes the refresh token at Zoho, then deletes the token', async () => {
      const token = await signIn(store.url);
      const id = token.getId() as string;
      const run = await cli(['revoke', id, '--store', store.url, '--accounts-url', emulator.url, '--verbose']);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `Revoked token ${id} (${USER}) at ${emulator.url} and deleted it.\n`);
      assert.equal(emulator.counters().revoke, 1);
      assert.equal(await findById(store.url, id), null);
      await refreshRefused(token.getRefreshToken() as string);
      assertNoSecrets(run, secretsOf(token));
    });

    it('deletes a token Zoho no longer knows, and says so', async () => {
      const token = await signIn(store.url);
      const id = token.getId() as string;
      await fetch(`${emulator.url}/oauth/v2/token/revoke?token=${encodeURIComponent(token.getRefreshToken() ?? '')}`, {
        method: 'POST',
      });
      const run = await cli(['revoke', id, '--store', store.url, '--accounts-url', emulator.url]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stdout,
        `Zoho (${emulator.url}) no longer knows token ${id} (${USER}); deleted it from the store.\n`,
      );
      assert.equal(emulator.counters().revoke, 2);
      assert.equal(await findById(store.url, id), null);
    });

    it('keeps the token when Zoho cannot be reached, and exits 1', async () => {
      const token = await signIn(store.url);
      const id = token.getId() as string;
      emulator.injectFault({ path: '/oauth/v2/token/revoke', kind: 'status', status: 503, times: Infinity });
      const run = await cli(['revoke', id, '--store', store.url, '--accounts-url', emulator.url, '--verbose']);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        new RegExp(
          `^zoho-tokens: could not revoke token ${id} \\(${USER}\\) at ${emulator.url} \\(the token was kept\\): HTTP 503 [^\\n]*\\(SERVER_ERROR\\) — run revoke again later\\n$`,
        ),
      );
      assert.equal(run.stdout, '');
      assert.equal((await findById(store.url, id))?.getRefreshToken(), token.getRefreshToken());
      assertNoSecrets(run, secretsOf(token));
    });

    it('revokes an emulator token at the emulator it came from, with no option', async () => {
      const token = await signIn(store.url);
      const id = token.getId() as string;
      assert.equal(token.getAPIDomain(), emulator.url, 'the emulator hands out its own URL as the API domain');
      const run = await cli(['revoke', id, '--store', store.url], { env: { ZOHO_DC: 'EU' } });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `Revoked token ${id} (${USER}) at the emulator at ${emulator.url} and deleted it.\n`);
      assert.equal(emulator.counters().revoke, 1);
      assert.equal(await findById(store.url, id), null);
      await refreshRefused(token.getRefreshToken() as string);
    });

    it('keeps a token of an emulator that is stopped, naming the cause and the fix in one line', async () => {
      const gone = await startZohoEmulator();
      const token = await signIn(store.url, undefined, gone);
      await gone.close();
      const id = token.getId() as string;
      const run = await cli(['revoke', id, '--store', store.url]);
      assert.equal(run.code, 1);
      const port = new URL(gone.url).port;
      assert.equal(
        run.stderr,
        `zoho-tokens: could not revoke token ${id} (${USER}) at the emulator at ${gone.url} (the token was kept): ` +
          `connection refused at 127.0.0.1:${port} (ECONNREFUSED) — start that emulator (npm start does), ` +
          'or give --accounts-url URL of the one that issued the token\n',
      );
      assert.equal((await findById(store.url, id))?.getRefreshToken(), token.getRefreshToken(), 'kept');
      const verbose = await cli(['revoke', id, '--store', store.url, '-v']);
      const lines = verbose.stderr.trimEnd().split('\n');
      assert.ok(lines.length > 1, 'the chain follows');
      assert.equal(new Set(lines).size, lines.length, 'no line repeats');
      assert.ok(
        lines.slice(1).every((line) => !lines[0]?.includes(line.replace(/^ {2}caused by \w+: /, ''))),
        `no cause repeats the line above:\n${verbose.stderr}`,
      );
      assertNoSecrets(verbose, secretsOf(token));
    });

    it('names --accounts-url for a token whose API domain is neither Zoho nor on this machine', async () => {
      const token = new OAuthToken({
        userName: USER,
        ...client,
        refreshToken: '1000.refresh-of-elsewhere',
        apiDomain: 'https://crm.zylker.example',
      });
      const seeded = await openStore(store.url);
      await seeded.saveToken(token);
      await seeded.close();
      const run = await cli(['revoke', token.getId() as string, '--store', store.url]);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        "zoho-tokens: the token's API domain https://crm.zylker.example is no Zoho data center — give --accounts-url URL of the accounts server that issued it\n",
      );
      assert.notEqual(await findById(store.url, token.getId() as string), null, 'kept');
    });

    it('revokes a token of an encrypted store with ZOHO_TOKEN_KEY, and refuses to without it', async () => {
      const token = await signIn(store.url, KEYS);
      const id = token.getId() as string;
      const args = ['revoke', id, '--store', store.url, '--accounts-url', emulator.url];
      const keyless = await cli(args);
      assert.equal(keyless.code, 2, 'a missing key is configuration to fix');
      assert.match(
        keyless.stderr,
        new RegExp(
          `^zoho-tokens: .*token ${id} is encrypted and this store has no key.*ZOHO_TOKEN_KEY.*\\(NO_KEY\\) — [^\n]*\n$`,
        ),
      );
      assert.equal(emulator.counters().revoke ?? 0, 0, 'no ciphertext was sent to Zoho');
      assert.notEqual(await findById(store.url, id), null, 'kept');

      const run = await cli(args, { env: { ZOHO_TOKEN_KEY: KEYS } });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(emulator.counters().revoke, 1);
      assert.equal(await findById(store.url, id), null);
      await refreshRefused(token.getRefreshToken() as string);
      assertNoSecrets(run, [...secretsOf(token), KEYS.slice(3)]);
    });

    it("refuses a --dc other than the token's data center, calling no one and keeping the token", async () => {
      const token = new OAuthToken({
        userName: USER,
        ...client,
        refreshToken: '1000.refresh-of-the-eu-dc',
        apiDomain: 'https://www.zohoapis.eu',
      });
      const seeded = await openStore(store.url);
      await seeded.saveToken(token);
      await seeded.close();
      const id = token.getId() as string;
      const run = await cli(['revoke', id, '--store', store.url, '--dc', 'us']);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        "zoho-tokens: the token's API domain https://www.zohoapis.eu is in the EU data center, not US — drop --dc\n",
      );
      assert.equal((await findById(store.url, id))?.getRefreshToken(), token.getRefreshToken(), 'kept');
      assertNoSecrets(run, secretsOf(token));
    });

    it('refuses a token without a refresh token, and an unknown id, with exit 1', async () => {
      const store2 = await openStore(store.url);
      const online = new OAuthToken({ userName: 'ben.carter@zylker.com', ...client, accessToken: '1000.only-access' });
      await store2.saveToken(online);
      await store2.close();
      const id = online.getId() as string;
      const run = await cli(['revoke', id, '--store', store.url, '--accounts-url', emulator.url]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /has no refresh token for Zoho to revoke; `zoho-tokens delete \d+` drops it\n$/);
      assert.notEqual(await findById(store.url, id), null);

      const unknown = await cli(['revoke', '1234567890', '--store', store.url, '--accounts-url', emulator.url]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /no token with id 1234567890/);
      assert.equal(emulator.counters().revoke ?? 0, 0, 'Zoho was not called');
    });
  });
}

// Only a server store can be made to fail between the read and the delete from outside the process.
const KINDS = await cliStoreKinds();
describe('zoho-tokens revoke when the store fails after Zoho revoked', { skip: !KINDS.includes('postgres') }, () => {
  it('says Zoho revoked it and the delete failed; a re-run deletes it', async () => {
    const store = freshCliStore('postgres');
    const table = new URL(store.url).searchParams.get('table') as string;
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    try {
      emulator.resetCounters();
      emulator.clock.advance(10 * 60_000);
      const token = await signIn(store.url);
      const id = token.getId() as string;
      // The revoke waits at the emulator while the table goes away, so the delete after it fails.
      emulator.injectFault({ path: '/oauth/v2/token/revoke', kind: 'latency', latencyMs: 300 });
      const running = cli(['revoke', id, '--store', store.url, '--accounts-url', emulator.url]);
      while ((emulator.counters().revoke ?? 0) === 0) await sleep(10);
      await admin.query(`ALTER TABLE "${table}" RENAME TO "${table}_away"`);
      const run = await running;
      await admin.query(`ALTER TABLE "${table}_away" RENAME TO "${table}"`);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        new RegExp(
          `^zoho-tokens: revoked token ${id} \\(${USER}\\) at ${emulator.url}, but deleting it from postgres://\\S+ failed: relation \\S+ does not exist \\(42P01\\) — run revoke again\\n$`,
        ),
      );
      await refreshRefused(token.getRefreshToken() as string);
      assert.notEqual(await findById(store.url, id), null, 'still stored');

      const again = await cli(['revoke', id, '--store', store.url, '--accounts-url', emulator.url]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /no longer knows token .*; deleted it from the store\.\n$/);
      assert.equal(await findById(store.url, id), null);
      assertNoSecrets(run, secretsOf(token));
    } finally {
      await admin.end();
      await store.drop();
    }
  });
});
