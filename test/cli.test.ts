// The zoho-tokens store commands, run in-process against a real SQLite file and the local
// PostgreSQL (a table of its own per test). Every run is also checked for unmasked secrets.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  hasActivityTracking,
  maskSecret,
  type OAuthToken,
  openStore,
  recordOf,
  type TokenActivity,
  type TokenLike,
} from 'zoho-token-store';
import { MemoryStore } from 'zoho-token-store/stores/memory';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { redactUrlPasswords } from '../src/cli/cli-errors.js';
import { copyPages, readInPages } from '../src/cli/copy-tokens.js';
import { maskStoreUrl } from '../src/cli/store-url.js';
import { accountsServerFor } from '../src/cli/zoho-environment.js';
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
import { sixMethodStore } from './fixtures/six-method-store.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0);
const MINUTE = 60_000;

/** Records a use (and a revocation) of a stored token, as the TokenManager would. */
async function touch(url: string, id: string, usedAt: number, revokedAt?: number): Promise<void> {
  const store = await openStore(url);
  try {
    assert.ok(hasActivityTracking(store), 'the store tracks activity');
    await store.recordUse(id, usedAt);
    if (revokedAt !== undefined) await store.recordRevoked(id, revokedAt);
  } finally {
    await store.close();
  }
}

async function activityIn(url: string): Promise<TokenActivity[]> {
  const store = await openStore(url);
  try {
    assert.ok(hasActivityTracking(store), 'the store tracks activity');
    return (await store.getActivity()).sort((a, b) => a.id.localeCompare(b.id));
  } finally {
    await store.close();
  }
}

const byId = (a: TokenLike, b: TokenLike) => String(a.getId()).localeCompare(String(b.getId()));
const records = (tokens: TokenLike[]) => [...tokens].sort(byId).map((token) => recordOf(token, token.getId() ?? ''));

