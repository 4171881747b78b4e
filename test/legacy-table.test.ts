// The DBStore table of the legacy official SDKs (`zcrmsdk` 1.x, `@zohocrm/nodejs-sdk-2.0`,
// `@zohocrm/typescript-sdk-2.0`): created with the DDL of their READMEs, and written and read
// with the statements their db_store.js sends (zcrmsdk concatenates values, so an absent grant
// token is the text 'null'; the 2.0 SDKs pass them to `mysql` as `VALUES ?`). Our SQL stores find,
// update and add tokens there; rows we add are found by those statements; `zoho-tokens migrate`
// moves the table to the current layout.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { OAuthToken } from 'zoho-token-store';
import { MySQLStore } from 'zoho-token-store/stores/mysql';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { cli } from './fixtures/cli-run.js';
import { MYSQL_URL, serverAnswers } from './fixtures/test-stores.js';

const CLIENT = { clientId: '1000.LEGACYCLIENT', clientSecret: 'legacy-secret' };
const FUTURE = String(Date.now() + 3_600_000);

// README DDL of @zohocrm/nodejs-sdk-2.0 and @zohocrm/typescript-sdk-2.0 (their id: `nodejs_<local>_<env>_<last 4>`).
const SDK2_DDL = (table: string) => `CREATE TABLE ${table} (
  id varchar(255) NOT NULL,
  user_mail varchar(255) NOT NULL,
  client_id varchar(255),
  client_secret varchar(255),
  refresh_token varchar(255),
  access_token varchar(255),
  grant_token varchar(255),
  expiry_time varchar(20),
  redirect_url varchar(255),
  primary key (id)
)`;
// README DDL of zcrmsdk 1.x: an auto-increment int id, no client_secret or redirect_url.
const ZCRMSDK_DDL = (table: string) =>
  `create table ${table}(id int(11) not null auto_increment, user_mail varchar(255) not null, client_id varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), primary key (id))`;
// The 2.0 SDKs' saveToken insert, and the lookup of their getToken (constructDBQuery, values bound here).
const SDK2_INSERT = (table: string) =>
  `INSERT INTO ${table}(id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url) VALUES (?,?,?,?,?,?,?,?,?)`;
const LEGACY_SELECT = (table: string) =>
  `select * from ${table} where user_mail = ? and client_id = ? and refresh_token = ?`;

