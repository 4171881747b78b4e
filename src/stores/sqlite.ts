import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { emailRange } from '../store/matching.js';
import type { LookupColumn, LookupKey, RecordBackend } from '../store/record-backend.js';
import { RecordTokenStore, type StoreOptions } from '../store/record-token-store.js';
import type { TokenActivity } from '../store/token-activity.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';
import type { TokenRecord } from '../token/token-record.js';
import {
  COLUMN_LOOKUPS,
  checkTable,
  LOOKUPS,
  loadDriver,
  lookupCondition,
  recordIn,
  shapeColumn,
  shapeOf,
  type TableLayout,
  type TableShape,
  valuesIn,
} from './store-support.js';

/** Options for {@link SQLiteStore}. */
export interface SQLiteStoreOptions<T extends TokenLike> extends StoreOptions<T> {
  /** Database file; `':memory:'` keeps tokens in RAM (the article's in-memory variant). Default `zohooauth.db`. */
  path?: string;
  /** Table name (letters, digits, underscores). Default `oauthtoken`, the official DBStore's. */
  table?: string;
  /** How long a writer waits for another process's write lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** Most memory SQLite may use to cache pages, in KiB; taken only as pages are read. Default 65536 (64 MiB). */
  cacheSizeKiB?: number;
  /** How long a refresh-lock holder that died keeps others out, in ms. Default 30 000. */
  lockLeaseMs?: number;
  /** How long to wait for the refresh lock before failing, in ms. Default 30 000. */
  lockTimeoutMs?: number;
  /** An open better-sqlite3 database to use instead of opening `path`; the store will not close it. */
  database?: SQLiteDatabase;
  /**
   * The layout of the table when the store creates it: `current` (default), or `legacy`, the
   * DBStore table of `zcrmsdk` 1.x and the 2.0 SDKs (`user_mail`, no `api_domain`). A table
   * that exists is used in the layout it has, told by its columns.
   */
  layout?: TableLayout;
}

/**
 * A better-sqlite3 `Database`, named by its shape rather than imported, so this module's types
 * compile without `@types/better-sqlite3` (the driver is an optional peer dependency).
 *
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * const store = new SQLiteStore({ database: new Database('app.db') });
 * ```
 */
export interface SQLiteDatabase {
  prepare(source: string): unknown;
  exec(source: string): unknown;
  pragma(source: string): unknown;
  transaction(fn: (...args: never[]) => unknown): unknown;
  close(): unknown;
}

class SQLiteBackend implements RecordBackend {
  readonly #db: BetterSqlite3.Database;
  readonly #ownsDb: boolean;
  readonly #findBy: Map<LookupColumn, BetterSqlite3.Statement<string[], TokenRecord>>;
  readonly #list: BetterSqlite3.Statement<[], TokenRecord>;
  readonly #firstPage: BetterSqlite3.Statement<[number], TokenRecord>;
  readonly #nextPage: BetterSqlite3.Statement<[string, number], TokenRecord>;
  readonly #count: BetterSqlite3.Statement<[], { n: number }>;
  readonly #insert: BetterSqlite3.Statement<[Record<string, string | null>]>;
  readonly #update: BetterSqlite3.Statement<[Record<string, string | null>]>;
  readonly #delete: BetterSqlite3.Statement<[string]>;
  readonly #clear: BetterSqlite3.Statement<[]>;
  readonly #touch: Record<'used' | 'revoked', BetterSqlite3.Statement<[{ id: string; at: number }]>>;
  readonly #activity: BetterSqlite3.Statement<[], TokenActivity>;
  readonly #forgetActivity: BetterSqlite3.Statement<[string]>;
  readonly #clearActivity: BetterSqlite3.Statement<[]>;
  readonly #takeLock: BetterSqlite3.Statement<[string, string, number, number]>;
  readonly #extendLock: BetterSqlite3.Statement<[number, string, string]>;
  readonly #releaseLock: BetterSqlite3.Statement<[string, string]>;
  readonly #leaseMs: number;
  readonly #lockTimeoutMs: number;
  readonly #shape: TableShape;