for (const kind of await cliStoreKinds()) {
  describe(`zoho-tokens on ${kind}`, () => {
    let store: CliStore;
    let ana: OAuthToken;
    let ben: OAuthToken;
    let secrets: string[];
    beforeEach(() => {
      store = freshCliStore(kind);
      ana = sampleToken('ana.lopez@zylker.com', { expiresIn: NOW + 42 * MINUTE });
      ben = sampleToken('bén\n"carter"@zylker.com', { expiresIn: NOW - 3 * 60 * MINUTE, accessToken: null });
      secrets = secretsOf(ana, ben);
    });
    afterEach(() => store.drop());

    describe('list', () => {
      it('prints a table with ids, users, relative expiry, last use and masked secrets', async () => {
        const [anaId, benId] = await seed(store.url, undefined, ana, ben);
        await touch(store.url, anaId as string, NOW - 5 * MINUTE);
        const run = await cli(['list', '--store', store.url], { now: NOW });
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stderr, '');
        const lines = run.stdout.trimEnd().split('\n');
        assert.match(
          lines[0] as string,
          /^ID +USER +CLIENT ID +EXPIRES +LAST USE +REFRESH +ACCESS +GRANT +CLIENT SECRET$/,
        );
        assert.equal(lines.length, 4, 'a header, a rule and one line per token');
        const anaLine = lines.find((line) => line.startsWith(anaId as string)) as string;
        assert.ok(anaLine.includes('ana.lopez@zylker.com'));
        assert.ok(anaLine.includes('2026-01-15 12:42 UTC (in 42 min)'));
        assert.ok(anaLine.includes('2026-01-15 11:55 UTC (5 min ago)'), anaLine);
        assert.ok(anaLine.includes(maskSecret(ana.getRefreshToken()) as string));
        assert.ok(anaLine.includes(maskSecret(ana.getAccessToken()) as string));
        assert.ok(anaLine.includes(maskSecret(ana.getClientSecret()) as string));
        const benLine = lines.find((line) => line.startsWith(benId as string)) as string;
        // The newline in the user name is shown escaped, so it cannot break the table.
        assert.ok(benLine.includes('bén\\n"carter"@zylker.com'));
        assert.ok(benLine.includes('(expired 3 h ago)'));
        assert.match(benLine, / never /, 'no recorded use');
        assertNoSecrets(run, secrets);
      });

      it('--json gives every field, secrets masked, and the expiry state', async () => {
        const [anaId] = await seed(store.url, undefined, ana, ben);
        await touch(store.url, anaId as string, NOW - 5 * MINUTE, NOW - MINUTE);
        const run = await cli(['list', '--json', '--store', store.url, '--verbose'], { now: NOW });
        assert.equal(run.code, 0, run.stderr);
        const views = JSON.parse(run.stdout) as Record<string, unknown>[];
        assert.equal(views.length, 2);
        const view = views.find((entry) => entry.id === anaId);
        assert.deepEqual(view, {
          id: anaId,
          userName: 'ana.lopez@zylker.com',
          clientId: '1000.CLICLIENTID',
          clientSecret: maskSecret(ana.getClientSecret()),
          grantToken: null,
          refreshToken: maskSecret(ana.getRefreshToken()),
          accessToken: maskSecret(ana.getAccessToken()),
          expiresAt: new Date(NOW + 42 * MINUTE).toISOString(),
          apiDomain: 'https://www.zohoapis.com',
          redirectUrl: 'http://localhost:3000/oauth/callback',
          expired: false,
          activity: {
            lastUsedAt: new Date(NOW - 5 * MINUTE).toISOString(),
            revokedAt: new Date(NOW - MINUTE).toISOString(),
          },
        });
        const other = views.find((entry) => entry.id !== anaId);
        assert.equal(other?.expired, true);
        assert.deepEqual(other?.activity, { lastUsedAt: null, revokedAt: null });
        assertNoSecrets(run, secrets);
      });

      it('says so when the store is empty', async () => {
        await seed(store.url, undefined); // opened and closed: an empty store
        const run = await cli(['list'], { env: { TOKEN_STORE_URL: store.url } });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^No tokens in /);
      });
    });

    describe('show', () => {
      it('prints one token, masked', async () => {
        const [, benId] = await seed(store.url, undefined, ana, ben);
        await touch(store.url, benId as string, NOW - 26 * 60 * MINUTE, NOW - 2 * MINUTE);
        const run = await cli(['show', benId as string, '--store', store.url], { now: NOW });
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, new RegExp(`^id +${benId}$`, 'm'));
        assert.match(run.stdout, /^user +bén\\n"carter"@zylker\.com$/m);
        assert.match(run.stdout, /^access token +—$/m);
        assert.ok(run.stdout.includes(`refresh token ${maskSecret(ben.getRefreshToken())}`));
        assert.match(run.stdout, /^expires +2026-01-15 09:00 UTC \(expired 3 h ago\)$/m);
        assert.match(run.stdout, /^last use +2026-01-14 10:00 UTC \(26 h ago\)$/m);
        assert.match(run.stdout, /^revoked +2026-01-15 11:58 UTC \(2 min ago\)$/m);
        assertNoSecrets(run, secrets);

        const json = await cli(['show', benId as string, '--json', '--store', store.url], { now: NOW });
        assert.equal(JSON.parse(json.stdout).refreshToken, maskSecret(ben.getRefreshToken()));
        assertNoSecrets(json, secrets);
      });

      it('fails with exit 1 for an unknown id', async () => {
        await seed(store.url, undefined, ana);
        const run = await cli(['show', '1234567890', '--store', store.url]);
        assert.equal(run.code, 1);
        assert.equal(run.stdout, '');
        assert.match(run.stderr, /^zoho-tokens: no token with id 1234567890 in .+\n$/);
      });
    });

    describe('delete', () => {
      it('deletes one token and leaves the others', async () => {
        const [anaId, benId] = await seed(store.url, undefined, ana, ben);
        const run = await cli(['delete', anaId as string, '--store', store.url]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^Deleted token \d{10} \(ana\.lopez@zylker\.com\) from /);
        assert.deepEqual(
          (await storedTokens(store.url)).map((token) => token.getId()),
          [benId],
        );
        assert.equal((await cli(['delete', anaId as string, '--store', store.url])).code, 1, 'already gone');
      });

      it('deletes everything only with --all --yes', async () => {
        await seed(store.url, undefined, ana, ben);
        const unconfirmed = await cli(['delete', '--all', '--store', store.url]);
        assert.equal(unconfirmed.code, 2);
        assert.match(unconfirmed.stderr, /delete --all would delete 2 tokens from .*: add --yes/);
        assert.equal((await storedTokens(store.url)).length, 2, 'nothing deleted without --yes');

        assert.equal((await cli(['delete', '--yes', '--store', store.url])).code, 2, '--yes alone');
        assert.equal((await cli(['delete', '123', '--all', '--yes', '--store', store.url])).code, 2, 'id and --all');
        assert.equal((await storedTokens(store.url)).length, 2);

        const run = await cli(['delete', '--all', '--yes', '--store', store.url]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /^Deleted 2 tokens from /);
        assert.equal((await storedTokens(store.url)).length, 0);
      });
    });

    describe('migrate', () => {
      // The other side of the copy: SQLite into the store under test, or the store under test into SQLite.
      let other: CliStore;
      beforeEach(() => {
        other = freshCliStore('sqlite');
      });
      afterEach(() => other.drop());

      for (const direction of ['into', 'out of'] as const) {
        it(`copies every token ${direction} ${kind}, keeping ids and exact values; a re-run duplicates nothing`, async () => {
          const [from, to] = direction === 'into' ? [other, store] : [store, other];
          const odd = sampleToken('o\'brien,"x"@zylker.com', { refreshToken: `1000.${'é,"\n'.repeat(5000)}` });
          const [anaId, benId] = await seed(from.url, undefined, ana, ben, odd);
          await touch(from.url, anaId as string, NOW - MINUTE);
          await touch(from.url, benId as string, NOW - 2 * MINUTE, NOW - MINUTE);
          const source = records(await storedTokens(from.url));

          const run = await cli(['migrate', '--from', from.url, '--to', to.url]);
          assert.equal(run.code, 0, run.stderr);
          assert.match(
            run.stdout,
            /^Copied 3 tokens from .* in \d+\.\d s\.\nKept the last use or revocation of 2 tokens\.\nThe target holds 3 tokens; every source id/,
          );
          assert.deepEqual(records(await storedTokens(to.url)), source);
          assert.deepEqual(await activityIn(to.url), await activityIn(from.url), 'activity copied');
          assertNoSecrets(run, [...secrets, ...secretsOf(odd)]);

          const again = await cli(['migrate', '--from', from.url, '--to', to.url]);
          assert.equal(again.code, 0, again.stderr);
          assert.match(again.stdout, /The target holds 3 tokens; every source id/);
          assert.deepEqual(records(await storedTokens(to.url)), source, 'no duplicates, same values');
          assert.deepEqual(await activityIn(to.url), await activityIn(from.url), 'activity unchanged');
          assert.deepEqual(records(await storedTokens(from.url)), source, 'the source is left as it was');
        });
      }

      it('stops at a token the target refuses, says how far it got, and a re-run completes it', async () => {
        const [anaId, benId] = await seed(other.url, undefined, ana, ben);
        // The target already uses ana's id for another user's token: saving ana there is refused.
        const squatter = sampleToken('zed@zylker.com', { id: anaId as string });
        await seed(store.url, undefined, squatter);

        const run = await cli(['migrate', '--from', other.url, '--to', store.url, '--verbose']);
        assert.equal(run.code, 1);
        assert.equal(run.stdout, '');
        assert.match(
          run.stderr,
          /^zoho-tokens: copied [01] of 2 tokens, then saving into \S+ failed: .* \(ID_CONFLICT\) — a source id belongs to a token of another user in the target: delete that token there, then run migrate again\n$/,
        );
        assertNoSecrets(run, [...secrets, ...secretsOf(squatter)]);

        const target = await openStore(store.url);
        await target.deleteToken(anaId as string);
        await target.close();
        const again = await cli(['migrate', '--from', other.url, '--to', store.url]);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual((await storedTokens(store.url)).map((token) => token.getId()).sort(), [anaId, benId].sort());
      });

      it('fails with exit 1 when the target keeps a user under another id', async () => {
        const [anaId] = await seed(other.url, undefined, ana);
        const older = sampleToken('ana.lopez@zylker.com');
        const [olderId] = await seed(store.url, undefined, older);
        assert.notEqual(olderId, anaId);

        const run = await cli(['migrate', '--from', other.url, '--to', store.url]);
        assert.equal(run.code, 1);
        assert.match(run.stdout, new RegExp(`The target holds 1 token; 1 source id missing: ${anaId}\\.`));
        assert.match(run.stderr, /^zoho-tokens: the target lacks 1 source id: usually it already held those users/);
        const [kept] = await storedTokens(store.url);
        assert.equal(kept?.getId(), olderId, 'one row per user: the existing one took the copy');
        assert.equal(kept?.getRefreshToken(), ana.getRefreshToken());
      });

      it(`copies more than a page both ways between SQLite and ${kind}; a re-run adds nothing`, async () => {
        const many = Array.from({ length: 2_500 }, (_, i) =>
          sampleToken(`student${i}@zylkeracademy.com`, { expiresIn: NOW + i }),
        );
        const seeded = await openStore(other.url);
        await (seeded as typeof seeded & { saveTokens(t: OAuthToken[]): Promise<void> }).saveTokens(many);
        await seeded.close();
        const source = records(await storedTokens(other.url));
        assert.equal(source.length, 2_500);

        const back = freshCliStore('sqlite');
        try {
          for (const [from, to] of [
            [other, store],
            [other, store],
            [store, back],
          ] as const) {
            const run = await cli(['migrate', '--from', from.url, '--to', to.url]);
            assert.equal(run.code, 0, run.stderr);
            assert.match(run.stdout, /^Copied 2,500 tokens from .*\nThe target holds 2,500 tokens; every source id/);
            assert.deepEqual(records(await storedTokens(to.url)), source);
          }
        } finally {
          await back.drop();
        }
      });

      it('draws a progress bar on stderr only on a terminal, unless forced', async () => {
        await seed(other.url, undefined, ana, ben);
        const args = ['migrate', '--from', other.url, '--to', store.url];
        const plain = await cli(args);
        assert.equal(plain.stderr, '');
        const tty = await cli(args, { isTTY: true });
        assert.match(tty.stderr, /^\rmigrate \[.*\] 2\/2 100% \d+\.\d s\n$/s);
        assert.match((await cli([...args, '--progress'])).stderr, /\] 2\/2 100% /);
        assert.equal((await cli([...args, '--no-progress'], { isTTY: true })).stderr, '');
        assert.equal((await cli([...args, '--progress', '--no-progress'])).code, 2);
      });
    });

    describe('doctor', () => {
      it('passes every check on a healthy store', async () => {
        const [anaId] = await seed(store.url, undefined, ana);
        const run = await cli(['doctor', '--store', store.url]);
        assert.equal(run.code, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /^✓ store answers: .* holds 1 token$/m);
        assert.match(run.stdout, new RegExp(`^✓ schema usable: token ${anaId} read back by its id$`, 'm'));
        if (kind === 'sqlite') assert.match(run.stdout, /^✓ store file .* is readable by its owner only \(0600\)$/m);
        assert.doesNotMatch(run.stdout, /^[✗!]/m);
      });

      it('answers on an empty store too', async () => {
        const run = await cli(['doctor', '--store', store.url]);
        if (kind === 'sqlite') {
          // A check never creates the file it checks.
          assert.equal(run.code, 1);
          assert.match(run.stdout, /^✗ store file .* does not exist/m);
          assert.equal(existsSync(store.url.slice('sqlite:'.length)), false);
        } else {
          assert.equal(run.code, 0, run.stdout);
          assert.match(run.stdout, /^✓ schema usable: a read by id answers \(the store is empty\)$/m);
        }
      });
    });
  });
}

