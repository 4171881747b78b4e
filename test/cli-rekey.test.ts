// `zoho-tokens rekey`, run in-process against a real SQLite file and the local PostgreSQL (a table
// of its own per test): rotation from an old key and from plain text, re-runs, and key errors.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { OAuthToken } from 'zoho-token-store';
import { generateKey } from 'zoho-token-store/stores/encrypted';
import {
  assertNoSecrets,
  type CliStore,
  cli,
  cliStoreKinds,
  freshCliStore,
  sampleToken,
  secretsOf,
  seed,
  storedTokens,
} from './fixtures/cli-run.js';

const K1 = generateKey('k1');
const K2 = generateKey('k2');
const materialOf = (...keys: string[]) => keys.map((key) => key.slice(key.indexOf(':') + 1));

const SECRETS = ['getClientSecret', 'getRefreshToken', 'getAccessToken', 'getGrantToken'] as const;

/** The stored secret values of every token, as the storage holds them, sorted for comparison. */
const rawSecrets = async (url: string) =>
  (await storedTokens(url))
    .flatMap((token) => SECRETS.map((get) => token[get]()))
    .filter((v) => v !== null)
    .sort();

for (const kind of await cliStoreKinds()) {
  describe(`zoho-tokens rekey on ${kind}`, () => {
    let store: CliStore;
    let ana: OAuthToken;
    let ben: OAuthToken;
    let cleo: OAuthToken;
    let secrets: string[];
    beforeEach(() => {
      store = freshCliStore(kind);
      ana = sampleToken('ana.lopez@zylker.com');
      ben = sampleToken('ben.carter@zylker.com', { grantToken: '1000.grant-ben' });
      cleo = sampleToken('cleo@zylker.com');
      secrets = [...secretsOf(ana, ben, cleo), ...materialOf(K1, K2)];
    });
    afterEach(() => store.drop());

    it('re-encrypts tokens under an old key and plain ones under the new key, and a re-run changes nothing', async () => {
      await seed(store.url, K1, ana, ben);
      await seed(store.url, undefined, cleo);
      const env = { ZOHO_TOKEN_KEY: `${K2},${K1}` };

      // A plain token in an encrypted store stops a rekey that was not asked to take it in.
      const before = await rawSecrets(store.url);
      const strict = await cli(['rekey', '--store', store.url], { env });
      assert.equal(strict.code, 1);
      assert.match(strict.stderr, /stored in plain text in an encrypted store.*\(NOT_ENCRYPTED\)$/m);
      assert.deepEqual(await rawSecrets(store.url), before, 'the refused run changed nothing');

      const run = await cli(['rekey', '--migrate', '--store', store.url], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      assert.match(run.stdout, /^Re-encrypted all 3 tokens in .+ under key k2\.$/m);
      assertNoSecrets(run, secrets);

      const raw = await rawSecrets(store.url);
      assert.equal(raw.length, 12, 'four secret columns of three rows');
      for (const value of raw) assert.match(value as string, /^(enc:v2:k2:[is]:[A-Za-z0-9_-]+)?$/);
      const byUser = new Map((await storedTokens(store.url, K2)).map((t) => [t.getUserSignature()?.getName(), t]));
      for (const token of [ana, ben, cleo]) {
        const now = byUser.get(token.getUserSignature()?.getName());
        for (const get of SECRETS) assert.equal(now?.[get](), token[get](), `${get} of ${token.getId()}`);
      }

      const again = await cli(['rekey'], { env: { ...env, TOKEN_STORE_URL: store.url } });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^All 3 tokens in .+ are already under key k2\.$/m);
      assert.deepEqual(await rawSecrets(store.url), raw, 'a re-run rewrote values');
    });

    it('counts only the tokens that needed it', async () => {
      await seed(store.url, K2, ana, ben);
      await seed(store.url, K1, cleo);
      const run = await cli(['rekey', '--store', store.url], { env: { ZOHO_TOKEN_KEY: `${K2},${K1}` } });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Re-encrypted 1 of 3 tokens in .+ under key k2; the other 2 already were\.$/m);
    });

    it('without ZOHO_TOKEN_KEY says what it needs in one line, exits 2 and opens nothing', async () => {
      const run = await cli(['rekey', '--store', store.url]);
      assert.equal(run.code, 2);
      assert.equal(run.stdout, '');
      assert.equal(run.stderr.trimEnd().split('\n').length, 1);
      assert.match(
        run.stderr,
        /^zoho-tokens: rekey needs the keyring in ZOHO_TOKEN_KEY.*\(NO_KEY\) — .*zoho-tokens keygen makes a key\)$/m,
      );
      if (kind === 'sqlite') assert.ok(!existsSync(store.url.slice('sqlite:'.length)), 'a store file was created');
    });

    it('rejects a malformed keyring with NO_KEY, never echoing it', async () => {
      await seed(store.url, K1, ana);
      const before = await rawSecrets(store.url);
      const bad = `k2:${materialOf(K2)[0]?.slice(0, 30)},${K1}`;
      const run = await cli(['rekey', '--store', store.url, '--verbose'], { env: { ZOHO_TOKEN_KEY: bad } });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /^zoho-tokens: .*\(NO_KEY\) — /m);
      assertNoSecrets(run, [...secrets, bad.slice(3, 33)]);
      assert.deepEqual(await rawSecrets(store.url), before);
    });

    it('stops with UNKNOWN_KEY, changing nothing, when a token is under a key the keyring lacks', async () => {
      await seed(store.url, undefined, ana);
      await seed(store.url, K1, ben);
      const before = await rawSecrets(store.url);
      const run = await cli(['rekey', '--migrate', '--store', store.url], { env: { ZOHO_TOKEN_KEY: K2 } });
      assert.equal(run.code, 2);
      assert.equal(run.stdout, '');
      assert.match(
        run.stderr,
        /^zoho-tokens: .*key k1, which the keyring \(k2\) does not hold \(UNKNOWN_KEY\) — add the key the store names to ZOHO_TOKEN_KEY$/m,
      );
      assertNoSecrets(run, secrets);
      assert.deepEqual(await rawSecrets(store.url), before);
    });

    it('fails with WRONG_KEY when the old key id holds other key material', async () => {
      await seed(store.url, K1, ana);
      const run = await cli(['rekey', '--store', store.url], { env: { ZOHO_TOKEN_KEY: `${K2},${generateKey('k1')}` } });
      assert.equal(run.code, 2);
      assert.match(run.stderr, /do not decrypt under key k1.*\(WRONG_KEY\) — /m);
      assertNoSecrets(run, secrets);
    });
  });
}

describe('zoho-tokens rekey usage', () => {
  it('has --help, a line in the command list, and exits 2 on bad options', async () => {
    const help = await cli(['rekey', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: zoho-tokens rekey/);
    assert.match((await cli(['--help'])).stdout, /^ {2}rekey +\S/m);
    const bad = await cli(['rekey', '--keys', 'x'], { env: { ZOHO_TOKEN_KEY: K1 } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /rekey --help/);
    const both = await cli(['rekey', '--progress', '--no-progress'], { env: { ZOHO_TOKEN_KEY: K1 } });
    assert.equal(both.code, 2);
  });

  it('draws a progress bar on stderr with --progress', async () => {
    const store = freshCliStore('sqlite');
    try {
      await seed(store.url, K1, sampleToken('ana@zylker.com'), sampleToken('ben@zylker.com'));
      const run = await cli(['rekey', '--store', store.url, '--progress'], { env: { ZOHO_TOKEN_KEY: `${K2},${K1}` } });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /rekey \[█+\] 2\/2 100%/);
    } finally {
      await store.drop();
    }
  });
});
