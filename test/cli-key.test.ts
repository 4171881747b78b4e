// zoho-tokens with ZOHO_TOKEN_KEY: stores opened encrypted, secrets read back decrypted (and still
// masked), `doctor`'s key checks, and wrong or malformed keys reported in one line without key material.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { maskSecret, type OAuthToken } from 'zoho-token-store';
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
const OTHER_K1 = generateKey('k1');
/** The key material of every keyring used here: it must never be printed either. */
const KEY_MATERIAL = [K1, K2, OTHER_K1].map((key) => key.slice(key.indexOf(':') + 1));

/** The refresh tokens as stored, read without a key. */
const rawRefreshTokens = async (url: string) => (await storedTokens(url)).map((token) => token.getRefreshToken());

for (const kind of await cliStoreKinds()) {
  describe(`zoho-tokens with ZOHO_TOKEN_KEY on ${kind}`, () => {
    let store: CliStore;
    let plain: CliStore;
    let ana: OAuthToken;
    let ben: OAuthToken;
    let secrets: string[];
    beforeEach(() => {
      store = freshCliStore(kind);
      plain = freshCliStore('sqlite');
      ana = sampleToken('ana.lopez@zylker.com');
      ben = sampleToken('ben.carter@zylker.com');
      secrets = [...secretsOf(ana, ben), ...KEY_MATERIAL];
    });
    afterEach(async () => {
      await store.drop();
      await plain.drop();
    });

    it('migrates a plain store into an encrypted one; list and show read it back, masked', async () => {
      const [anaId] = await seed(plain.url, undefined, ana, ben);
      const env = { ZOHO_TOKEN_KEY: K1 };
      // A plain token is taken for one only when asked: it could have been written around the encryption.
      const strict = await cli(['migrate', '--from', plain.url, '--to', store.url], { env });
      assert.equal(strict.code, 1);
      assert.match(strict.stderr, /plain text.*\(NOT_ENCRYPTED\)$/m);
      const run = await cli(['migrate', '--migrate', '--from', plain.url, '--to', store.url], { env });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /The target holds 2 tokens; every source id is among them/);

      const stored = await rawRefreshTokens(store.url);
      assert.equal(stored.length, 2);
      for (const value of stored) assert.match(value as string, /^enc:v2:k1:i:/, 'a blind index at rest');

      const listed = await cli(['list', '--json', '--store', store.url], { env });
      assert.equal(listed.code, 0, listed.stderr);
      const view = (JSON.parse(listed.stdout) as Record<string, unknown>[]).find((entry) => entry.id === anaId);
      // The mask shows the length and last characters of the secret itself, not of its ciphertext.
      assert.equal(view?.refreshToken, maskSecret(ana.getRefreshToken()));
      assert.equal(view?.clientSecret, maskSecret(ana.getClientSecret()));

      const shown = await cli(['show', anaId as string, '--store', store.url], { env });
      assert.equal(shown.code, 0, shown.stderr);
      assert.ok(shown.stdout.includes(`refresh token ${maskSecret(ana.getRefreshToken())}`));
      for (const output of [run, listed, shown]) assertNoSecrets(output, secrets);
    });

    it('without ZOHO_TOKEN_KEY, list and show say a secret is encrypted instead of masking ciphertext', async () => {
      const [anaId] = await seed(store.url, K1, ana);
      await seed(store.url, undefined, ben); // written before encryption was turned on: plain
      const listed = await cli(['list', '--json', '--store', store.url]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(
        listed.stderr,
        'zoho-tokens: ZOHO_TOKEN_KEY is not set, so the secrets of 1 token show as "encrypted"\n',
      );
      const views = JSON.parse(listed.stdout) as Record<string, unknown>[];
      const anaView = views.find((entry) => entry.id === anaId);
      assert.equal(anaView?.refreshToken, 'encrypted');
      assert.equal(anaView?.clientSecret, 'encrypted');
      assert.equal(anaView?.grantToken, null);
      const benView = views.find((entry) => entry.id !== anaId);
      assert.equal(benView?.refreshToken, maskSecret(ben.getRefreshToken()), 'a plain token is masked as usual');

      const shown = await cli(['show', anaId as string, '--store', store.url]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /^refresh token +encrypted$/m);
      assert.match(shown.stderr, /the secrets of 1 token show as "encrypted"/);
      for (const run of [listed, shown]) assertNoSecrets(run, secrets);
    });

    it('doctor checks the key: it decrypts, it is missing, wrong, malformed or stale', async () => {
      await seed(store.url, K1, ana, ben);

      const good = await cli(['doctor', '--store', store.url], { env: { ZOHO_TOKEN_KEY: K1 } });
      assert.equal(good.code, 0, good.stdout);
      assert.match(good.stdout, /^✓ key: ZOHO_TOKEN_KEY decrypts every stored token \(2 tokens checked\)$/m);

      const none = await cli(['doctor', '--store', store.url]);
      assert.equal(none.code, 1, none.stdout);
      assert.match(none.stdout, /^✗ key: ZOHO_TOKEN_KEY is not set, yet the store holds 2 encrypted tokens$/m);

      const wrong = await cli(['doctor', '--store', store.url], { env: { ZOHO_TOKEN_KEY: OTHER_K1 } });
      assert.equal(wrong.code, 1, wrong.stdout);
      assert.match(wrong.stdout, /^✓ store answers: /m);
      assert.match(
        wrong.stdout,
        /^✗ key: ZOHO_TOKEN_KEY does not decrypt the stored tokens: .*\(WRONG_KEY\)( — .*)?$/m,
      );

      const unknown = await cli(['doctor', '--store', store.url], { env: { ZOHO_TOKEN_KEY: K2 } });
      assert.equal(unknown.code, 1, unknown.stdout);
      assert.match(unknown.stdout, /^✗ key: .*\(UNKNOWN_KEY\) — add the key the store names to ZOHO_TOKEN_KEY$/m);

      const malformed = await cli(['doctor', '--store', store.url], { env: { ZOHO_TOKEN_KEY: 'k1:c2hvcnQ=' } });
      assert.equal(malformed.code, 1, malformed.stdout);
      assert.match(malformed.stdout, /^✗ key: ZOHO_TOKEN_KEY is not usable: .*\(NO_KEY\) — .*keygen makes a key\)$/m);

      // A new key first, the old one after it: readable, but not yet re-encrypted.
      const rotated = await cli(['doctor', '--store', store.url], { env: { ZOHO_TOKEN_KEY: `${K2},${K1}` } });
      assert.equal(rotated.code, 0, rotated.stdout);
      assert.match(rotated.stdout, /^! key: run zoho-tokens rekey: 2 tokens not yet under key k2$/m);

      for (const run of [good, none, wrong, unknown, malformed, rotated]) {
        assertNoSecrets(run, [...secrets, 'c2hvcnQ=']);
      }
    });

    it('fails in one line, exit 2 (a configuration error), when the key does not decrypt the store', async () => {
      const [anaId] = await seed(store.url, K1, ana);
      for (const argv of [
        ['list', '--store', store.url],
        ['show', anaId as string, '--store', store.url],
        ['migrate', '--from', store.url, '--to', plain.url],
      ]) {
        const run = await cli(argv, { env: { ZOHO_TOKEN_KEY: OTHER_K1 } });
        assert.equal(run.code, 2, `${argv[0]}: ${run.stderr}`);
        assert.match(
          run.stderr,
          /^zoho-tokens: [^\n]*\(WRONG_KEY\) — set ZOHO_TOKEN_KEY to the store's keyring\n$/,
          argv[0],
        );
        assertNoSecrets(run, secrets);
      }
      assert.deepEqual(await rawRefreshTokens(plain.url), [], 'nothing was copied');
    });
  });
}
