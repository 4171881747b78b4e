// One legacy `oauthtoken` table shared by a legacy official SDK's own DBStore (on the `mysql`
// driver it loads) and our MySQLStore: `@zohocrm/nodejs-sdk-2.0` on a table of its README's DDL,
// and `zcrmsdk` 1.x, whose table name is fixed, on its README's table in a database of its own.
// Each store finds, updates and adds tokens the other then reads back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { OAuthToken as OurToken } from 'zoho-token-store';
import { MySQLStore } from 'zoho-token-store/stores/mysql';
import { MYSQL_URL, serverAnswers } from './fixtures/test-stores.js';

const requireSdk = createRequire(join(resolve(import.meta.dirname, 'official-sdks'), 'package.json'));
// biome-ignore lint/suspicious/noExplicitAny: the SDKs are untyped JavaScript here
type Sdk = any;
/** The SDK's classes this test uses, or null when test/official-sdks is not installed. */
function load(name: string): Record<string, Sdk> | null {
  const from = (path: string) => requireSdk(`${name}/${path}`);
  try {
    return {
      ...from('models/authenticator/store/db_store'),
      ...from('models/authenticator/oauth_token'),
      ...from('routes/user_signature'),
      ...(name === 'zcrmsdk' ? {} : from('models/authenticator/oauth_builder')),
    };
  } catch {
    const message = 'test/official-sdks is not installed: run `npm ci --prefix test/official-sdks` (.ci/run does)';
    if (process.env.CI === 'true') throw new Error(message);
    console.warn(`\n!!! SKIPPING the legacy DBStore tests: ${message}\n`);
    return null;
  }
}
const node2 = load('@zohocrm/nodejs-sdk-2.0');
const zcrmsdk = load('zcrmsdk');

const CLIENT = { clientId: '1000.LEGACYCLIENT', clientSecret: 'legacy-secret' };
const REDIRECT = 'https://app.zylker.com/oauth/callback';
const HOUR = 3_600_000;
const server = new URL(MYSQL_URL);
/** The DBStores' connection arguments. */
const connection = {
  host: server.hostname,
  user: decodeURIComponent(server.username),
  password: decodeURIComponent(server.password),
  port: Number(server.port || 3306),
};
const users = (tokens: OurToken[]) => tokens.map((token) => token.getUserSignature()?.getName()).sort();

async function mysqlUp(t: { skip(message: string): void }): Promise<boolean> {
  if (await serverAnswers('mysql')) return true;
  if (process.env.CI === 'true') throw new Error('MySQL does not answer, and CI=true');
  t.skip('MySQL is not running');
  return false;
}

