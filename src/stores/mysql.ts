import type * as MySQL from 'mysql2/promise';
import type { RefreshLock } from '../lifecycle/refresh-lock.js';
import { lookupValue } from '../store/matching.js';
import type { LookupColumn, LookupKey, RecordBackend } from '../store/record-backend.js';
import { RecordTokenStore, type StoreOptions } from '../store/record-token-store.js';
import type { TokenActivity } from '../store/token-activity.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';
import type { TokenRecord } from '../token/token-record.js';
import { type CoalescingOptions, LookupCoalescer } from './lookup-coalescer.js';
import {
  CURRENT_SHAPE,
  checkTable,
  chunked,
  LockSlots,
  loadDriver,
  lockTimeout,
  lookupCondition,
  matchesAnyKey,
  onceUntilFailure,
  POOL_SIZE,
  recordIn,
  shapeColumn,
  shapeOf,
  storageFailure,
  type TableLayout,
  type TableShape,
  valuesByColumn,
  valuesIn,
} from './store-support.js';

/** Options for {@link MySQLStore}. */
export interface MySQLStoreOptions<T extends TokenLike> extends StoreOptions<T>, CoalescingOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** `mysql://user:pass@host:port/database`; wins over the separate fields. */
  url?: string;
  /** An existing mysql2/promise pool to use; the store will not close it. */
  pool?: MySQL.Pool;
  /**
   * How many connections `pool` opens at most (its `connectionLimit`), default 10: refresh locks
   * held at once stay two below it, so the saves made inside them always get a connection.
   */
  poolSize?: number;
  /** Table name (letters, digits, underscores). Default `oauthtoken`, the official DBStore's. */
  table?: string;
  /** Longest wait for a new connection, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Longest wait for one query, in ms. Default 5000. */
  queryTimeoutMs?: number;
  /** Longest wait for a refresh lock, in ms. Default 30000. */
  lockTimeoutMs?: number;
  /**
   * The layout of the table when the store creates it: `current` (default), or `legacy`, the
   * DBStore table of `zcrmsdk` 1.x and the 2.0 SDKs (`user_mail`, no `api_domain`). A table
   * that exists is used in the layout it has, told by its columns on first use.
   */
  layout?: TableLayout;
}

/** The SQL fragments of one table shape (the current layout, or a legacy table's columns). */
function sqlFor(shape: TableShape) {
  const columns = shape.columns;
  return {
    shape,
    select: columns.map((c) => `${c.column} AS ${c.field}`).join(', '),
    columns: columns.map((c) => c.column).join(', '),
    params: columns.map(() => '?').join(', '),
    update: columns
      .filter((c) => c.field !== 'id')
      .map((c) => `${c.column} = VALUES(${c.column})`)
      .join(', '),
    // The token half of the candidate read's UNION leaves the activity id NULL, the activity half every token column.
    noToken: columns.map(() => 'NULL').join(', '),
    userName: shapeColumn(shape, 'userName') as string,
    values: (record: TokenRecord) => valuesIn(shape, record),
    length: (record: TokenRecord) => valuesIn(shape, record).reduce((sum, value) => sum + (value?.length ?? 0), 0),
  };
}
const placeholders = (values: readonly unknown[]) => values.map(() => '?').join(', ');
/** A `lookupCondition` parameter: collects the value into `params`, answers its placeholder. */
const bindTo =
  (params: string[]) =>
  (value: string): string => {
    params.push(value);
    return '?';
  };
// Lock names are server-wide and at most 64 characters: hash the database and table (or key).
const UPSERT_LOCK = "CONCAT('zts-upsert:', SHA1(CONCAT(DATABASE(), '.', ?)))";
const REFRESH_LOCK = "CONCAT('zts-refresh:', SHA1(CONCAT(DATABASE(), '.', ?)))";
const ACTIVITY_COLUMN = { used: 'last_used_at', revoked: 'revoked_at' } as const;

