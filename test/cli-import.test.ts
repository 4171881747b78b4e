// `zoho-tokens import` and the official CSV reader, against token files written by the real
// official SDK FileStore, into a real SQLite file and the local PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import sdk from '@zohocrm/typescript-sdk-8.0';
import { isTokenStoreError, OAuthToken, openStore, recordOf } from 'zoho-token-store';
import { parseOfficialCsv, readOfficialTokenFile } from 'zoho-token-store/stores/file';
import { assertNoSecrets, type CliStore, cli, cliStoreKinds, freshCliStore, storedTokens } from './fixtures/cli-run.js';

// Every suite is registered before any runs: the probe must not await between them.
const KINDS = await cliStoreKinds();
const dir = mkdtempSync(join(tmpdir(), 'zts-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** `zoho-tokens import …argv`, run in-process. */
const zohoTokens = (argv: readonly string[]) => cli(['import', ...argv]);

const { FileStore: OfficialFileStore, OAuthToken: SdkToken, UserSignature: SdkUser } = sdk;

interface Row {
  id?: string;
  user?: string;
  clientId?: string;
  clientSecret?: string;
  refresh?: string;
  access?: string;
  grant?: string;
  expiry?: string;
  redirect?: string;
  apiDomain?: string;
}

/** Writes the tokens with the official SDK's own FileStore and returns the file's path. */
async function officialFile(rows: readonly Row[]): Promise<string> {
  const path = join(dir, `sdk_tokens-${++files}.txt`);
  const store = new OfficialFileStore(path);
  for (const row of rows) {
    const token = new SdkToken(
      row.clientId ?? null,
      row.clientSecret ?? null,
      row.grant ?? null,
      row.refresh ?? null,
      row.redirect ?? null,
      row.id ?? null,
      row.access ?? null,
      row.user ? new SdkUser(row.user) : null,
    );
    if (row.expiry) token.setExpiresIn(row.expiry);
    token.setAPIDomain(row.apiDomain ?? null);
    await store.saveToken(token);
  }
  return path;
}

const ANA: Row = {
  user: 'ana.lopez@zylker.com',
  clientId: '1000.CSVCLIENT',
  clientSecret: 'sec"ret"-with-\'quotes\'-Zoë',
  refresh: '1000.refresh-ana-5f1e',
  access: '1000.access-ana-77aa',
  expiry: '1764000000000',
  redirect: 'http://localhost:3000/oauth/callback?x=1&y="2"',
  apiDomain: 'https://www.zohoapis.eu',
};
const BEN: Row = {
  user: 'ben@zylker.com',
  clientId: '1000.CSVCLIENT',
  clientSecret: 'ben-secret-31',
  refresh: '1000.refresh-ben-0c0c',
};
// No user: the SDK stores an access token alone this way.
const BARE: Row = { access: '1000.bare-access-9e9e' };
const secretsOf = (...rows: Row[]) =>
  rows.flatMap((row) => [row.clientSecret, row.refresh, row.access, row.grant].filter((v): v is string => !!v));

describe('reading the official SDK’s CSV token file', () => {
  it('reads every field of a file the official FileStore wrote, quotes and all', async () => {
    const path = await officialFile([ANA, BEN, BARE]);
    const tokens = await readOfficialTokenFile(path);
    assert.deepEqual(
      tokens.map((token) => recordOf(token, token.getId() ?? '')),
      [
        {
          id: '1',
          userName: ANA.user,
          clientId: ANA.clientId,
          clientSecret: ANA.clientSecret,
          refreshToken: ANA.refresh,
          accessToken: ANA.access,
          grantToken: null,
          expiryTime: ANA.expiry,
          redirectUrl: ANA.redirect,
          apiDomain: ANA.apiDomain,
        },
        {
          id: '2',
          userName: BEN.user,
          clientId: BEN.clientId,
          clientSecret: BEN.clientSecret,
          refreshToken: BEN.refresh,
          accessToken: null,
          grantToken: null,
          expiryTime: null,
          redirectUrl: null,
          apiDomain: null,
        },
        {
          id: '3',
          userName: null,
          clientId: null,
          clientSecret: null,
          refreshToken: null,
          accessToken: BARE.access,
          grantToken: null,
          expiryTime: null,
          redirectUrl: null,
          apiDomain: null,
        },
      ],
    );
    // The official store reads its own file back the same way.
    const back = (await new OfficialFileStore(path).getTokens()) as InstanceType<typeof SdkToken>[];
    assert.deepEqual(
      back.map((token) => token.getClientSecret()),
      tokens.map((token) => token.getClientSecret() ?? ''),
    );
  });

  it('reads an older 9-column file and a file with Windows line ends', () => {
    const old = parseOfficialCsv(
      'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url\n7,o@zylker.com,c,s,r,,,,',
    );
    assert.equal(old[0]?.getRefreshToken(), 'r');
    assert.equal(old[0]?.getAPIDomain(), null);
    const crlf = parseOfficialCsv(
      'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain\r\n' +
        '1,w@zylker.com,c,s,r,a,,1,,https://www.zohoapis.com\r\n\r\n',
    );
    assert.equal(crlf.length, 1);
    assert.equal(crlf[0]?.getAPIDomain(), 'https://www.zohoapis.com');
  });

  it('refuses a value with a comma or line break, which the official FileStore writes unquoted, naming file and line', async () => {
    const comma = await officialFile([BEN, { ...ANA, clientSecret: 'has,comma' }]);
    await assert.rejects(readOfficialTokenFile(comma), (error: unknown) => {
      assert.ok(isTokenStoreError(error) && error.code === 'CORRUPT_DATA');
      assert.match(error.message, new RegExp(`^${comma.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 3: 11 fields`));
      assert.ok(!error.message.includes('has,comma'), 'no value is quoted');
      return true;
    });
    const newline = await officialFile([{ ...ANA, refresh: '1000.r\nsplit' }]);
    await assert.rejects(
      readOfficialTokenFile(newline),
      /line 2: 5 fields where the header has 10; a value holds a line break/,
    );
    assert.throws(
      () => parseOfficialCsv('not,a,token,file\n1,2,3,4'),
      /the official token file, line 1: not the official/,
    );
    const badExpiry = readFileSync(await officialFile([ANA]), 'utf8').replace(ANA.expiry as string, 'soon');
    assert.throws(() => parseOfficialCsv(badExpiry, 'x.csv'), /x\.csv, line 2: expiry_time is not a number/);
  });
});

for (const kind of KINDS) {
  describe(`zoho-tokens import into ${kind}`, () => {
    let store: CliStore;
    beforeEach(() => {
      store = freshCliStore(kind);
    });
    afterEach(() => store.drop());

    it('imports every token, keeping ids and values, and a re-run adds nothing', async () => {
      const csv = await officialFile([ANA, BEN, BARE]);
      const first = await zohoTokens([csv, '--store', store.url]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stderr, '');
      assert.match(first.stdout, /^Imported 3 tokens from .+: 3 new, 0 updated\. The store holds 3 tokens\.\n$/);
      assertNoSecrets(first, secretsOf(ANA, BEN, BARE));
      const expected = (await readOfficialTokenFile(csv)).map((token) => recordOf(token, token.getId() ?? ''));
      const stored = (await storedTokens(store.url))
        .map((token) => recordOf(token, token.getId() ?? ''))
        .sort((a, b) => a.id.localeCompare(b.id));
      assert.deepEqual(stored, expected);

      const again = await zohoTokens([csv, '--store', store.url]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /: 0 new, 3 updated\. The store holds 3 tokens\.\n$/);
      assert.equal((await storedTokens(store.url)).length, 3);
    });

    it('--new-ids gives fresh ids, and an id held by another user stops with a hint', async () => {
      const seeded = await openStore(store.url);
      await seeded.saveToken(new OAuthToken({ id: '1', userName: 'someone@else.com', accessToken: '1000.x' }));
      await seeded.close();
      const csv = await officialFile([ANA, BEN]);

      const clash = await zohoTokens([csv, '--store', store.url]);
      assert.equal(clash.code, 1);
      assert.match(
        clash.stderr,
        /^zoho-tokens: imported \d of 2 tokens, then saving into \S+ failed: .*another user \(ID_CONFLICT\) — .*--new-ids\n$/,
      );

      const fresh = await zohoTokens([csv, '--store', store.url, '--new-ids']);
      assert.equal(fresh.code, 0, fresh.stderr);
      const tokens = await storedTokens(store.url);
      const ana = tokens.find((token) => token.getUserSignature()?.getName() === ANA.user);
      assert.ok(ana && ana.getId() !== '1' && /^\d{10}$/.test(ana.getId() as string));
      assert.equal(ana.getClientSecret(), ANA.clientSecret);
      assert.equal(tokens.length, 3);
      assertNoSecrets(fresh, secretsOf(ANA, BEN));
    });

    it('saves nothing from a file with a bad line, and fails with exit 1 naming it', async () => {
      const csv = await officialFile([ANA, { ...BEN, clientSecret: 'x,y' }]);
      const run = await zohoTokens([csv, '--store', store.url]);
      assert.equal(run.code, 1);
      assert.ok(run.stderr.startsWith(`zoho-tokens: ${csv}, line 3: 11 fields`), run.stderr);
      assert.equal(run.stderr.split('\n').length, 2, 'one line');
      assert.equal((await storedTokens(store.url)).length, 0);
      assertNoSecrets(run, secretsOf(ANA));
    });

    it('counts a line repeating an earlier user apart: the later line wins, one token', async () => {
      const path = join(dir, `repeated-${kind}.csv`);
      writeFileSync(
        path,
        'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain\n' +
          '1,ana@zylker.com,1000.C,sec-one,1000.refresh-old-1111,,,,,\n' +
          '2,ben@zylker.com,1000.C,sec-two,1000.refresh-ben-2222,,,,,\n' +
          '3,ana@zylker.com,1000.C,sec-one,1000.refresh-new-3333,,,,,\n',
      );
      const run = await zohoTokens([path, '--store', store.url]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        /: 2 new, 0 updated, 1 line repeating an earlier one \(the later line kept\)\. The store holds 2 tokens\.\n$/,
      );
      const ana = (await storedTokens(store.url)).find(
        (token) => token.getUserSignature()?.getName() === 'ana@zylker.com',
      );
      assert.equal(ana?.getId(), '1');
      assert.equal(ana?.getRefreshToken(), '1000.refresh-new-3333');
      assertNoSecrets(run, ['1000.refresh-old-1111', '1000.refresh-new-3333', '1000.refresh-ben-2222']);

      const again = await zohoTokens([path, '--store', store.url]);
      assert.match(again.stdout, /: 0 new, 2 updated, 1 line repeating an earlier one .*The store holds 2 tokens\.\n$/);
    });
  });
}

describe('zoho-tokens import usage', () => {
  it('--help explains it, exit 0', async () => {
    const run = await zohoTokens(['--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: zoho-tokens import <official-csv>/);
    assert.match(run.stdout, /--new-ids/);
    assert.match((await cli(['--help'])).stdout, /^ {2}import {4}import the official SDK's CSV token file/m);
  });

  it('a missing argument or unknown option is a usage error (2); a missing file fails (1) naming it', async () => {
    assert.equal((await zohoTokens([])).code, 2);
    assert.equal((await zohoTokens(['a.csv', 'b.csv'])).code, 2);
    const unknown = await zohoTokens(['a.csv', '--frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--frobnicate/);
    const missing = join(dir, 'nope.csv');
    const run = await zohoTokens([missing, '--store', 'memory:']);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      new RegExp(`${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file or directory \\(ENOENT\\)\n$`),
    );
  });

  it('says so for a file with no tokens', async () => {
    const path = join(dir, 'empty.csv');
    writeFileSync(
      path,
      'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain',
    );
    const run = await zohoTokens([path, '--store', 'memory:']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^No tokens in .+; nothing imported\.\n$/);
  });
});