describe('doctor, on problems', () => {
  it('warns about a store file others can read, without failing', async () => {
    const store = freshCliStore('sqlite');
    try {
      await seed(store.url, undefined, sampleToken('ana.lopez@zylker.com'));
      const file = store.url.slice('sqlite:'.length);
      chmodSync(file, 0o644);
      const run = await cli(['doctor', '--store', store.url]);
      assert.equal(run.code, 0, run.stdout);
      assert.ok(run.stdout.includes(`! store file ${file} has mode 0644, so others can read tokens: run chmod 600`));
    } finally {
      await store.drop();
    }
  });

  it('warns about a folder others can write in, unless its sticky bit keeps them out', async () => {
    const store = freshCliStore('sqlite');
    const file = store.url.slice('sqlite:'.length);
    const folder = dirname(file);
    try {
      await seed(store.url, undefined, sampleToken('ana.lopez@zylker.com'));
      const healthy = await cli(['doctor', '--store', store.url]);
      assert.ok(healthy.stdout.includes(`✓ folder ${folder} lets no one else replace the store file (0700)`));
      chmodSync(folder, 0o777);
      const open = await cli(['doctor', '--store', store.url]);
      assert.equal(open.code, 0, open.stdout);
      assert.ok(open.stdout.includes(`! folder ${folder} has mode 0777, so others can replace the store file`));
      chmodSync(folder, 0o1777);
      const sticky = await cli(['doctor', '--store', store.url]);
      assert.ok(sticky.stdout.includes(`✓ folder ${folder} lets no one else replace the store file (1777)`));
    } finally {
      chmodSync(folder, 0o700);
      await store.drop();
    }
  });

  it('checks the files beside a SQLite store that hold tokens too', async () => {
    const store = freshCliStore('sqlite');
    const file = store.url.slice('sqlite:'.length);
    await seed(store.url, undefined, sampleToken('ana.lopez@zylker.com'));
    // An open connection keeps the write-ahead log beside the file, as a running app does.
    const db = new Database(file);
    try {
      db.prepare('UPDATE oauthtoken SET api_domain = ?').run('https://www.zohoapis.eu');
      const healthy = await cli(['doctor', '--store', store.url]);
      assert.equal(healthy.code, 0, healthy.stdout);
      assert.ok(healthy.stdout.includes(`✓ file ${file}-wal is readable by its owner only (0600)`), healthy.stdout);
      chmodSync(`${file}-wal`, 0o640);
      const run = await cli(['doctor', '--store', store.url]);
      assert.equal(run.code, 0, run.stdout);
      assert.ok(run.stdout.includes(`! file ${file}-wal has mode 0640, so others can read tokens: run chmod 600`));
    } finally {
      db.close();
      await store.drop();
    }
  });

  it('checks a file: store, its last good copy, and reports a corrupt file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zts-cli-doctor-'));
    try {
      const file = join(dir, 'tokens.json');
      const url = `file:${file}`;
      // A second save keeps the first file as the last good copy, tokens.json.bak.
      await seed(url, undefined, sampleToken('ana.lopez@zylker.com'), sampleToken('ben.carter@zylker.com'));
      chmodSync(`${file}.bak`, 0o604);
      const run = await cli(['doctor', '--store', url]);
      assert.equal(run.code, 0, run.stdout);
      assert.match(run.stdout, /^✓ store file .*tokens\.json is readable by its owner only \(0600\)$/m);
      assert.ok(run.stdout.includes(`! file ${file}.bak has mode 0604, so others can read tokens: run chmod 600`));
      assert.match(run.stdout, /^✓ store answers: file:.* holds 2 tokens$/m);

      truncateSync(file, 100);
      const corrupt = await cli(['doctor', '--store', url]);
      assert.equal(corrupt.code, 1, corrupt.stdout);
      assert.match(
        corrupt.stdout,
        /^✗ store does not answer: file:.*tokens\.json failed its integrity check.*\(CORRUPT_DATA\)$/m,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flags a store file and folder another user owns or may write, with the fix', async (t) => {
    if (process.geteuid === undefined) return t.skip('no Unix owners');
    const dir = mkdtempSync(join(tmpdir(), 'zts-cli-doctor-'));
    const uid = process.geteuid();
    try {
      const file = join(dir, 'tokens.json');
      const url = `file:${file}`;
      await seed(url, undefined, sampleToken('ana.lopez@zylker.com'));
      // Planted by another local user: `nobody` (the tests run as root in CI).
      chownSync(file, 65_534, 65_534);
      const planted = await cli(['doctor', '--store', url]);
      assert.equal(planted.code, 1, planted.stdout);
      assert.ok(
        planted.stdout.includes(
          `! store file ${file}: it is owned by uid 65534, not by this user (uid ${uid}) or root`,
        ),
        planted.stdout,
      );
      assert.ok(planted.stdout.includes(`run chown ${uid} ${file}`), planted.stdout);
      assert.match(planted.stdout, /^✗ store does not answer: .*\(UNTRUSTED_FILE\)$/m);

      chownSync(file, uid, process.getegid?.() ?? 0);
      chmodSync(file, 0o660);
      const writable = await cli(['doctor', '--store', url]);
      assert.ok(writable.stdout.includes(`! store file ${file}: group or others may write it (mode 0660)`));
      chmodSync(file, 0o600);

      // Whoever owns the folder may replace the file in it.
      chownSync(dir, 65_534, 65_534);
      const folder = await cli(['doctor', '--store', url]);
      assert.equal(folder.code, 0, folder.stdout);
      assert.ok(folder.stdout.includes(`! folder ${dir}: it is owned by uid 65534`), folder.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails when the server does not answer, with the password masked', async () => {
    const run = await cli(['doctor', '--store', 'postgres://root:hunter2secret@127.0.0.1:1/test', '--verbose']);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^✗ store does not answer: postgres:\/\/root:\*\*\*@127\.0\.0\.1:1\/test: /m);
    assert.match(run.stdout, /caused by Error: connect ECONNREFUSED/, '--verbose adds the cause chain');
    assert.ok(!(run.stdout + run.stderr).includes('hunter2secret'));
  });
});