class MySQLBackend implements RecordBackend, RefreshLock {
  readonly #pool: MySQL.Pool;
  readonly #ownsPool: boolean;
  readonly #table: string;
  /** The side table of token activity, so the official table layout stays untouched. */
  readonly #activity: string;
  readonly #timeout: number;
  readonly #lockTimeout: number;
  readonly #lockSlots: LockSlots;
  readonly #ready = onceUntilFailure(() => this.#createSchema());
  readonly #layout: TableLayout;
  /** The table's SQL, known once `#ready` has read its columns. */
  #sql = sqlFor(CURRENT_SHAPE);
  /** Plain reads outside transactions only; upserts read their candidates inside their own. */
  readonly #lookups: LookupCoalescer | undefined;

  constructor(options: MySQLStoreOptions<TokenLike>) {
    this.#table = checkTable('MySQLStore', options.table ?? 'oauthtoken');
    this.#lookups =
      options.coalesceLookups === false
        ? undefined
        : new LookupCoalescer(async (column, values) => this.#records(await this.#selectWhere(column, values)));
    this.#layout = options.layout ?? 'current';
    this.#activity = `${this.#table}_activity`;
    this.#timeout = options.queryTimeoutMs ?? 5000;
    this.#lockTimeout = options.lockTimeoutMs ?? 30_000;
    this.#ownsPool = options.pool === undefined;
    this.#pool = options.pool ?? createPool(options);
    this.#lockSlots = new LockSlots(options.poolSize ?? POOL_SIZE);
  }

  async #createSchema(): Promise<void> {
    // The official layout, but MEDIUMTEXT (utf8mb4, exact binary collation) so long tokens fit; prefix
    // indexes keep lookups indexed. A table the official SDK created (varchar(255)) is kept as
    // it is, and then holds values of up to 255 characters only. A legacy table: the 2.0 SDKs' DDL.
    if (this.#layout === 'legacy') {
      await this.#query(`CREATE TABLE IF NOT EXISTS \`${this.#table}\` (
      id varchar(255) NOT NULL, user_mail varchar(255) NOT NULL, client_id varchar(255), client_secret varchar(255),
      refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), expiry_time varchar(20),
      redirect_url varchar(255), PRIMARY KEY (id))`);
    }
    await this.#query(`CREATE TABLE IF NOT EXISTS \`${this.#table}\` (
      id varchar(10) NOT NULL, user_name mediumtext, client_id mediumtext, client_secret mediumtext,
      refresh_token mediumtext, access_token mediumtext, grant_token mediumtext, expiry_time varchar(20),
      redirect_url mediumtext, api_domain mediumtext,
      PRIMARY KEY (id), INDEX (user_name(191)), INDEX (refresh_token(191)), INDEX (access_token(191)),
      INDEX (grant_token(191))) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await this.#query(`CREATE TABLE IF NOT EXISTS \`${this.#activity}\` (
      id varchar(255) NOT NULL, last_used_at BIGINT NULL, revoked_at BIGINT NULL,
      PRIMARY KEY (id)) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    const columns = await this.#query(
      'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?',
      [this.#table],
    );
    this.#sql = sqlFor(shapeOf(columns.map((row) => String(row.name))));
  }

  /** Rows as records, in the table's shape. */
  #records(rows: readonly Record<string, unknown>[]): TokenRecord[] {
    return rows.map((row) => recordIn(this.#sql.shape, row));
  }

  /**
   * Runs `body` in a transaction on its own connection; rolls back on any error. With `lock`,
   * first takes this table's named write lock, which serialises writers across processes, so
   * two saves of a new user cannot both insert (a transaction alone would not block on rows
   * that do not exist yet).
   */
  async #transaction(body: (conn: MySQL.PoolConnection) => Promise<void>, { lock = false } = {}): Promise<void> {
    const conn = await this.#pool.getConnection();
    let locked = false;
    let healthy = false;
    try {
      if (lock) {
        const [got] = await this.#query(
          `SELECT GET_LOCK(${UPSERT_LOCK}, ?) AS got`,
          [this.#table, this.#timeout / 1000],
          conn,
        );
        if (Number(got?.got) !== 1) throw new Error('MySQLStore: timed out waiting for the table write lock');
        locked = true;
      }
      await this.#query('START TRANSACTION', [], conn);
      try {
        await body(conn);
        await this.#query('COMMIT', [], conn);
      } catch (error) {
        await this.#query('ROLLBACK', [], conn).catch(() => undefined);
        throw error;
      }
      healthy = true;
    } finally {
      if (locked) {
        await this.#query(`DO RELEASE_LOCK(${UPSERT_LOCK})`, [this.#table], conn).catch(() => {
          healthy = false;
        });
      }
      // A connection in an unknown state (timed out, lock maybe held) is closed, not reused.
      if (healthy) conn.release();
      else conn.destroy();
    }
  }

  async #query(sql: string, values: unknown[] = [], on: MySQL.Pool | MySQL.PoolConnection = this.#pool) {
    try {
      const [rows] = await on.query({ sql, timeout: this.#timeout }, values);
      return rows as Record<string, unknown>[];
    } catch (error) {
      // mysql2 attaches the statement with its values inlined: drop it, tokens must not reach logs.
      if (error instanceof Error && 'sql' in error) delete (error as { sql?: string }).sql;
      throw error;
    }
  }

  async findBy(key: LookupKey): Promise<readonly TokenRecord[]> {
    if (this.#lookups) return this.#lookups.find(key);
    return this.#records(await this.#selectWhere(key.column, [key.value])).filter(
      (record) => lookupValue(record, key.column) === key.value,
    );
  }

  /** The rows whose column equals one of the values, loosely (MySQL may ignore trailing spaces). */
  async #selectWhere(column: LookupColumn, values: readonly string[]) {
    await this.#ready();
    const params: string[] = [];
    const sql = this.#sql;
    const where = lookupCondition(column, values, bindTo(params), sql.userName, sql.shape);
    return this.#query(`SELECT ${sql.select} FROM \`${this.#table}\` WHERE ${where}`, params);
  }

  async upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void> {
    await this.upsertMany(keys, (candidates) => [decide(candidates)]);
  }

  // Candidates are read with one `IN (…)` per column and records written as multi-row inserts,
  // both in chunks that stay far below max_allowed_packet, all in one locked transaction.
  async upsertMany(
    keys: readonly LookupKey[],
    decide: (candidates: readonly TokenRecord[]) => readonly TokenRecord[],
  ): Promise<void> {
    await this.#ready();
    const sql = this.#sql;
    await this.#transaction(
      async (conn) => {
        const candidates = new Map<string, TokenRecord>();
        // Ids that have activity. An id the batch inserts is one of its id keys; activity under
        // it was left by a row another writer (the official SDK) deleted, and must not carry
        // over. The same round trip reads it, so a usual save pays nothing extra.
        const withActivity = new Set<string>();
        for (const chunk of chunked(keys, (key) => key.value.length)) {
          const byColumn = valuesByColumn(chunk);
          const params: string[] = [];
          const where = [...byColumn]
            .map(([column, values]) => lookupCondition(column, values, bindTo(params), sql.userName, sql.shape))
            .join(' OR ');
          const ids = byColumn.get('id') ?? [];
          const activityRows =
            ids.length === 0
              ? ''
              : ` UNION ALL SELECT ${sql.noToken}, id FROM \`${this.#activity}\` WHERE id IN (${placeholders(ids)})`;
          const rows = await this.#query(
            `SELECT ${sql.select}, NULL AS activityId FROM \`${this.#table}\` WHERE ${where}${activityRows}`,
            [...params, ...ids],
            conn,
          );
          const tokenRows = rows.filter((row) => row.activityId == null);
          for (const row of rows) if (row.activityId != null) withActivity.add(String(row.activityId));
          const matches = matchesAnyKey(chunk);
          for (const row of this.#records(tokenRows)) if (matches(row)) candidates.set(row.id, row);
        }
        const records = decide([...candidates.values()]);
        const inserts = records.filter((record) => !candidates.has(record.id));
        const updates = records.filter((record) => candidates.has(record.id));
        for (const chunk of chunked(inserts, sql.length)) {
          const stale = chunk.map((record) => record.id).filter((id) => withActivity.has(id));
          if (stale.length > 0) {
            await this.#query(`DELETE FROM \`${this.#activity}\` WHERE id IN (${placeholders(stale)})`, stale, conn);
          }
          // A plain insert: an id MySQL deems equal to a stored one (trailing spaces) fails, never overwrites.
          await this.#query(
            `INSERT INTO \`${this.#table}\` (${sql.columns}) VALUES ${chunk.map(() => `(${sql.params})`).join(', ')}`,
            chunk.flatMap(sql.values),
            conn,
          );
        }
        for (const chunk of chunked(updates, sql.length)) {
          await this.#query(
            `INSERT INTO \`${this.#table}\` (${sql.columns}) VALUES ${chunk.map(() => `(${sql.params})`).join(', ')}
             ON DUPLICATE KEY UPDATE ${sql.update}`,
            chunk.flatMap(sql.values),
            conn,
          );
        }
      },
      { lock: true },
    );
  }

  // The token row goes first: its row lock makes a concurrent `touch` wait, then find no row.
  async delete(id: string): Promise<void> {
    await this.#ready();
    await this.#transaction(async (conn) => {
      await this.#query(`DELETE FROM \`${this.#table}\` WHERE id = ?`, [id], conn);
      await this.#query(`DELETE FROM \`${this.#activity}\` WHERE id = ?`, [id], conn);
    });
  }

  async list(): Promise<readonly TokenRecord[]> {
    await this.#ready();
    const rows = await this.#query(`SELECT ${this.#sql.select} FROM \`${this.#table}\``);
    return this.#records(rows);
  }

  // A range scan of the primary key, in the table's collation: the same order `>` compares in.
  async listPage(afterId: string | null, limit: number): Promise<readonly TokenRecord[]> {
    await this.#ready();
    const from = afterId === null ? '' : 'WHERE id > ? ';
    const rows = await this.#query(`SELECT ${this.#sql.select} FROM \`${this.#table}\` ${from}ORDER BY id LIMIT ?`, [
      ...(afterId === null ? [] : [afterId]),
      limit,
    ]);
    return this.#records(rows);
  }

  async count(): Promise<number> {
    await this.#ready();
    const [row] = await this.#query(`SELECT count(*) AS n FROM \`${this.#table}\``);
    return Number(row?.n);
  }

  async clear(): Promise<void> {
    await this.#ready();
    await this.#transaction(async (conn) => {
      await this.#query(`DELETE FROM \`${this.#table}\``, [], conn);
      await this.#query(`DELETE FROM \`${this.#activity}\``, [], conn);
    });
  }

  // INSERT … SELECT share-locks the token row, so a delete cannot slip in between and leave
  // activity without a token. GREATEST is NULL if either side is, hence the COALESCE; the
  // BINARY comparison keeps MySQL from matching an id with trailing spaces.
  async touch(id: string, event: 'used' | 'revoked', at: number): Promise<void> {
    await this.#ready();
    const column = ACTIVITY_COLUMN[event];
    await this.#query(
      `INSERT INTO \`${this.#activity}\` (id, ${column})
       SELECT id, ? FROM \`${this.#table}\` WHERE id = ? AND BINARY id = BINARY ?
       ON DUPLICATE KEY UPDATE ${column} = GREATEST(COALESCE(${column}, VALUES(${column})), VALUES(${column}))`,
      [at, id, id],
    );
  }

  async activity(): Promise<readonly TokenActivity[]> {
    await this.#ready();
    const rows = await this.#query(`SELECT id, last_used_at AS used, revoked_at AS revoked FROM \`${this.#activity}\``);
    // BIGINT may arrive as a string; ms since the epoch fit a double exactly.
    return rows.map((row) => ({
      id: String(row.id),
      lastUsedAt: row.used == null ? null : Number(row.used),
      revokedAt: row.revoked == null ? null : Number(row.revoked),
    }));
  }

  withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    return this.#lockSlots.run(() => this.#withLock(key, work));
  }

  async #withLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    let conn: MySQL.PoolConnection;
    try {
      conn = await this.#pool.getConnection();
    } catch (error) {
      throw storageFailure('MySQLStore: could not connect for the refresh lock', error);
    }
    let got: number;
    try {
      const [rows] = await conn.query<MySQL.RowDataPacket[]>(
        { sql: `SELECT GET_LOCK(${REFRESH_LOCK}, ?) AS got`, timeout: this.#lockTimeout + this.#timeout },
        [key, this.#lockTimeout / 1000],
      );
      got = Number(rows[0]?.got);
    } catch (error) {
      conn.destroy();
      throw storageFailure('MySQLStore: could not take the refresh lock', error);
    }
    if (got !== 1) {
      conn.release();
      throw lockTimeout('MySQLStore', this.#lockTimeout);
    }
    // The lock lives as long as this connection: a holder that dies drops it with the socket.
    try {
      return await work();
    } finally {
      try {
        await this.#query(`DO RELEASE_LOCK(${REFRESH_LOCK})`, [key], conn);
        conn.release();
      } catch {
        conn.destroy();
      }
    }
  }

  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end();
  }
}

