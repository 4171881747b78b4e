import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isTokenStoreError, OAuthToken, TokenStoreErrorCode } from 'zoho-token-store';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { describeTokenStoreConformance } from 'zoho-token-store/testing';

const dir = mkdtempSync(join(tmpdir(), 'zts-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const newFile = () => join(dir, `tokens-${++files}.db`);

// Which file each conformance store uses, so the suite can open a second store on it.
const pathOf = new WeakMap<object, string>();
describeTokenStoreConformance({ describe, it }, 'SQLiteStore (file)', {
  createStore: () => {
    const path = newFile();
    const store = new SQLiteStore({ path });
    pathOf.set(store, path);
    return store;
  },
  reopenStore: (store) => new SQLiteStore({ path: pathOf.get(store) as string }),
});
describeTokenStoreConformance({ describe, it }, 'SQLiteStore (:memory:)', {
  createStore: () => new SQLiteStore({ path: ':memory:' }),
});

const token = (n: number) =>
  new OAuthToken({
    userName: `u${n}@zylker.com`,
    clientId: 'c',
    clientSecret: 's',
    refreshToken: `r${n}`,
    accessToken: `a${n}`,
  });

describe('SQLiteStore on disk', () => {
  it('looks up the email:zgid rows of a plain email with a range of the user-name index', async () => {
    const path = newFile();
    const store = new SQLiteStore({ path });
    await store.saveToken(new OAuthToken({ userName: 'ana@zylker.com:700001234', refreshToken: 'r' }));
    assert.ok(await store.findToken(new OAuthToken({ userName: 'ana@zylker.com' })));
    await store.close();
    const db = new Database(path);
    const plan = db
      .prepare('EXPLAIN QUERY PLAN SELECT * FROM oauthtoken WHERE (user_name >= ? AND user_name < ?)')
      .all('ana@zylker.com:', 'ana@zylker.com;') as { detail: string }[];
    db.close();
    assert.match(
      plan.map((step) => step.detail).join('\n'),
      /SEARCH oauthtoken USING INDEX oauthtoken_user_name \(user_name>\? AND user_name<\?\)/,
    );
  });

  it('creates the official table, with an index per lookup column, in a file only its owner can read', async () => {
    const path = newFile();
    const store = new SQLiteStore({ path });
    await store.saveToken(token(1));
    await store.close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const db = new Database(path, { readonly: true });
    const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('oauthtoken');
    assert.deepEqual(columns, [
      'id',
      'user_name',
      'client_id',
      'client_secret',
      'refresh_token',
      'access_token',
      'grant_token',
      'expiry_time',
      'redirect_url',
      'api_domain',
    ]);
    const indexed = db
      .prepare("SELECT il.name FROM pragma_index_list('oauthtoken') l, pragma_index_info(l.name) il")
      .pluck()
      .all();
    for (const column of ['id', 'user_name', 'access_token', 'grant_token', 'refresh_token']) {
      assert.ok(indexed.includes(column), `${column} is not indexed`);
    }
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('keeps tokens across reopening, and reads a table the official SDK wrote', async () => {
    const path = newFile();
    const db = new Database(path);
    db.exec(`CREATE TABLE oauthtoken (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255),
      client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255),
      expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id))`);
    db.prepare('INSERT INTO oauthtoken VALUES (?,?,?,?,?,?,?,?,?,?)').run(
      '1',
      'legacy@zylker.com',
      'c',
      's',
      'r-legacy',
      'a-legacy',
      null,
      '1764000000000',
      null,
      'https://www.zohoapis.com',
    );
    db.close();

    const first = new SQLiteStore({ path });
    await first.saveToken(token(2));
    await first.close();
    const second = new SQLiteStore({ path });
    const legacy = await second.findToken(new OAuthToken({ userName: 'legacy@zylker.com' }));
    assert.equal(legacy?.getRefreshToken(), 'r-legacy');
    assert.equal(legacy?.getId(), '1');
    assert.equal((await second.getTokens()).length, 2);
    await second.close();
  });

  it('serialises saves from two connections to one file without duplicates', async () => {
    const path = newFile();
    const [a, b] = [new SQLiteStore({ path }), new SQLiteStore({ path })];
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).saveToken(token(i % 10))));
    assert.equal((await a.getTokens()).length, 10);
    await Promise.all([a.close(), b.close()]);
  });

  it('uses another table when asked, and refuses a table name that is not an identifier', async () => {
    const path = newFile();
    const store = new SQLiteStore({ path, table: 'tokens_v2' });
    await store.saveToken(token(1));
    await store.close();
    const db = new Database(path, { readonly: true });
    assert.equal(db.prepare('SELECT count(*) FROM tokens_v2').pluck().get(), 1);
    db.close();
    assert.throws(() => new SQLiteStore({ path, table: 'x; DROP TABLE tokens_v2' }), TypeError);
  });

  it('fails with a typed error after close, and when the database is unusable', async () => {
    const store = new SQLiteStore({ path: ':memory:' });
    await store.close();
    await assert.rejects(
      store.getTokens(),
      (e: unknown) => isTokenStoreError(e) && e.code === TokenStoreErrorCode.CLOSED,
    );

    const db = new Database(':memory:');
    const broken = new SQLiteStore({ database: db });
    db.exec('DROP TABLE oauthtoken');
    await assert.rejects(
      broken.saveToken(token(1)),
      (e: unknown) =>
        isTokenStoreError(e) && e.code === TokenStoreErrorCode.STORAGE_FAILURE && e.cause instanceof Error,
    );
    db.close();
  });

  it('gives up on a refresh lock held elsewhere with LOCK_TIMEOUT, and frees it after the holder', async () => {
    const path = newFile();
    const [holder, waiter] = [new SQLiteStore({ path }), new SQLiteStore({ path, lockTimeoutMs: 200 })];
    let release = () => {};
    const held = holder.withRefreshLock('k', () => new Promise<void>((done) => (release = done)));
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await assert.rejects(
      waiter.withRefreshLock('k', async () => {}),
      (e: unknown) => isTokenStoreError(e) && e.code === TokenStoreErrorCode.LOCK_TIMEOUT,
    );
    assert.ok(Date.now() - started < 1_000);
    assert.equal(await waiter.withRefreshLock('other', async () => 'free'), 'free');
    release();
    await held;
    assert.equal(await waiter.withRefreshLock('k', async () => 'mine'), 'mine');
    await Promise.all([holder.close(), waiter.close()]);
  });

  it('rolls a failed save back whole', async () => {
    const db = new Database(':memory:');
    const store = new SQLiteStore({ database: db });
    await store.saveToken(token(1));
    // A trigger that fails the update after the row was read: nothing of the save may remain.
    db.exec("CREATE TRIGGER no_updates BEFORE UPDATE ON oauthtoken BEGIN SELECT RAISE(ABORT, 'read-only'); END");
    await assert.rejects(store.saveToken(new OAuthToken({ userName: 'u1@zylker.com', accessToken: 'changed' })));
    const found = await store.findToken(new OAuthToken({ userName: 'u1@zylker.com' }));
    assert.equal(found?.getAccessToken(), 'a1');
    // A batch whose insert went through before its update failed keeps neither.
    await assert.rejects(
      store.saveTokens([token(2), new OAuthToken({ userName: 'u1@zylker.com', accessToken: 'changed' })]),
    );
    assert.deepEqual(
      (await store.getTokens()).map((t) => t.getAccessToken()),
      ['a1'],
    );
    await store.close();
    db.close();
  });

  it('refuses at save a value with a lone surrogate, which SQLite would store changed', async () => {
    const db = new Database(':memory:');
    const store = new SQLiteStore({ database: db });
    const lone = new OAuthToken({ userName: 'u\uD800@zylker.com', accessToken: 'a-lone' });
    const invalid = (e: unknown) => isTokenStoreError(e) && e.code === TokenStoreErrorCode.INVALID_TOKEN;
    await assert.rejects(store.saveToken(lone), invalid);
    await assert.rejects(store.findToken(lone), invalid);
    assert.deepEqual(db.prepare('SELECT * FROM oauthtoken').all(), [], 'nothing reached the table');
    await store.close();
    db.close();
  });

  it('gives no activity to a token saved under the id of a row deleted behind its back', async () => {
    const db = new Database(':memory:');
    const store = new SQLiteStore({ database: db });
    const [one, two] = [token(1), token(2)];
    await store.saveTokens([one, two]);
    for (const t of [one, two]) await store.recordUse(t.getId() as string, 1_000);
    // As the official SDK deletes: the row only, the activity table unknown to it.
    db.exec('DELETE FROM oauthtoken');
    assert.equal((await store.getActivity()).length, 2, 'the activity was left behind');
    await store.saveToken(new OAuthToken({ id: one.getId(), userName: 'new1@zylker.com', accessToken: 'n1' }));
    await store.saveTokens([new OAuthToken({ id: two.getId(), userName: 'new2@zylker.com', accessToken: 'n2' })]);
    assert.deepEqual(await store.getActivity(), []);
    await store.close();
    db.close();
  });
});