  constructor(options: SQLiteStoreOptions<TokenLike>) {
    const table = checkTable('SQLiteStore', options.table ?? 'oauthtoken');
    this.#ownsDb = options.database === undefined;
    // Any better-sqlite3 Database fits SQLiteDatabase; the driver's own type is what the store uses.
    this.#db =
      (options.database as BetterSqlite3.Database | undefined) ?? openDatabase(options.path ?? 'zohooauth.db', options);
    const shape = createSchema(this.#db, table, options.layout ?? 'current');
    this.#shape = shape;

    // Identifiers come from constants and a validated table name; every value is a bound parameter.
    const columns = shape.columns;
    const SELECT_LIST = columns.map((c) => `${c.column} AS ${c.field}`).join(', ');
    const COLUMN_LIST = columns.map((c) => c.column).join(', ');
    const PARAM_LIST = columns.map((c) => `@${c.field}`).join(', ');
    const SET_LIST = columns
      .filter((c) => c.field !== 'id')
      .map((c) => `${c.column} = @${c.field}`)
      .join(', ');
    const userName = shapeColumn(shape, 'userName') as string;
    const q = `"${table}"`;
    // `userEmail` is a range of the user-name index (two parameters: see `emailRange`).
    this.#findBy = new Map(
      LOOKUPS.map((field) => [
        field,
        this.#db.prepare(
          `SELECT ${SELECT_LIST} FROM ${q} WHERE ${lookupCondition(field, ['email'], () => '?', userName, shape)}`,
        ),
      ]),
    );
    this.#list = this.#db.prepare(`SELECT ${SELECT_LIST} FROM ${q} ORDER BY rowid`);
    // A range scan of the primary key's index: a page costs its own rows, wherever it starts.
    this.#firstPage = this.#db.prepare(`SELECT ${SELECT_LIST} FROM ${q} ORDER BY id LIMIT ?`);
    this.#nextPage = this.#db.prepare(`SELECT ${SELECT_LIST} FROM ${q} WHERE id > ? ORDER BY id LIMIT ?`);
    this.#count = this.#db.prepare(`SELECT count(*) AS n FROM ${q}`);
    this.#insert = this.#db.prepare(`INSERT INTO ${q} (${COLUMN_LIST}) VALUES (${PARAM_LIST})`);
    this.#update = this.#db.prepare(`UPDATE ${q} SET ${SET_LIST} WHERE id = @id`);
    this.#delete = this.#db.prepare(`DELETE FROM ${q} WHERE id = ?`);
    this.#clear = this.#db.prepare(`DELETE FROM ${q}`);