function createPool(options: MySQLStoreOptions<TokenLike>): MySQL.Pool {
  const mysql = loadDriver<typeof MySQL>('MySQLStore', 'mysql2/promise');
  const common = {
    connectTimeout: options.connectTimeoutMs ?? 5000,
    charset: 'utf8mb4',
    connectionLimit: POOL_SIZE,
    // Idle connections are dropped, so a pool recovers quickly after the server restarts.
    maxIdle: 2,
    idleTimeout: 30_000,
    enableKeepAlive: true,
  };
  return options.url
    ? mysql.createPool({ uri: options.url, ...common })
    : mysql.createPool({
        host: options.host ?? '127.0.0.1',
        port: options.port ?? 3306,
        user: options.user,
        password: options.password,
        database: options.database,
        ...common,
      });
}

/**
 * Tokens in a MySQL or MariaDB table (mysql2): the official DBStore layout, parameterised
 * queries, one locked transaction per save so processes sharing the table never write a
 * duplicate, bounded connect and query timeouts, a {@link RefreshLock} on `GET_LOCK`, and token
 * activity in a side table `<table>_activity`. Concurrent lookups of one column share one
 * `IN (…)` query (`coalesceLookups`, on by default).
 * A table it creates has MEDIUMTEXT columns; a table the official SDK created (varchar(255)) is
 * used as it is, so values longer than 255 characters need its columns widened to TEXT.
 *
 * @example
 * ```ts
 * import { MySQLStore } from 'zoho-token-store/stores/mysql';
 * const store = new MySQLStore({ url: 'mysql://zoho:secret@127.0.0.1:3306/crm' });
 * await store.withRefreshLock('user@zylker.com', async () => {
 *   // refresh once, even with many processes
 * });
 * await store.close();
 * ```
 */
export class MySQLStore<T extends TokenLike = OAuthToken> extends RecordTokenStore<T> implements RefreshLock {
  readonly #backend: MySQLBackend;

  constructor(options: MySQLStoreOptions<T> = {}) {
    const backend = new MySQLBackend(options as MySQLStoreOptions<TokenLike>);
    super(backend, options);
    this.#backend = backend;
  }

  /** Runs `work` while holding a lock named `key` that every process sharing the server sees. */
  withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    return this.#backend.withRefreshLock(key, work);
  }
}