describe('a legacy oauthtoken table in SQLite (2.0 SDKs’ DDL)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'zts-legacy-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is found, updated and added to; rows we add are what the legacy SDK reads; migrate moves it', async () => {
    const path = join(dir, 'legacy.db');
    const db = new Database(path);
    db.exec(SDK2_DDL('oauthtoken'));
    db.prepare(SDK2_INSERT('oauthtoken')).run(
      'nodejs_ana_PRODUCTION_r001',
      'ana@zylker.com',
      CLIENT.clientId,
      CLIENT.clientSecret,
      '1000.legacy.r001',
      '1000.legacy.a001',
      null,
      FUTURE,
      'https://app.zylker.com/cb',
    );

    const store = new SQLiteStore({ path });
    // By user: the plain email the legacy SDK stored; and by the official SDK 8.0's name for the user.
    const byMail = await store.findToken(new OAuthToken({ userName: 'ana@zylker.com' }));
    assert.equal(byMail?.getId(), 'nodejs_ana_PRODUCTION_r001');
    assert.equal(byMail?.getRefreshToken(), '1000.legacy.r001');
    assert.equal(byMail?.getAPIDomain(), null, 'a legacy table has no api_domain');
    const bySdk8Name = await store.findToken(new OAuthToken({ userName: 'ana@zylker.com:700001234' }));
    assert.equal(bySdk8Name?.getId(), 'nodejs_ana_PRODUCTION_r001');

    // Updated in place: the legacy SDK's own lookup sees the new access token.
    await store.saveToken(
      new OAuthToken({ userName: 'ana@zylker.com', accessToken: '1000.ours.a002', apiDomain: 'https://x' }),
    );
    const legacyRow = db
      .prepare(LEGACY_SELECT('oauthtoken'))
      .get('ana@zylker.com', CLIENT.clientId, '1000.legacy.r001');
    assert.equal((legacyRow as { access_token: string }).access_token, '1000.ours.a002');

    // Added: a numeric id, the plain email in user_mail, every column the legacy SDK reads.
    const bob = new OAuthToken({
      userName: 'bob@zylker.com:700001234',
      ...CLIENT,
      refreshToken: '1000.ours.r003',
      accessToken: '1000.ours.a003',
      expiresIn: FUTURE,
      redirectURL: 'https://app.zylker.com/cb',
    });
    await store.saveToken(bob);
    assert.match(bob.getId() ?? '', /^\d{10}$/);
    assert.ok(Number(bob.getId()) < 2 ** 31, 'fits an INT id column');
    const added = db.prepare(LEGACY_SELECT('oauthtoken')).get('bob@zylker.com', CLIENT.clientId, '1000.ours.r003');
    assert.deepEqual(added, {
      id: bob.getId(),
      user_mail: 'bob@zylker.com',
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
      refresh_token: '1000.ours.r003',
      access_token: '1000.ours.a003',
      grant_token: null,
      expiry_time: FUTURE,
      redirect_url: 'https://app.zylker.com/cb',
    });
    assert.equal((await store.getTokens()).length, 2);
    await store.close();
    db.close();

    // Moved to the current layout in another file: both users, their ids and values.
    const target = join(dir, 'current.db');
    const run = await cli(['migrate', '--from', `sqlite:${path}`, '--to', `sqlite:${target}`]);
    assert.equal(run.code, 0, run.stderr);
    const moved = new SQLiteStore({ path: target });
    const tokens = await moved.getTokens();
    assert.deepEqual(
      tokens.map((t) => [t.getId(), t.getUserSignature()?.getName(), t.getRefreshToken()]).sort(),
      [
        [bob.getId(), 'bob@zylker.com', '1000.ours.r003'],
        ['nodejs_ana_PRODUCTION_r001', 'ana@zylker.com', '1000.legacy.r001'],
      ].sort(),
    );
    const columns = new Database(target).prepare(`SELECT name FROM pragma_table_info('oauthtoken')`).all();
    assert.ok(columns.some((c) => (c as { name: string }).name === 'user_name'));
    await moved.close();
  });

  it('creates a legacy table when told to, and reads the text null the legacy SDKs write as null', async () => {
    const path = join(dir, 'told.db');
    const store = new SQLiteStore({ path, layout: 'legacy' });
    const db = new Database(path);
    const names = db.prepare(`SELECT name FROM pragma_table_info('oauthtoken')`).all() as { name: string }[];
    assert.deepEqual(
      names.map((c) => c.name),
      [
        'id',
        'user_mail',
        'client_id',
        'client_secret',
        'refresh_token',
        'access_token',
        'grant_token',
        'expiry_time',
        'redirect_url',
      ],
    );
    db.prepare(SDK2_INSERT('oauthtoken')).run(
      '1',
      'cy@zylker.com',
      'c',
      's',
      '1000.r',
      '1000.a',
      'null',
      FUTURE,
      'null',
    );
    const found = await store.findToken(new OAuthToken({ userName: 'cy@zylker.com' }));
    assert.equal(found?.getGrantToken(), null);
    assert.equal(found?.getRedirectURL(), null);
    await store.close();
    db.close();
  });
});