    // Activity lives in a side table, so the official table layout stays untouched. The insert
    // reads the token row, so an id no token has records nothing; MAX keeps the later time.
    const a = `"${table}_activity"`;
    const touch = (column: string) =>
      this.#db.prepare<[{ id: string; at: number }]>(
        `INSERT INTO ${a} (id, ${column}) SELECT id, @at FROM ${q} WHERE id = @id
         ON CONFLICT (id) DO UPDATE SET ${column} = MAX(COALESCE(${column}, excluded.${column}), excluded.${column})`,
      );
    this.#touch = { used: touch('last_used_at'), revoked: touch('revoked_at') };
    this.#activity = this.#db.prepare(
      `SELECT id, last_used_at AS lastUsedAt, revoked_at AS revokedAt FROM ${a} ORDER BY rowid`,
    );
    this.#forgetActivity = this.#db.prepare(`DELETE FROM ${a} WHERE id = ?`);
    this.#clearActivity = this.#db.prepare(`DELETE FROM ${a}`);

    // Refresh locks are leased rows: a holder that dies (even by kill -9) keeps others out
    // only until its lease ends, and a live holder extends its lease while it works.
    const locks = `"${table}_locks"`;
    this.#db.exec(
      `CREATE TABLE IF NOT EXISTS ${locks} (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL)`,
    );
    this.#takeLock = this.#db.prepare(
      `INSERT INTO ${locks} (name, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE ${locks}.expires_at < ?`,
    );
    this.#extendLock = this.#db.prepare(`UPDATE ${locks} SET expires_at = ? WHERE name = ? AND owner = ?`);
    this.#releaseLock = this.#db.prepare(`DELETE FROM ${locks} WHERE name = ? AND owner = ?`);
    this.#leaseMs = options.lockLeaseMs ?? 30_000;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
  }

  async withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    const owner = randomUUID();
    const deadline = Date.now() + this.#lockTimeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      const now = Date.now();
      if (this.#takeLock.run(key, owner, now + this.#leaseMs, now).changes === 1) break;
      if (now > deadline) {
        throw new TokenStoreError(
          TokenStoreErrorCode.LOCK_TIMEOUT,
          'SQLiteStore: timed out waiting for the refresh lock',
        );
      }
      await sleep(wait * (0.5 + Math.random()));
    }
    const keepAlive = setInterval(
      () => this.#extendLock.run(Date.now() + this.#leaseMs, key, owner),
      this.#leaseMs / 3,
    );
    keepAlive.unref();
    try {
      return await work();
    } finally {
      clearInterval(keepAlive);
      this.#releaseLock.run(key, owner);
    }
  }

  findBy(key: LookupKey): readonly TokenRecord[] {
    const statement = this.#findBy.get(key.column);
    if (!statement) throw new TypeError(`unknown lookup column ${key.column}`);
    const rows = key.column === 'userEmail' ? statement.all(...emailRange(key.value)) : statement.all(key.value);
    return this.#shape.layout === 'current' ? rows : rows.map((row) => recordIn(this.#shape, row));
  }

  /** The record as the table's columns take it (a legacy table: fewer columns, a plain user). */
  #bound(record: TokenRecord): Record<string, string | null> {
    if (this.#shape.layout === 'current') return record as unknown as Record<string, string | null>;
    const values = valuesIn(this.#shape, record);
    return Object.fromEntries(this.#shape.columns.map((c, i) => [c.field, values[i] ?? null]));
  }

  async upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void> {
    await this.upsertMany(keys, (candidates) => [decide(candidates)]);
  }

  async upsertMany(
    keys: readonly LookupKey[],
    decide: (candidates: readonly TokenRecord[]) => readonly TokenRecord[],
  ): Promise<void> {
    // IMMEDIATE takes the write lock before reading, so processes sharing the file serialise
    // their read-decide-write and cannot both insert the same user.
    this.#db
      .transaction(() => {
        const candidates = new Map<string, TokenRecord>();
        for (const key of keys) for (const row of this.findBy(key)) candidates.set(row.id, row);
        for (const record of decide([...candidates.values()])) {
          if (candidates.has(record.id)) {
            this.#update.run(this.#bound(record));
          } else {
            // A row another writer (the official SDK) deleted may have left activity behind.
            this.#forgetActivity.run(record.id);
            this.#insert.run(this.#bound(record));
          }
        }
      })
      .immediate();
  }

  async delete(id: string): Promise<void> {
    this.#db.transaction(() => {
      this.#delete.run(id);
      this.#forgetActivity.run(id);
    })();
  }

  async list(): Promise<readonly TokenRecord[]> {
    return this.#read(this.#list.all());
  }

  async listPage(afterId: string | null, limit: number): Promise<readonly TokenRecord[]> {
    return this.#read(afterId === null ? this.#firstPage.all(limit) : this.#nextPage.all(afterId, limit));
  }

  #read(rows: TokenRecord[]): readonly TokenRecord[] {
    return this.#shape.layout === 'current' ? rows : rows.map((row) => recordIn(this.#shape, row));
  }

  async count(): Promise<number> {
    return (this.#count.get() as { n: number }).n;
  }

  async clear(): Promise<void> {
    this.#db.transaction(() => {
      this.#clear.run();
      this.#clearActivity.run();
    })();
  }

  async touch(id: string, event: 'used' | 'revoked', at: number): Promise<void> {
    this.#touch[event].run({ id, at });
  }

  async activity(): Promise<readonly TokenActivity[]> {
    return this.#activity.all();
  }

  async close(): Promise<void> {
    if (this.#ownsDb) this.#db.close();
  }
}