describe('migrate reads the source in pages', () => {
  /** A source that logs each read, over a SQLite store of `n` tokens; `getTokens` must not be called. */
  async function loggingSource(n: number, log: string[], paged = true) {
    const inner = new SQLiteStore({ path: ':memory:' });
    await inner.saveTokens(Array.from({ length: n }, (_, i) => sampleToken(`u${i}@zylker.com`)));
    const reads = {
      getTokens: async () => {
        log.push('getTokens');
        return inner.getTokens();
      },
    };
    const pages = {
      async getTokensPage(after: string | null, limit: number) {
        const page = await inner.getTokensPage(after, limit);
        log.push(`page ${page.length}`);
        return page;
      },
      async countTokens() {
        log.push('count');
        return inner.countTokens();
      },
    };
    return { inner, store: sixMethodStore(inner, paged ? { ...reads, ...pages } : reads) };
  }
  function loggingTarget(log: string[]) {
    const inner = new MemoryStore();
    return sixMethodStore(inner, {
      async saveTokens(tokens: readonly TokenLike[]) {
        log.push(`save ${tokens.length}`);
        await inner.saveTokens(tokens);
      },
    });
  }

  it('saves each page before reading the next, never calling getTokens on the source', async () => {
    const log: string[] = [];
    const { inner, store } = await loggingSource(25, log);
    const target = loggingTarget(log);
    const result = await copyPages(await readInPages(store, 10), target, null);
    assert.deepEqual(log, ['count', 'page 10', 'save 10', 'page 10', 'save 10', 'page 5', 'save 5', 'page 0']);
    assert.deepEqual(result, { copied: 25, withActivity: null, targetCount: 25, missing: [] });
    assert.deepEqual(records(await target.getTokens()), records(await inner.getTokens()));
    await inner.close();
  });

  it('reads a source without paged reads whole, once, and saves it in pages', async () => {
    const log: string[] = [];
    const { inner, store } = await loggingSource(25, log, false);
    const result = await copyPages(await readInPages(store, 10), loggingTarget(log), null);
    assert.deepEqual(log, ['getTokens', 'save 10', 'save 10', 'save 5']);
    assert.equal(result.copied, 25);
    await inner.close();
  });

  it('says how far it got when a page cannot be read, naming the source', async () => {
    const log: string[] = [];
    const { inner } = await loggingSource(25, log);
    const failing = sixMethodStore(inner, {
      countTokens: () => inner.countTokens(),
      getTokensPage: async (after: string | null, limit: number) => {
        if (after !== null) throw new Error('connection reset');
        return inner.getTokensPage(after, limit);
      },
    });
    await assert.rejects(
      copyPages(await readInPages(failing, 10), loggingTarget(log), null, { sourceName: 'db://x' }),
      {
        name: 'CommandError',
        message: 'copied 10 of 25 tokens, then reading db://x failed',
        hint: 'running migrate again resumes it',
      },
    );
    await inner.close();
  });
});

