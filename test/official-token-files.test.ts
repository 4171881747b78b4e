// The token files and the SQLite database the official SDKs' own stores wrote
// (fixtures/official-sdk-token-files, whose README says what each holds), imported exactly as
// written into a real SQLite file and the local PostgreSQL, listed, and refreshed by a
// TokenManager at the emulator. Quoted values written by Python's csv module (the Python SDK's
// writer) round-trip; a line that cannot be read for sure stops the import and saves nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  customEnvironment,
  type Environment,
  isTokenStoreError,
  OAuthToken,
  openStore,
  recordOf,
  type TokenLike,
  TokenManager,
  type TokenRecord,
  type TokenStore,
} from 'zoho-token-store';
import { DEFAULT_EMULATOR_SCOPE, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { readOfficialTokenFile } from 'zoho-token-store/stores/file';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { assertNoSecrets, type CliStore, cli, cliStoreKinds, freshCliStore, storedTokens } from './fixtures/cli-run.js';
import { recordWith } from './fixtures/test-stores.js';

// Every suite is registered before any runs: the probe must not await between them.
const KINDS = await cliStoreKinds();
const FIXTURES = join(import.meta.dirname, 'fixtures', 'official-sdk-token-files');
const dir = mkdtempSync(join(tmpdir(), 'zts-official-files-'));
let files = 0;
const newPath = (name: string) => join(dir, `${++files}-${name}`);

const CALLBACK = 'http://localhost:3000/oauth/callback';
/** A token as the file holds it; `id: ''` where the file has none and the store gives one. */
const row = recordWith;

// What each file holds, read off the files themselves (see the fixtures' README).
const PYTHON_TOKENS = [
  row({
    id: '1',
    userName: 'ana.lopez@zylker.com:700001234',
    clientId: '1000.PYCLIENT',
    clientSecret: 'py-secret',
    refreshToken: '1000.pyrefresh.ana',
    accessToken: '1000.pyaccess.ana',
    expiryTime: '1796600000000',
    redirectUrl: CALLBACK,
    apiDomain: 'https://www.zohoapis.com',
  }),
  row({
    id: '2',
    userName: 'ben.carter@zylker.com:700001234',
    clientId: '1000.PYCLIENT',
    clientSecret: 'py-secret',
    refreshToken: '1000.pyrefresh.ben',
    accessToken: '1000.pyaccess.ben',
    expiryTime: '1796600000001',
    redirectUrl: 'https://app.example/cb?a=1,b=2',
    apiDomain: 'https://www.zohoapis.eu',
  }),
  row({
    id: '3',
    userName: 'kenji.sato@zylkeracademy.com:700002468',
    clientId: '1000.PYCLIENT',
    clientSecret: 'sec"ret,with comma',
    refreshToken: '1000.pyrefresh.kenji',
    accessToken: '1000.pyaccess.kenji',
    expiryTime: '1796600000002',
    redirectUrl: CALLBACK,
    apiDomain: 'https://www.zohoapis.in',
  }),
  row({
    id: '4',
    clientId: '1000.PYCLIENT',
    clientSecret: 'py-secret',
    refreshToken: '1000.pyrefresh.nouser',
    accessToken: '1000.pyaccess.nouser',
    expiryTime: '1796600000003',
    apiDomain: 'https://www.zohoapis.com',
  }),
];

interface Fixture {
  file: string;
  tokens: TokenRecord[];
  /** The token a TokenManager refreshes afterwards, found by its user name as stored. */
  refresh: { userName: string; clientId: string; clientSecret: string; email: string };
}

const FIXTURE_FILES: Fixture[] = [
  {
    file: 'nodejs-sdk-8.0-filestore.csv',
    tokens: [
      row({
        id: '1',
        userName: 'ana.lopez@zylker.com:700001234',
        clientId: '1000.NODECLIENT',
        clientSecret: 'node-secret',
        refreshToken: '1000.nrefresh.ana',
        accessToken: '1000.naccess.ana',
        expiryTime: '1796600000000',
        redirectUrl: CALLBACK,
        apiDomain: 'https://www.zohoapis.com',
      }),
      row({
        id: '2',
        userName: 'ben.carter@zylker.com',
        clientId: '1000.NODECLIENT',
        clientSecret: 'node-secret',
        refreshToken: '1000.nrefresh.ben',
        accessToken: '1000.naccess.ben',
        expiryTime: '1796600000001',
        redirectUrl: CALLBACK,
        apiDomain: 'https://www.zohoapis.eu',
      }),
    ],
    refresh: {
      userName: 'ana.lopez@zylker.com:700001234',
      clientId: '1000.NODECLIENT',
      clientSecret: 'node-secret',
      email: 'ana.lopez@zylker.com',
    },
  },
  {
    file: 'nodejs-sdk-2.0-filestore.csv',
    tokens: ['ana', 'ben'].map((name, i) =>
      row({
        userName: `${name === 'ana' ? 'ana.lopez' : 'ben.carter'}@zylker.com`,
        clientId: '1000.LEGACYCLIENT',
        clientSecret: 'legacy-secret',
        refreshToken: `1000.lrefresh.${name}`,
        accessToken: `1000.laccess.${name}`,
        expiryTime: `179660000000${i}`,
        redirectUrl: CALLBACK,
      }),
    ),
    refresh: {
      userName: 'ben.carter@zylker.com',
      clientId: '1000.LEGACYCLIENT',
      clientSecret: 'legacy-secret',
      email: 'ben.carter@zylker.com',
    },
  },
  {
    file: 'python-sdk-8.0-filestore.csv',
    tokens: PYTHON_TOKENS,
    // Ben's redirect URL holds a comma: the quoted field was read whole.
    refresh: {
      userName: 'ben.carter@zylker.com:700001234',
      clientId: '1000.PYCLIENT',
      clientSecret: 'py-secret',
      email: 'ben.carter@zylker.com',
    },
  },
];

const secretsOf = (tokens: readonly TokenRecord[]) =>
  tokens.flatMap((t) => [t.clientSecret, t.refreshToken, t.accessToken].filter((v): v is string => v !== null));
const byRefreshToken = (a: TokenRecord, b: TokenRecord) => (a.refreshToken ?? '').localeCompare(b.refreshToken ?? '');
/** The stored tokens as records, in a stable order; ids the file did not give are checked and blanked. */
function asStored(tokens: readonly TokenLike[], expected: readonly TokenRecord[]): TokenRecord[] {
  return tokens
    .map((token) => {
      const record = recordOf(token, token.getId() ?? '');
      if (expected.find((e) => e.refreshToken === record.refreshToken)?.id !== '') return record;
      assert.match(record.id, /^\d{10}$/, 'a token the file gave no id has a fresh one');
      return { ...record, id: '' };
    })
    .sort(byRefreshToken);
}

// The emulator knows the fixtures' clients and refresh tokens, as Zoho would for the apps that wrote them.
let emulator: ZohoEmulator;
let environment: Environment;
/** After every fixture token's expiry, whatever the date the tests run on. */
const AFTER_EXPIRY = Math.max(Date.now(), 1796600000003 + 60_000);
const SQLITE_DB_REFRESH = PYTHON_TOKENS[0] as TokenRecord;
const PYTHON_CLIENT = { clientId: '1000.PYCLIENT', clientSecret: 'py-secret' };

before(async () => {
  const refreshes = [
    ...FIXTURE_FILES.map(({ file, refresh }) => ({
      ...refresh,
      refreshToken: tokenOf(file, refresh.userName).refreshToken,
    })),
    { ...PYTHON_CLIENT, email: 'ana.lopez@zylker.com', refreshToken: SQLITE_DB_REFRESH.refreshToken },
  ];
  const clients = [...new Map(refreshes.map((r) => [r.clientId, r])).values()].map((r) => ({
    clientId: r.clientId,
    clientSecret: r.clientSecret,
    redirectUris: [CALLBACK],
  }));
  // Seeded through the emulator's own state file: written by it, given the refresh tokens, read back.
  const stateFile = newPath('emulator-state.json');
  await (await startZohoEmulator({ clients, stateFile })).close();
  const state = JSON.parse(readFileSync(stateFile, 'utf8'));
  for (const r of refreshes) {
    state.accounts.refreshTokens.push([
      r.refreshToken,
      {
        clientId: r.clientId,
        userEmail: r.email,
        scopes: DEFAULT_EMULATOR_SCOPE.split(','),
        accessType: 'offline',
        accessTokens: [],
      },
    ]);
  }
  writeFileSync(stateFile, JSON.stringify(state), { mode: 0o600 });
  emulator = await startZohoEmulator({ clients, stateFile });
  emulator.clock.set(AFTER_EXPIRY);
  environment = customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });
});
after(async () => {
  // The emulator writes its state file on close: before the folder goes.
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => emulator?.resetCounters());

function tokenOf(file: string, userName: string): TokenRecord {
  const found = FIXTURE_FILES.find((f) => f.file === file)?.tokens.find((t) => t.userName === userName);
  assert.ok(found, `${file} holds ${userName}`);
  return found;
}

/**
 * A TokenManager with no client of its own (it refreshes with the client id and secret the file
 * gave the token) renews the expired token: one request to Zoho, the refresh token, user and id kept.
 */
async function refreshesOnce(store: TokenStore<TokenLike>, userName: string): Promise<void> {
  const before = await store.findToken(new OAuthToken({ userName }));
  assert.ok(before, `the store finds ${userName}`);
  const manager = new TokenManager({
    environment,
    store,
    token: { userName },
    now: () => emulator.clock.now(),
    http: { retries: 0, timeoutMs: 5_000 },
  });
  const accessToken = await manager.getAccessToken();
  assert.notEqual(accessToken, before.getAccessToken());
  assert.equal(await manager.getAccessToken(), accessToken);
  assert.deepEqual(emulator.counters(), { 'token.refresh_token': 1 }, 'exactly one request to Zoho');
  const after = await store.findToken(new OAuthToken({ userName }));
  assert.equal(after?.getAccessToken(), accessToken);
  assert.equal(after?.getRefreshToken(), before.getRefreshToken());
  assert.equal(after?.getId(), before.getId());
  assert.equal(after?.getUserSignature()?.getName(), userName);
  assert.equal(Number(after?.getExpiresIn()), emulator.clock.now() + 3_600_000);
}

/** `…(length)tail`: a tail of the value, never the whole of it. */
function assertMasked(shown: unknown, secret: string | null, what: string): void {
  if (secret === null) {
    assert.equal(shown, null, what);
    return;
  }
  assert.equal(typeof shown, 'string', what);
  const match = /^…\((\d+)\)(.*)$/.exec(shown as string);
  assert.ok(match, `${what} is masked`);
  assert.equal(Number(match[1]), secret.length, what);
  assert.ok(secret.endsWith(match[2] as string) && (match[2] as string).length < secret.length / 2, what);
}

/** `zoho-tokens list --json` shows every token with its id, user and client, secrets masked. */
async function assertListed(url: string, expected: readonly TokenRecord[]): Promise<void> {
  const run = await cli(['list', '--json', '--store', url]);
  assert.equal(run.code, 0, run.stderr);
  assertNoSecrets(run, secretsOf(expected));
  const listed = JSON.parse(run.stdout) as Record<string, unknown>[];
  assert.equal(listed.length, expected.length);
  for (const token of expected) {
    // A token the file gave no id is found by its user (unique in those files).
    const entry = listed.find((l) => (token.id === '' ? l.userName === token.userName : l.id === token.id));
    assert.ok(entry, `${token.userName ?? 'the token with no user'} is listed`);
    if (token.id === '') assert.match(entry.id as string, /^\d{10}$/);
    assert.equal(entry.userName, token.userName);
    assert.equal(entry.clientId, token.clientId);
    assert.equal(entry.redirectUrl, token.redirectUrl);
    assert.equal(entry.apiDomain, token.apiDomain);
    assertMasked(entry.clientSecret, token.clientSecret, 'client secret');
    assertMasked(entry.refreshToken, token.refreshToken, 'refresh token');
    assertMasked(entry.accessToken, token.accessToken, 'access token');
  }
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const kind of KINDS) {
  describe(`every official token file imports as written into ${kind}`, () => {
    let store: CliStore;
    beforeEach(() => {
      store = freshCliStore(kind);
    });
    afterEach(() => store.drop());

    for (const fixture of FIXTURE_FILES) {
      it(`${fixture.file}: imports, lists the right users, and a TokenManager refreshes one with one request`, async () => {
        const path = join(FIXTURES, fixture.file);
        const run = await cli(['import', path, '--store', store.url]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stderr, '');
        const n = fixture.tokens.length;
        const withoutId = fixture.tokens.filter((t) => t.id === '').length;
        assert.match(
          run.stdout,
          new RegExp(
            `^Imported ${n} tokens from ${escaped(path)} into \\S+: ${n} new, 0 updated\\. The store holds ${n} tokens\\.\\n` +
              (withoutId === 0 ? '$' : `${withoutId} lines had no id: the store gave their tokens ids\\.\\n$`),
          ),
        );
        assertNoSecrets(run, secretsOf(fixture.tokens));
        assert.deepEqual(
          asStored(await storedTokens(store.url), fixture.tokens),
          [...fixture.tokens].sort(byRefreshToken),
        );
        await assertListed(store.url, fixture.tokens);

        const again = await cli(['import', path, '--store', store.url]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, new RegExp(`: 0 new, ${n} updated\\. The store holds ${n} tokens\\.\\n`));

        const opened = await openStore(store.url);
        try {
          await refreshesOnce(opened, fixture.refresh.userName);
        } finally {
          await opened.close();
        }
      });
    }
  });
}

describe("the Python article's SQLite database (official oauthtoken layout)", () => {
  /** A private copy: the store may add indexes and its side tables to the file it opens. */
  function copyOfDatabase(): string {
    const path = newPath('python-article.db');
    copyFileSync(join(FIXTURES, 'python-article-sqlite-store.db'), path);
    chmodSync(path, 0o600);
    return path;
  }

  it('opens with SQLiteStore, holds the four tokens of the Python SDK file, and a TokenManager refreshes one', async () => {
    const store = new SQLiteStore({ path: copyOfDatabase() });
    try {
      const fromFile = (await readOfficialTokenFile(join(FIXTURES, 'python-sdk-8.0-filestore.csv'))).map((token) =>
        recordOf(token, token.getId() ?? ''),
      );
      assert.deepEqual(fromFile, PYTHON_TOKENS);
      assert.deepEqual(asStored(await store.getTokens(), PYTHON_TOKENS), [...PYTHON_TOKENS].sort(byRefreshToken));
      await refreshesOnce(store, SQLITE_DB_REFRESH.userName as string);
    } finally {
      await store.close();
    }
  });

  it('lists through the CLI, and migrate copies it into another store', async () => {
    const url = `sqlite:${copyOfDatabase()}`;
    await assertListed(url, PYTHON_TOKENS);
    const target = freshCliStore(KINDS.at(-1) as string);
    try {
      const run = await cli(['migrate', '--from', url, '--to', target.url]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^Copied 4 tokens from /);
      assertNoSecrets(run, secretsOf(PYTHON_TOKENS));
      assert.deepEqual(
        asStored(await storedTokens(target.url), PYTHON_TOKENS),
        [...PYTHON_TOKENS].sort(byRefreshToken),
      );
    } finally {
      await target.drop();
    }
  });
});

// Python's csv module, called as the Python SDK's FileStore calls it (QUOTE_MINIMAL, CRLF).
const PYTHON_WRITER = `
import csv, json, sys
with open(sys.argv[1], mode='w', newline='') as f:
    csv.writer(f, delimiter=',', quotechar='"', quoting=csv.QUOTE_MINIMAL).writerows(json.load(sys.stdin))
`;
const PYTHON_HEADER =
  'id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain';
const fieldsOf = (t: TokenRecord) => [
  t.id,
  t.userName,
  t.clientId,
  t.clientSecret,
  t.refreshToken,
  t.accessToken,
  t.grantToken,
  t.expiryTime,
  t.redirectUrl,
  t.apiDomain,
];

/** A token file written by Python's csv module exactly as the Python SDK writes one. */
function pythonFile(tokens: readonly TokenRecord[]): string {
  const path = newPath('python-tokens.csv');
  const rows = [PYTHON_HEADER.split(','), ...tokens.map(fieldsOf)];
  execFileSync('python3', ['-c', PYTHON_WRITER, path], { input: JSON.stringify(rows) });
  return path;
}

const HOSTILE = [
  row({
    id: '7',
    userName: 'zoë.o"neil@zylker.com:700001234',
    clientId: '1000.PYCLIENT',
    clientSecret: '"starts with a quote", then a comma',
    refreshToken: '1000.refresh\r\nwith a CRLF, a comma and a "quote"',
    accessToken: "1000.access,with'apostrophe\nand a line break",
    expiryTime: '1796600000000',
    redirectUrl: 'https://app.example/cb?a=1,b="2"',
    apiDomain: 'https://www.zohoapis.com',
  }),
  row({
    id: '8',
    userName: 'plain@zylker.com',
    clientId: '1000.PYCLIENT',
    clientSecret: 'py-secret',
    refreshToken: '1000.plain',
    grantToken: '1000.grant,"x"',
  }),
];

for (const kind of KINDS) {
  describe(`quoted values and unreadable lines, into ${kind}`, () => {
    let store: CliStore;
    beforeEach(() => {
      store = freshCliStore(kind);
    });
    afterEach(() => store.drop());

    it('values with commas, quotes and line breaks, quoted by the writer, round-trip', async () => {
      const path = pythonFile(HOSTILE);
      assert.ok(readFileSync(path, 'utf8').includes('"""starts with a quote"", then a comma"'), 'Python quoted it');
      const run = await cli(['import', path, '--store', store.url]);
      assert.equal(run.code, 0, run.stderr);
      assertNoSecrets(run, secretsOf(HOSTILE));
      assert.deepEqual(asStored(await storedTokens(store.url), HOSTILE), [...HOSTILE].sort(byRefreshToken));
    });

    /** The import fails naming the file and line, and the store keeps exactly what it held. */
    async function refused(path: string, line: number, reason: RegExp): Promise<void> {
      const kept = new OAuthToken({ id: '99', userName: 'kept@zylker.com', refreshToken: '1000.kept-refresh' });
      const seeded = await openStore(store.url);
      await seeded.saveToken(kept);
      await seeded.close();

      await assert.rejects(readOfficialTokenFile(path), (error: unknown) => {
        assert.ok(isTokenStoreError(error) && error.code === 'CORRUPT_DATA', String(error));
        assert.ok(error.message.startsWith(`${path}, line ${line}: `), error.message);
        assert.match(error.message, reason);
        return true;
      });
      const run = await cli(['import', path, '--store', store.url]);
      assert.equal(run.code, 1);
      assert.ok(run.stderr.startsWith(`zoho-tokens: ${path}, line ${line}: `), run.stderr);
      assert.match(run.stderr, reason);
      assert.equal(run.stdout, '');
      assertNoSecrets(run, [...secretsOf(HOSTILE), 'sec"ret-stray', '1000.unclosed']);
      assert.deepEqual(
        (await storedTokens(store.url)).map((token) => recordOf(token, token.getId() ?? '')),
        [recordOf(kept, '99')],
        'nothing imported',
      );
    }

    it('a stray quote in a Python file: the line is named (past a record spanning lines) and nothing is imported', async () => {
      const path = pythonFile(HOSTILE);
      // Lines 1–4 are the header and the first token (its quoted values hold two line breaks).
      writeFileSync(path, '9,eve@zylker.com,1000.PYCLIENT,sec"ret-stray,1000.r,,,,,\r\n', { flag: 'a' });
      await refused(path, 6, /a value that is not quoted holds a quote/);
    });

    it('a quoted value never closed: the line it opens on is named, not the end of the file', async () => {
      const path = pythonFile(HOSTILE);
      writeFileSync(path, '9,eve@zylker.com,1000.PYCLIENT,"1000.unclosed,1000.r,,,,,\r\n10,a,b,c,d,e,f,1,g,h\r\n', {
        flag: 'a',
      });
      await refused(path, 6, /a quoted value is never closed/);
    });

    it('a Node.js SDK file (which never quotes) with a quoted value, or an unquoted comma, is refused', async () => {
      const original = readFileSync(join(FIXTURES, 'nodejs-sdk-8.0-filestore.csv'), 'utf8');
      // As a spreadsheet would save the file again: quotes around a value the SDK wrote bare.
      const requoted = newPath('nodejs-requoted.csv');
      writeFileSync(requoted, original.replace(',node-secret,', ',"node-secret",'));
      await refused(requoted, 2, /a value starts with a quote/);
      await store.drop();
      store = freshCliStore(kind);
      const comma = newPath('nodejs-comma.csv');
      writeFileSync(comma, original.replace('\n2,ben', '\n2,ben,with-comma'));
      await refused(comma, 3, /11 fields where the header has 10; a value holds a comma/);
    });
  });
}
