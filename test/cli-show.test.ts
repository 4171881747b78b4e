// `show` by id or by user, `list` in a fixed order, absent secrets as —, and `keygen`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OAuthToken, openStore } from 'zoho-token-store';
import {
  assertNoSecrets,
  type CliStore,
  cli,
  freshCliStore,
  sampleToken,
  secretsOf,
  seed,
} from './fixtures/cli-run.js';

let store: CliStore;
const ana = sampleToken('ana@zylker.com');
const anaOther = sampleToken('Ana@Zylker.com', { clientId: '1000.OTHERCLIENT' });
const ben = sampleToken('ben@zylker.com', { grantToken: '' });
const Zed = sampleToken('Zed@zylker.com');
const noUser = new OAuthToken({ clientId: '1000.X', accessToken: '1000.access-without-user' });
before(async () => {
  store = freshCliStore('sqlite');
  await seed(store.url, undefined, Zed, ben, anaOther, ana, noUser);
});
after(() => store.drop());

describe('zoho-tokens show', () => {
  it('finds a user’s tokens by email, any case, in id order', async () => {
    for (const argv of [
      ['show', 'ANA@zylker.com'],
      ['show', '--user', 'ana@zylker.com'],
    ]) {
      const run = await cli([...argv, '--store', store.url]);
      assert.equal(run.code, 0, run.stderr);
      const ids = [...run.stdout.matchAll(/^id {12}(\d+)$/gm)].map((match) => match[1]);
      assert.deepEqual(ids, [ana.getId(), anaOther.getId()].sort());
      assertNoSecrets(run, secretsOf(ana, anaOther));
    }
    const json = await cli(['show', 'ana@zylker.com', '--json', '--store', store.url]);
    const views = JSON.parse(json.stdout) as { userName: string }[];
    assert.deepEqual(views.map((view) => view.userName).sort(), ['Ana@Zylker.com', 'ana@zylker.com']);
  });

  it('finds by plain email a user saved as email:zgid, as the official SDKs 8.0 and the TokenManager name them', async () => {
    const own = freshCliStore('sqlite');
    try {
      const raj = sampleToken('raj@zylker.com:700001234');
      await seed(own.url, undefined, raj, sampleToken('rajesh@zylker.com'));
      const run = await cli(['show', 'raj@zylker.com', '--json', '--store', own.url]);
      assert.equal(run.code, 0, run.stderr);
      const views = JSON.parse(run.stdout) as { userName: string }[];
      assert.deepEqual(
        views.map((view) => view.userName),
        ['raj@zylker.com:700001234'],
      );
    } finally {
      await own.drop();
    }
  });

  it('still finds by id, as one JSON object', async () => {
    const run = await cli(['show', ben.getId() as string, '--json', '--store', store.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { userName: string }).userName, 'ben@zylker.com');
  });

  it('fails with exit 1 for a user it does not hold, and 2 without a token or user', async () => {
    const unknown = await cli(['show', 'nobody@zylker.com', '--store', store.url]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, `zoho-tokens: no token of user nobody@zylker.com in ${store.url}\n`);
    const neither = await cli(['show', '--store', store.url]);
    assert.equal(neither.code, 2);
    const both = await cli(['show', '1', '--user', 'ana@zylker.com', '--store', store.url]);
    assert.equal(both.code, 2);
  });

  it('shows an empty grant token as —, never as a mask of nothing', async () => {
    const run = await cli(['show', 'ben@zylker.com', '--store', store.url]);
    assert.match(run.stdout, /^grant token {3}—$/m);
    assert.doesNotMatch(run.stdout, /…\(0\)/);
    const json = await cli(['show', ben.getId() as string, '--json', '--store', store.url]);
    assert.equal((JSON.parse(json.stdout) as { grantToken: unknown }).grantToken, null);
  });
});

describe('zoho-tokens list', () => {
  it('sorts by user, case aside, tokens without one first, then by id; the same in JSON', async () => {
    const expected = [
      noUser,
      ...[ana, anaOther].sort((a, b) => ((a.getId() ?? '') < (b.getId() ?? '') ? -1 : 1)),
      ben,
      Zed,
    ].map((token) => token.getId());
    const json = await cli(['list', '--json', '--store', store.url]);
    assert.deepEqual(
      (JSON.parse(json.stdout) as { id: string }[]).map((view) => view.id),
      expected,
    );
    const table = await cli(['list', '--store', store.url]);
    const ids = table.stdout
      .split('\n')
      .slice(2, -1)
      .map((line) => line.split(' ')[0]);
    assert.deepEqual(ids, expected);
    const benLine = table.stdout.split('\n').find((line) => line.includes('ben@zylker.com')) ?? '';
    assert.doesNotMatch(benLine, /…\(0\)/, 'an empty grant token is —');
  });
});

describe('zoho-tokens keygen', () => {
  it('prints a new key that opens an encrypted store, with a one-line hint on stderr', async () => {
    const first = await cli(['keygen']);
    const second = await cli(['keygen', 'k2']);
    assert.equal(first.code, 0);
    assert.match(first.stdout, /^k\d{8}-[0-9a-f]{6}:[A-Za-z0-9+/]{43}=\n$/);
    assert.match(second.stdout, /^k2:[A-Za-z0-9+/]{43}=\n$/);
    assert.notEqual(first.stdout.slice(-46), second.stdout.slice(-46), 'a new key each time');
    assert.match(first.stderr, /^Put it in ZOHO_TOKEN_KEY[^\n]*\n$/);
    const keys = second.stdout.trim();
    const encrypted = await openStore('memory:', { keys });
    await encrypted.saveToken(sampleToken('cleo@zylker.com'));
    assert.equal((await encrypted.getTokens()).length, 1);
    await encrypted.close();
  });

  it('refuses a malformed key id with exit 2', async () => {
    const run = await cli(['keygen', 'bad id']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^zoho-tokens: keygen: the id must be/);
  });
});
