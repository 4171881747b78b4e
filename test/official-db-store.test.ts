// One MySQL table shared by the official @zohocrm/typescript-sdk-8.0 DBStore and our MySQLStore:
// the table as the SDK's README creates it, each store finding, updating and adding tokens the
// other then reads back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { OAuthToken as OurToken } from 'zoho-token-store';
import { MySQLStore } from 'zoho-token-store/stores/mysql';
import { dropTestStore, MYSQL_URL, serverAnswers } from './fixtures/test-stores.js';

const requireSdk = createRequire(join(resolve(import.meta.dirname, 'official-sdks'), 'package.json'));
// biome-ignore lint/suspicious/noExplicitAny: the SDK is untyped JavaScript here
let sdk: any = null;
try {
  sdk = requireSdk('@zohocrm/typescript-sdk-8.0');
} catch {
  const message = 'test/official-sdks is not installed: run `npm ci --prefix test/official-sdks` (.ci/run does)';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING the official DBStore test: ${message}\n`);
}

const HOUR = 3_600_000;

/** The official SDK's own token. */
function sdkToken(fields: { user: string; refreshToken: string; accessToken: string; expiresIn: number }) {
  const token = new sdk.OAuthBuilder()
    .clientId('1000.C')
    .clientSecret('secret')
    .refreshToken(fields.refreshToken)
    .userSignature(new sdk.UserSignature(fields.user))
    .build();
  token.setAccessToken(fields.accessToken);
  token.setExpiresIn(String(fields.expiresIn));
  token.setAPIDomain('https://www.zohoapis.com');
  return token;
}
const probe = (user: string) => new sdk.OAuthBuilder().userSignature(new sdk.UserSignature(user)).build();

describe('the official DBStore and MySQLStore on one table', { skip: sdk === null }, () => {
  it('each finds, updates and adds tokens the other reads back', async (t) => {
    if (!(await serverAnswers('mysql'))) {
      if (process.env.CI === 'true') throw new Error('MySQL does not answer, and CI=true');
      return t.skip('MySQL is not running');
    }
    const table = `test_${randomBytes(4).toString('hex')}`;
    const url = new URL(MYSQL_URL);
    const admin = await mysql.createConnection(MYSQL_URL);
    // The official SDK's README table, verbatim but for its name.
    await admin.query(`CREATE TABLE ${table} (id varchar(10) NOT NULL, user_name varchar(255),
      client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), access_token varchar(255),
      grant_token varchar(255), expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255),
      primary key (id))`);
    await admin.end();
    const official = new sdk.DBStore(
      url.hostname,
      url.pathname.slice(1),
      table,
      decodeURIComponent(url.username),
      decodeURIComponent(url.password),
      Number(url.port || 3306),
    );
    const ours = new MySQLStore({ url: MYSQL_URL, table });
    try {
      const inAnHour = Date.now() + HOUR;
      // The official store writes; ours finds it.
      const ana = sdkToken({
        user: 'ana@zylker.com',
        refreshToken: 'r-ana',
        accessToken: 'a-ana-1',
        expiresIn: inAnHour,
      });
      await official.saveToken(ana);
      const found = await ours.findToken(new OurToken({ userName: 'ana@zylker.com' }));
      assert.equal(found?.getRefreshToken(), 'r-ana');
      assert.equal(found?.getAccessToken(), 'a-ana-1');
      assert.equal(found?.getId(), ana.getId());
      assert.equal(found?.getAPIDomain(), 'https://www.zohoapis.com');

      // Ours updates it and adds another user; the official store reads both back.
      await ours.saveToken(
        new OurToken({ userName: 'ana@zylker.com', accessToken: 'a-ana-2', expiresIn: inAnHour + HOUR }),
      );
      const bo = new OurToken({
        userName: 'bo@zylker.com',
        clientId: '1000.C',
        clientSecret: 'secret',
        refreshToken: 'r-bo',
        accessToken: 'a-bo-1',
        expiresIn: inAnHour,
      });
      await ours.saveToken(bo);
      const anaAgain = await official.findToken(probe('ana@zylker.com'));
      assert.equal(anaAgain.getAccessToken(), 'a-ana-2');
      assert.equal(anaAgain.getRefreshToken(), 'r-ana', 'the fields the update left out are kept');
      assert.equal(anaAgain.getExpiresIn(), String(inAnHour + HOUR));
      const boById = await official.findTokenById(bo.getId());
      assert.equal(boById.getRefreshToken(), 'r-bo');
      assert.equal(boById.getUserSignature().getName(), 'bo@zylker.com');
      const listed = await official.getTokens();
      assert.deepEqual(listed.map((token: OurToken) => token.getUserSignature()?.getName()).sort(), [
        'ana@zylker.com',
        'bo@zylker.com',
      ]);

      // The reverse: the official store updates one, adds one (its own max(id) + 1) and deletes one.
      await official.saveToken(
        sdkToken({ user: 'bo@zylker.com', refreshToken: 'r-bo', accessToken: 'a-bo-2', expiresIn: inAnHour }),
      );
      const cy = sdkToken({ user: 'cy@zylker.com', refreshToken: 'r-cy', accessToken: 'a-cy', expiresIn: inAnHour });
      await official.saveToken(cy);
      await official.deleteToken(ana.getId());
      assert.equal((await ours.findToken(new OurToken({ userName: 'bo@zylker.com' })))?.getAccessToken(), 'a-bo-2');
      assert.equal((await ours.findTokenById(cy.getId()))?.getRefreshToken(), 'r-cy');
      assert.equal(await ours.findToken(new OurToken({ userName: 'ana@zylker.com' })), null);
      assert.equal((await ours.getTokens()).length, 2, 'no user has two rows');
    } finally {
      await ours.close();
      await dropTestStore('mysql', { table });
    }
  });
});