describe('the @zohocrm/nodejs-sdk-2.0 DBStore and MySQLStore on one legacy table', { skip: node2 === null }, () => {
  const sdk = node2 as Record<string, Sdk>;
  /** A token as the SDK saves it: its id is `nodejs_<local part>_<environment>_<last 4 of the refresh token>`. */
  const sdkToken = (user: string, refreshToken: string, accessToken: string, expiresIn: number) => {
    const token = new sdk.OAuthBuilder()
      .clientId(CLIENT.clientId)
      .clientSecret(CLIENT.clientSecret)
      .refreshToken(refreshToken)
      .redirectURL(REDIRECT)
      .build();
    token.setId(`nodejs_${user.split('@')[0]}_PRODUCTION_${refreshToken.slice(-4)}`);
    token.setAccessToken(accessToken);
    token.setExpiresIn(String(expiresIn));
    return token;
  };
  /** What the SDK looks a user's token up with: its client and refresh token. */
  const probe = (refreshToken: string) =>
    new sdk.OAuthBuilder()
      .clientId(CLIENT.clientId)
      .clientSecret(CLIENT.clientSecret)
      .refreshToken(refreshToken)
      .build();
  const user = (email: string) => new sdk.UserSignature(email);

  it('each finds, updates and adds tokens the other reads back', async (t) => {
    if (!(await mysqlUp(t))) return;
    const table = `legacy_${randomBytes(4).toString('hex')}`;
    const admin = await mysql.createConnection(MYSQL_URL);
    // The SDK's README table, verbatim but for its name.
    await admin.query(`CREATE TABLE ${table} (id varchar(255) NOT NULL, user_mail varchar(255) NOT NULL,
      client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255),
      grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), primary key (id))`);
    const official = new sdk.DBStore(
      connection.host,
      server.pathname.slice(1),
      table,
      connection.user,
      connection.password,
      connection.port,
    );
    const ours = new MySQLStore({ url: MYSQL_URL, table });
    try {
      const inAnHour = Date.now() + HOUR;
      // The official store writes; ours finds it, by user and by id.
      const ana = sdkToken('ana@zylker.com', '1000.r.ana1', '1000.a.ana1', inAnHour);
      await official.saveToken(user('ana@zylker.com'), ana);
      const found = await ours.findToken(new OurToken({ userName: 'ana@zylker.com' }));
      assert.equal(found?.getId(), 'nodejs_ana_PRODUCTION_ana1');
      assert.equal(found?.getRefreshToken(), '1000.r.ana1');
      assert.equal(found?.getAccessToken(), '1000.a.ana1');
      assert.equal(found?.getExpiresIn(), String(inAnHour));
      assert.equal(found?.getClientSecret(), CLIENT.clientSecret);
      assert.equal(found?.getRedirectURL(), REDIRECT);
      assert.equal(found?.getGrantToken(), null);
      assert.equal((await ours.findTokenById(ana.getId()))?.getUserSignature()?.getName(), 'ana@zylker.com');

      // Ours updates it and adds another user; the official store reads both back.
      await ours.saveToken(
        new OurToken({ userName: 'ana@zylker.com', accessToken: '1000.a.ana2', expiresIn: inAnHour + HOUR }),
      );
      const bo = new OurToken({
        userName: 'bo@zylker.com',
        ...CLIENT,
        refreshToken: '1000.r.bo01',
        accessToken: '1000.a.bo01',
        expiresIn: inAnHour,
        redirectURL: REDIRECT,
      });
      await ours.saveToken(bo);
      const anaAgain = await official.getToken(user('ana@zylker.com'), probe('1000.r.ana1'));
      assert.equal(anaAgain?.getAccessToken(), '1000.a.ana2');
      assert.equal(anaAgain?.getExpiresIn(), String(inAnHour + HOUR));
      assert.equal(anaAgain?.getId(), 'nodejs_ana_PRODUCTION_ana1', 'the row kept its id');
      const boByUser = await official.getToken(user('bo@zylker.com'), probe('1000.r.bo01'));
      assert.equal(boByUser?.getAccessToken(), '1000.a.bo01');
      const boById = await official.getTokenById(bo.getId(), new sdk.OAuthBuilder().id(bo.getId()).build());
      assert.equal(boById.getRefreshToken(), '1000.r.bo01');
      assert.equal(boById.getClientSecret(), CLIENT.clientSecret);
      assert.equal(boById.getRedirectURL(), REDIRECT);
      assert.equal(boById.getUserMail(), 'bo@zylker.com');
      assert.equal(boById.getGrantToken() ?? null, null, 'no grant token: the SDK would exchange it again');
      const listed = await official.getTokens();
      assert.deepEqual(listed.map((token: Sdk) => token.getUserMail()).sort(), ['ana@zylker.com', 'bo@zylker.com']);

      // The reverse: the official store updates one (delete, then insert under the id it read),
      // adds one and deletes one; ours reads what it left.
      const boRefreshed = await official.getTokenById(bo.getId(), new sdk.OAuthBuilder().id(bo.getId()).build());
      boRefreshed.setAccessToken('1000.a.bo02');
      await official.saveToken(user('bo@zylker.com'), boRefreshed);
      const cy = sdkToken('cy@zylker.com', '1000.r.cy01', '1000.a.cy01', inAnHour);
      await official.saveToken(user('cy@zylker.com'), cy);
      await official.deleteToken(ana);
      const boNow = await ours.findToken(new OurToken({ userName: 'bo@zylker.com' }));
      assert.equal(boNow?.getAccessToken(), '1000.a.bo02');
      assert.equal(boNow?.getId(), bo.getId());
      assert.equal((await ours.findTokenById(cy.getId()))?.getRefreshToken(), '1000.r.cy01');
      assert.equal(await ours.findToken(new OurToken({ userName: 'ana@zylker.com' })), null);
      assert.deepEqual(users(await ours.getTokens()), ['bo@zylker.com', 'cy@zylker.com'], 'no user has two rows');
    } finally {
      await ours.close();
      await admin.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_activity\``);
      await admin.end();
    }
  });
});