describe('usage and failures', () => {
  it('exits 2 on usage errors, with one line on stderr', async () => {
    for (const argv of [
      [],
      ['lst'],
      ['--store', 'memory:', 'list'],
      ['list', '--bogus'],
      ['list', 'extra'],
      ['show'],
      ['delete'],
      ['migrate', '--to', 'memory:'],
      ['migrate', '--from', 'sqlite:./a.db', '--to', 'sqlite:a.db'],
      ['migrate', '--from', 'SQLite:./a.db', '--to', 'sqlite:a.db'],
      ['revoke', '1', '--dc', 'XX'],
      ['revoke', '1', '--dc', 'EU', '--accounts-url', 'http://127.0.0.1:1'],
      ['revoke', '1', '--accounts-url', 'http://example.com'],
      ['list', '--store', 'ftp://host/x'],
      ['emulator', '--port', 'eighty'],
      ['emulator', '--state', ''],
    ]) {
      const run = await cli(argv);
      assert.equal(run.code, 2, `${argv.join(' ')}: ${run.stderr}`);
      assert.equal(run.stdout, '');
      if (argv.length > 0) assert.match(run.stderr, /^zoho-tokens: [^\n]+\n$/, argv.join(' '));
    }
  });

  it('exits 1 when the operation fails; --verbose adds the cause chain; the URL password is masked', async () => {
    const url = 'postgres://root:hunter2secret@127.0.0.1:1/test';
    const run = await cli(['list', '--store', url]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      'zoho-tokens: postgres://root:***@127.0.0.1:1/test: getTokens failed in the storage backend: connection refused at 127.0.0.1:1 (ECONNREFUSED) — is the server running, at that host and port?\n',
    );
    const verbose = await cli(['list', '--store', url, '-v']);
    assert.equal(verbose.code, 1);
    assert.match(
      verbose.stderr,
      /^zoho-tokens: [^\n]*connection refused[^\n]*\n {2}caused by Error: connect ECONNREFUSED 127\.0\.0\.1:1\n$/,
    );
    assert.ok(!verbose.stderr.includes('hunter2secret'));

    const migrate = await cli(['migrate', '--from', url, '--to', 'memory:']);
    assert.equal(migrate.code, 1);
    assert.match(
      migrate.stderr,
      /^zoho-tokens: postgres:\/\/root:\*\*\*@127\.0\.0\.1:1\/test: countTokens failed/,
      'names the source',
    );
  });

  it('prints help for the CLI and each command', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    for (const name of [
      'list',
      'show',
      'revoke',
      'delete',
      'purge',
      'migrate',
      'import',
      'rekey',
      'doctor',
      'emulator',
    ]) {
      assert.match(help.stdout, new RegExp(`^ {2}${name} +\\S`, 'm'));
      const own = await cli([name, '--help']);
      assert.equal(own.code, 0);
      assert.match(own.stdout, new RegExp(`^Usage: zoho-tokens ${name}`));
      assert.deepEqual(await cli(['help', name]), own);
    }
  });
});