describe('a legacy oauthtoken table in MySQL (zcrmsdk’s DDL: INT auto_increment id)', async () => {
  const up = await serverAnswers('mysql');
  const table = `legacy_${randomBytes(4).toString('hex')}`;
  const current = `${table}_current`;
  let connection: mysql.Connection;
  before(async () => {
    if (!up) return;
    connection = await mysql.createConnection(MYSQL_URL);
  });
  after(async () => {
    if (!up) return;
    for (const name of [table, current])
      await connection.query(`DROP TABLE IF EXISTS \`${name}\`, \`${name}_activity\``);
    await connection.end();
  });

  it('is found, updated and added to, zcrmsdk goes on inserting after our ids, and migrate moves it', {
    skip: !up,
  }, async () => {
    await connection.query(ZCRMSDK_DDL(table));
    // zcrmsdk's saveToken, as it builds it: values concatenated, an absent grant token as 'null'.
    const zcrmsdkInsert = (mail: string, refresh: string, access: string) =>
      connection.query(
        `INSERT INTO ${table}(user_mail,client_id,refresh_token,access_token,grant_token,expiry_time) VALUES ('${mail}','${CLIENT.clientId}','${refresh}','${access}','null','${FUTURE}')`,
      );
    await zcrmsdkInsert('ana@zylker.com', '1000.z.r1', '1000.z.a1');

    const store = new MySQLStore({ url: MYSQL_URL, table });
    const ana = await store.findToken(new OAuthToken({ userName: 'ana@zylker.com' }));
    assert.equal(ana?.getId(), '1');
    assert.equal(ana?.getGrantToken(), null, "zcrmsdk's text 'null' reads as null");
    const byRefresh = await store.findToken(new OAuthToken({ ...CLIENT, refreshToken: '1000.z.r1' }));
    assert.equal(byRefresh?.getUserSignature()?.getName(), 'ana@zylker.com');

    await store.saveToken(new OAuthToken({ userName: 'ana@zylker.com', accessToken: '1000.ours.a2' }));
    const [legacyRows] = await connection.query(LEGACY_SELECT(table), ['ana@zylker.com', CLIENT.clientId, '1000.z.r1']);
    assert.equal((legacyRows as { access_token: string }[])[0]?.access_token, '1000.ours.a2');

    const bob = new OAuthToken({
      userName: 'bob@zylker.com',
      ...CLIENT,
      refreshToken: '1000.ours.r3',
      accessToken: '1000.ours.a3',
      expiresIn: FUTURE,
    });
    await store.saveToken(bob);
    const [added] = await connection.query(LEGACY_SELECT(table), ['bob@zylker.com', CLIENT.clientId, '1000.ours.r3']);
    assert.deepEqual((added as Record<string, unknown>[])[0], {
      id: Number(bob.getId()),
      user_mail: 'bob@zylker.com',
      client_id: CLIENT.clientId,
      refresh_token: '1000.ours.r3',
      access_token: '1000.ours.a3',
      grant_token: null,
      expiry_time: FUTURE,
    });
    // zcrmsdk's next insert takes the next id after ours.
    await zcrmsdkInsert('cy@zylker.com', '1000.z.r4', '1000.z.a4');
    const cy = await store.findToken(new OAuthToken({ userName: 'cy@zylker.com' }));
    assert.equal(cy?.getId(), String(Number(bob.getId()) + 1));
    await store.close();

    const run = await cli([
      'migrate',
      '--from',
      `${MYSQL_URL}?table=${table}`,
      '--to',
      `${MYSQL_URL}?table=${current}`,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const moved = new MySQLStore({ url: MYSQL_URL, table: current });
    assert.deepEqual((await moved.getTokens()).map((t) => t.getUserSignature()?.getName()).sort(), [
      'ana@zylker.com',
      'bob@zylker.com',
      'cy@zylker.com',
    ]);
    const [columns] = await connection.query(
      'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?',
      [current],
    );
    assert.ok((columns as { name: string }[]).some((c) => c.name === 'api_domain'));
    await moved.close();
  });

  it('creates a legacy table when told to', { skip: !up }, async () => {
    const told = `${table}_told`;
    const store = new MySQLStore({ url: MYSQL_URL, table: told, layout: 'legacy' });
    try {
      await store.saveToken(new OAuthToken({ userName: 'dee@zylker.com:1', ...CLIENT, refreshToken: '1000.r' }));
      const [rows] = await connection.query(`SELECT user_mail, refresh_token FROM \`${told}\``);
      assert.deepEqual(rows, [{ user_mail: 'dee@zylker.com', refresh_token: '1000.r' }]);
    } finally {
      await store.close();
      await connection.query(`DROP TABLE IF EXISTS \`${told}\`, \`${told}_activity\``);
    }
  });
});