describe('the zcrmsdk 1.x DBStore and MySQLStore on one legacy table', { skip: zcrmsdk === null }, () => {
  const sdk = zcrmsdk as Record<string, Sdk>;
  /** zcrmsdk's token: plain properties, a refresh token given as (value, 'REFRESH'). */
  const sdkToken = (refreshToken: string, accessToken?: string, expiresIn?: number) => {
    const token = new sdk.OAuthToken(CLIENT.clientId, CLIENT.clientSecret, refreshToken, sdk.TokenType.REFRESH);
    if (accessToken) token.accessToken = accessToken;
    if (expiresIn) token.expiresIn = String(expiresIn);
    return token;
  };
  const user = (email: string) => new sdk.UserSignature(email);

  it('each finds, updates and adds tokens the other reads back', async (t) => {
    if (!(await mysqlUp(t))) return;
    // zcrmsdk's table is always `oauthtoken`: a database of its own keeps the test's apart.
    const database = `zts_legacy_${randomBytes(4).toString('hex')}`;
    const admin = await mysql.createConnection(MYSQL_URL);
    await admin.query(`CREATE DATABASE ${database}`);
    // The SDK's README table: an auto-increment int id, no client_secret, no redirect_url.
    await admin.query(`create table ${database}.oauthtoken(id int(11) not null auto_increment,
      user_mail varchar(255) not null, client_id varchar(255), refresh_token varchar(255),
      access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), primary key (id))`);
    const official = new sdk.DBStore(connection.host, database, connection.user, connection.password, connection.port);
    const url = new URL(MYSQL_URL);
    url.pathname = `/${database}`;
    const ours = new MySQLStore({ url: url.href });
    try {
      const inAnHour = Date.now() + HOUR;
      // The official store writes (an absent grant token as the text 'null'); ours finds it.
      const ana = sdkToken('1000.r.ana1', '1000.a.ana1', inAnHour);
      await official.saveToken(user('ana@zylker.com'), ana);
      const found = await ours.findToken(new OurToken({ userName: 'ana@zylker.com' }));
      assert.equal(found?.getId(), '1');
      assert.equal(found?.getRefreshToken(), '1000.r.ana1');
      assert.equal(found?.getAccessToken(), '1000.a.ana1');
      assert.equal(found?.getExpiresIn(), String(inAnHour));
      assert.equal(found?.getGrantToken(), null);

      // Ours updates it and adds another user; the official store reads both back.
      await ours.saveToken(
        new OurToken({ userName: 'ana@zylker.com', accessToken: '1000.a.ana2', expiresIn: inAnHour + HOUR }),
      );
      const bo = new OurToken({
        userName: 'bo@zylker.com',
        ...CLIENT,
        refreshToken: '1000.r.bo01',
        accessToken: '1000.a.bo01',
        expiresIn: inAnHour,
      });
      await ours.saveToken(bo);
      const anaAgain = await official.getToken(user('ana@zylker.com'), sdkToken('1000.r.ana1'));
      assert.equal(anaAgain?.accessToken, '1000.a.ana2');
      assert.equal(anaAgain?.expiresIn, String(inAnHour + HOUR));
      const boAgain = await official.getToken(user('bo@zylker.com'), sdkToken('1000.r.bo01'));
      assert.equal(boAgain?.accessToken, '1000.a.bo01');
      const listed = await official.getTokens();
      assert.deepEqual(listed.map((token: Sdk) => [token.userMail, String(token.id)]).sort(), [
        ['ana@zylker.com', '1'],
        ['bo@zylker.com', bo.getId()],
      ]);

      // The reverse: the official store updates one (delete, then insert under a new id), adds
      // one and deletes one; ours reads what it left.
      const boRefreshed = sdkToken('1000.r.bo01', '1000.a.bo02', inAnHour + HOUR);
      await official.saveToken(user('bo@zylker.com'), boRefreshed);
      await official.saveToken(user('cy@zylker.com'), sdkToken('1000.r.cy01', '1000.a.cy01', inAnHour));
      await official.deleteToken(ana);
      const boNow = await ours.findToken(new OurToken({ userName: 'bo@zylker.com' }));
      assert.equal(boNow?.getAccessToken(), '1000.a.bo02');
      assert.equal(
        (await ours.findToken(new OurToken({ userName: 'cy@zylker.com' })))?.getRefreshToken(),
        '1000.r.cy01',
      );
      assert.equal(await ours.findToken(new OurToken({ userName: 'ana@zylker.com' })), null);
      assert.deepEqual(users(await ours.getTokens()), ['bo@zylker.com', 'cy@zylker.com'], 'no user has two rows');
    } finally {
      await ours.close();
      await admin.query(`DROP DATABASE IF EXISTS ${database}`);
      await admin.end();
    }
  });
});