describe('a missing store file', () => {
  it('fails the commands that read, creating nothing; import and migrate --to create it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zts-cli-missing-'));
    const source = `sqlite:${join(dir, 'source.db')}`;
    try {
      await seed(source, undefined, sampleToken('ana.lopez@zylker.com'));
      for (const scheme of ['sqlite', 'file']) {
        const file = join(dir, `tokens-${scheme}`);
        const url = `${scheme}:${file}`;
        for (const argv of [
          ['list'],
          ['show', '1234567890'],
          ['delete', '1234567890'],
          ['revoke', '1234567890', '--accounts-url', 'http://127.0.0.1:1'],
          ['purge', '--expired'],
          ['migrate', '--from', url, '--to', 'memory:'],
        ]) {
          const run = await cli(argv[0] === 'migrate' ? argv : [...argv, '--store', url]);
          assert.equal(run.code, 1, `${argv[0]}: ${run.stderr}`);
          const fix = argv[0] === 'migrate' ? 'check the path in --from' : 'give --store URL or set TOKEN_STORE_URL';
          assert.equal(run.stderr, `zoho-tokens: no token store at ${file} — ${fix}\n`);
          assert.equal(existsSync(file), false, `${argv[0]} created ${file}`);
        }
        const filled = await cli(['migrate', '--from', source, '--to', url]);
        assert.equal(filled.code, 0, filled.stderr);
        assert.equal(existsSync(file), true, 'migrate --to creates the store');
        assert.match((await cli(['list', '--store', url])).stdout, /ana\.lopez@zylker\.com/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('passwords in store URLs', () => {
  it('masks the password of a store URL, an @ in it included, and of password parameters', () => {
    assert.equal(
      maskStoreUrl('postgres://root:hunter2@db:5432/test?table=t'),
      'postgres://root:***@db:5432/test?table=t',
    );
    assert.equal(maskStoreUrl('mysql://app:p@ss@db/app'), 'mysql://app:***@db/app');
    assert.equal(maskStoreUrl('redis://:s3cret@127.0.0.1:6379?prefix=z:'), 'redis://:***@127.0.0.1:6379?prefix=z:');
    assert.equal(maskStoreUrl('postgres://db/app?password=hunter2'), 'postgres://db/app?password=***');
    assert.equal(maskStoreUrl('sqlite:./zohooauth.db'), 'sqlite:./zohooauth.db');
    // Not a URL a parser reads (the # ends it early): the password still goes.
    assert.equal(maskStoreUrl('postgres://root:pa#ss@db/app'), 'postgres://root:***@db/app');
  });

  it('redacts URL passwords anywhere in a message, up to the last @ of the authority', () => {
    assert.equal(
      redactUrlPasswords('connect mysql://root:p@ss@db:3306/x failed; redis://:pw@h ok'),
      'connect mysql://root:***@db:3306/x failed; redis://:***@h ok',
    );
    assert.equal(
      redactUrlPasswords('see https://zoho.com/a@b and user@host'),
      'see https://zoho.com/a@b and user@host',
    );
  });
});

describe("revoke's accounts server", () => {
  const io = (env: Record<string, string> = {}) => ({
    stdout: process.stdout,
    stderr: process.stderr,
    env,
    isTTY: false,
  });

  it("is the token's data center, then --dc, then ZOHO_DC, then US; --accounts-url overrides all", () => {
    const byEnv = accountsServerFor({}, io({ ZOHO_DC: 'in' }));
    assert.equal(byEnv('https://www.zohoapis.eu').accountsUrl, 'https://accounts.zoho.eu');
    assert.equal(byEnv('https://sandbox.zohoapis.com.au').accountsUrl, 'https://accounts.zoho.com.au');
    assert.equal(byEnv(null).accountsUrl, 'https://accounts.zoho.in');
    // An emulator's token goes back to that emulator, whose accounts server is at its API domain.
    assert.equal(byEnv('http://127.0.0.1:8085').accountsUrl, 'http://127.0.0.1:8085');
    assert.equal(byEnv('http://localhost:3001/').accountsUrl, 'http://localhost:3001');
    // Anything else names no place to revoke at: the user must say where.
    for (const apiDomain of ['https://crm.zylker.example', 'http://10.0.0.5:8085', 'https://www.zohoapis.com:8443']) {
      assert.throws(() => byEnv(apiDomain), { name: 'CommandError', hint: /--accounts-url/ }, apiDomain);
    }
    assert.equal(accountsServerFor({ dc: 'JP' }, io({ ZOHO_DC: 'IN' }))(null).accountsUrl, 'https://accounts.zoho.jp');
    assert.equal(accountsServerFor({}, io())(null).accountsUrl, 'https://accounts.zoho.com');
    const custom = accountsServerFor({ 'accounts-url': 'http://127.0.0.1:1' }, io());
    assert.equal(custom('https://www.zohoapis.eu').accountsUrl, 'http://127.0.0.1:1');
  });

  it('fails on a --dc other than the token’s, and on a bad ZOHO_DC only when it is used', () => {
    assert.throws(() => accountsServerFor({ dc: 'US' }, io())('https://www.zohoapis.eu'), {
      name: 'CommandError',
      message: "the token's API domain https://www.zohoapis.eu is in the EU data center, not US",
      hint: 'drop --dc',
    });
    assert.throws(() => accountsServerFor({ dc: 'US' }, io())('http://127.0.0.1:8085'), {
      message: "the token's API domain http://127.0.0.1:8085 is an emulator, not US",
    });
    assert.throws(() => accountsServerFor({}, io({ ZOHO_DC: 'XX' })), { name: 'UsageError', message: /^ZOHO_DC must/ });
    assert.equal(accountsServerFor({ dc: 'EU' }, io({ ZOHO_DC: 'XX' }))(null).accountsUrl, 'https://accounts.zoho.eu');
  });
});
