// `zoho-tokens purge`, run in-process against a real SQLite file and the local PostgreSQL (a table
// of its own per test). Every run is also checked for unmasked secrets.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { hasActivityTracking, type OAuthToken, openStore } from 'zoho-token-store';
import {
  assertNoSecrets,
  type CliStore,
  cli,
  cliStoreKinds,
  freshCliStore,
  sampleToken,
  secretsOf,
} from './fixtures/cli-run.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Saves the tokens, records the given uses and revocations, and returns the ids. */
async function seed(
  url: string,
  tokens: OAuthToken[],
  activity: { used?: Record<number, number>; revoked?: Record<number, number> } = {},
): Promise<string[]> {
  const store = await openStore(url);
  try {
    for (const token of tokens) await store.saveToken(token);
    const ids = tokens.map((token) => token.getId() as string);
    assert.ok(hasActivityTracking(store));
    for (const [i, at] of Object.entries(activity.used ?? {})) await store.recordUse(ids[Number(i)] as string, at);
    for (const [i, at] of Object.entries(activity.revoked ?? {})) {
      await store.recordRevoked(ids[Number(i)] as string, at);
    }
    return ids;
  } finally {
    await store.close();
  }
}

async function storedIds(url: string): Promise<string[]> {
  const store = await openStore(url);
  try {
    return (await store.getTokens()).map((token) => token.getId() as string).sort();
  } finally {
    await store.close();
  }
}

for (const kind of await cliStoreKinds()) {
  describe(`zoho-tokens purge on ${kind}`, () => {
    let store: CliStore;
    let tokens: OAuthToken[];
    let secrets: string[];
    beforeEach(() => {
      store = freshCliStore(kind);
      tokens = [
        // 0: expired, nothing to renew it with
        sampleToken('dead@zylker.com', { expiresIn: NOW - 2 * HOUR, refreshToken: null }),
        // 1: granted 40 days ago, never used since
        sampleToken('idle@zylker.com', { expiresIn: NOW - 40 * DAY + HOUR }),
        // 2: granted 40 days ago, used yesterday
        sampleToken('busy@zylker.com', { expiresIn: NOW - 40 * DAY + HOUR }),
        // 3: refused by Zoho after its last refresh
        sampleToken('gone@zylker.com', { expiresIn: NOW - 3 * HOUR }),
        // 4: fresh
        sampleToken('fresh@zylker.com', { expiresIn: NOW + 30 * 60_000 }),
      ];
      secrets = secretsOf(...tokens);
    });
    afterEach(() => store.drop());

    const seeded = () => seed(store.url, tokens, { used: { 2: NOW - DAY }, revoked: { 3: NOW - HOUR } });

    it('--expired deletes expired tokens without a refresh token and lists them', async () => {
      const ids = await seeded();
      const run = await cli(['purge', '--expired', '--store', store.url], { now: NOW });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      const lines = run.stdout.trimEnd().split('\n');
      assert.match(lines[0] as string, /^Purged 1 token from .+; kept 4 tokens\.$/);
      assert.match(lines[1] as string, /^ID +USER +REASON$/);
      assert.match(lines[3] as string, new RegExp(`^${ids[0]} +dead@zylker\\.com +expired, no refresh token$`));
      assert.equal(lines.length, 4);
      assert.deepEqual(await storedIds(store.url), ids.slice(1).sort());
      assertNoSecrets(run, secrets);
    });

    it('--idle counts from the last use or the last grant; --revoked from the recorded refusal', async () => {
      const ids = await seeded();
      const idle = await cli(['purge', '--idle', '30d', '--store', store.url], { now: NOW });
      assert.equal(idle.code, 0, idle.stderr);
      assert.match(idle.stdout, /^Purged 1 token from .+; kept 4 tokens\.$/m);
      assert.match(idle.stdout, new RegExp(`^${ids[1]} +idle@zylker\\.com +idle$`, 'm'));
      const revoked = await cli(['purge', '--revoked', '--store', store.url], { now: NOW });
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, new RegExp(`^${ids[3]} +gone@zylker\\.com +revoked at Zoho$`, 'm'));
      assert.deepEqual(await storedIds(store.url), [ids[0], ids[2], ids[4]].sort());
      assertNoSecrets(idle, secrets);
      assertNoSecrets(revoked, secrets);
    });

    it('--dry-run --json lists what would go, masked, and deletes nothing; then the real run does it', async () => {
      const ids = await seeded();
      const args = ['purge', '--expired', '--idle', '30d', '--revoked', '--json', '--store', store.url];
      const preview = await cli([...args, '--dry-run'], { now: NOW });
      assert.equal(preview.code, 0, preview.stderr);
      const planned = JSON.parse(preview.stdout) as {
        dryRun: boolean;
        kept: number;
        purged: Record<string, unknown>[];
      };
      assert.equal(planned.dryRun, true);
      assert.equal(planned.kept, 2);
      const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.id).localeCompare(String(b.id));
      assert.deepEqual(
        planned.purged.sort(byId).map((p) => [p.id, p.reason]),
        [
          [ids[0], 'expired'],
          [ids[1], 'idle'],
          [ids[3], 'revoked'],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      assert.equal(planned.purged.find((p) => p.id === ids[1])?.userName, 'idle@zylker.com');
      assert.equal((await storedIds(store.url)).length, 5, 'a dry run deletes nothing');
      assertNoSecrets(preview, secrets);

      const text = await cli(['purge', '--expired', '--dry-run', '--store', store.url], { now: NOW });
      assert.match(text.stdout, /^Would purge 1 token from .+; would keep 4 tokens\. Nothing was deleted/);

      const done = await cli(args, { now: NOW });
      assert.equal(done.code, 0, done.stderr);
      const result = JSON.parse(done.stdout);
      assert.equal(result.dryRun, false);
      assert.deepEqual({ ...result, dryRun: true, purged: result.purged.sort(byId) }, planned);
      assert.deepEqual(await storedIds(store.url), [ids[2], ids[4]].sort());
      const again = await cli(['purge', '--expired', '--store', store.url], { now: NOW });
      assert.match(again.stdout, /^No tokens to purge in .+; kept 2 tokens\.\n$/);
    });
  });
}

describe('zoho-tokens purge on the command line', () => {
  it('needs a policy, and a duration it can read (exit 2)', async () => {
    const none = await cli(['purge', '--store', 'memory:']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^zoho-tokens: purge needs --expired, --idle DURATION or --revoked/);
    for (const bad of ['30', '0d', 'soon', '--idle=-1d']) {
      const run = await cli(['purge', ...(bad.startsWith('--') ? [bad] : ['--idle', bad]), '--store', 'memory:']);
      assert.equal(run.code, 2, `--idle ${bad}`);
      assert.match(run.stderr, /--idle takes a duration such as 90m, 12h or 30d/);
    }
    const extra = await cli(['purge', '--expired', 'now', '--store', 'memory:']);
    assert.equal(extra.code, 2);
  });

  it('--help explains every policy', async () => {
    const run = await cli(['purge', '--help']);
    assert.equal(run.code, 0);
    for (const option of ['--expired', '--idle DURATION', '--revoked', '--dry-run', '--json', '--store URL']) {
      assert.ok(run.stdout.includes(option), option);
    }
  });
});