function openDatabase(path: string, options: SQLiteStoreOptions<TokenLike>): BetterSqlite3.Database {
  const Database = loadDriver<typeof BetterSqlite3>('SQLiteStore', 'better-sqlite3');
  const inMemory = path === ':memory:' || path === '';
  // Create the file owner-only before SQLite does, so tokens are never world-readable;
  // SQLite gives its -wal and -shm files the same mode.
  if (!inMemory) closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  if (!inMemory) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // A page cache that holds a large token table keeps lookups flat as it grows (the default is 2 MiB).
  db.pragma(`cache_size = ${-Math.trunc(options.cacheSizeKiB ?? 65536)}`);
  return db;
}

/** Creates the table unless it exists, and answers the shape it has. */
function createSchema(db: BetterSqlite3.Database, table: string, layout: TableLayout): TableShape {
  // The official DBStore layouts, so a table it created keeps working here (and back).
  db.exec(
    layout === 'legacy'
      ? `CREATE TABLE IF NOT EXISTS "${table}" (
    id varchar(255) NOT NULL, user_mail varchar(255) NOT NULL, client_id varchar(255), client_secret varchar(255),
    refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20),
    redirect_url varchar(255), PRIMARY KEY (id))`
      : `CREATE TABLE IF NOT EXISTS "${table}" (
    id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), client_secret varchar(255),
    refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20),
    redirect_url varchar(255), api_domain varchar(255), PRIMARY KEY (id))`,
  );
  const names = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map(
    (row) => row.name,
  );
  const shape = shapeOf(names);
  for (const field of COLUMN_LOOKUPS.filter((f) => f !== 'id')) {
    const column = shapeColumn(shape, field as keyof TokenRecord);
    if (column) db.exec(`CREATE INDEX IF NOT EXISTS "${table}_${column}" ON "${table}" (${column})`);
  }
  db.exec(`CREATE TABLE IF NOT EXISTS "${table}_activity" (
    id varchar(10) NOT NULL PRIMARY KEY, last_used_at BIGINT NULL, revoked_at BIGINT NULL)`);
  return shape;
}

/**
 * Tokens in a SQLite database (better-sqlite3): the article's `CustomStoreSQLite`, fixed —
 * parameterised queries, one transaction per save, WAL with a busy timeout, indexes on every
 * lookup column, and a database file only its owner can read. Token activity (last use,
 * revocation) is kept in a side table `<table>_activity`.
 *
 * @example
 * ```ts
 * import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
 * const store = new SQLiteStore();                         // ./zohooauth.db
 * const scratch = new SQLiteStore({ path: ':memory:' });   // in RAM
 * await store.close();
 * ```
 */
export class SQLiteStore<T extends TokenLike = OAuthToken> extends RecordTokenStore<T> {
  constructor(options: SQLiteStoreOptions<T> = {}) {
    let backend: SQLiteBackend;
    try {
      backend = new SQLiteBackend(options as SQLiteStoreOptions<TokenLike>);
    } catch (error) {
      if (error instanceof TokenStoreError || error instanceof TypeError) throw error;
      throw new TokenStoreError(TokenStoreErrorCode.STORAGE_FAILURE, 'SQLiteStore: could not open the database', {
        cause: error,
      });
    }
    super(backend, options);
    this.#backend = backend;
  }

  readonly #backend: SQLiteBackend;

  /**
   * Runs `work` while holding a named lock shared by every process using this database file, so
   * a TokenManager refreshes once across them. A holder that dies frees it after `lockLeaseMs`.
   */
  withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    return this.#backend.withRefreshLock(key, work);
  }
}
