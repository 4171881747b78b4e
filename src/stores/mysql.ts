import type * as MySQL from 'mysql2/promise';
import type { RefreshLock } from '../lifecycle/refresh-lock.js';
import type { LookupKey, RecordBackend } from '../store/record-backend.js';
import { RecordTokenStore, type StoreOptions } from '../store/record-token-store.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';
import { TOKEN_COLUMNS, type TokenRecord } from '../token/token-record.js';
import {
  checkTable,
  columnOf,
  exactRows,
  loadDriver,
  lockTimeout,
  onceUntilFailure,
  storageFailure,
  toRecord,
} from './store-support.js';

/** Options for {@link MySQLStore}. */
export interface MySQLStoreOptions<T extends TokenLike> extends StoreOptions<T> {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** `mysql://user:pass@host:port/database`; wins over the separate fields. */
  url?: string;
  /** An existing mysql2/promise pool to use; the store will not close it. */
  pool?: MySQL.Pool;
  /** Table name (letters, digits, underscores). Default `oauthtoken`, the official DBStore's. */
  table?: string;
  /** Longest wait for a new connection, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Longest wait for one query, in ms. Default 5000. */
  queryTimeoutMs?: number;
  /** Longest wait for a refresh lock, in ms. Default 30000. */
  lockTimeoutMs?: number;
}

const SELECT_LIST = TOKEN_COLUMNS.map((c) => `${c.column} AS ${c.field}`).join(', ');
const COLUMN_LIST = TOKEN_COLUMNS.map((c) => c.column).join(', ');
const PARAM_LIST = TOKEN_COLUMNS.map(() => '?').join(', ');
const SET_LIST = TOKEN_COLUMNS.filter((c) => c.field !== 'id')
  .map((c) => `${c.column} = ?`)
  .join(', ');
// Lock names are server-wide and at most 64 characters: hash the database and table (or key).
const UPSERT_LOCK = "CONCAT('zts-upsert:', SHA1(CONCAT(DATABASE(), '.', ?)))";
const REFRESH_LOCK = "CONCAT('zts-refresh:', SHA1(CONCAT(DATABASE(), '.', ?)))";

class MySQLBackend implements RecordBackend, RefreshLock {
  readonly #pool: MySQL.Pool;
  readonly #ownsPool: boolean;
  readonly #table: string;
  readonly #timeout: number;
  readonly #lockTimeout: number;
  readonly #ready = onceUntilFailure(() => this.#createSchema());

  constructor(options: MySQLStoreOptions<TokenLike>) {
    this.#table = checkTable('MySQLStore', options.table ?? 'oauthtoken');
    this.#timeout = options.queryTimeoutMs ?? 5000;
    this.#lockTimeout = options.lockTimeoutMs ?? 30_000;
    this.#ownsPool = options.pool === undefined;
    this.#pool = options.pool ?? createPool(options);
  }

  async #createSchema(): Promise<void> {
    // The official layout, but MEDIUMTEXT (utf8mb4, exact binary collation) so long tokens fit; prefix
    // indexes keep lookups indexed. A table the official SDK created (varchar(255)) is kept as
    // it is, and then holds values of up to 255 characters only.
    await this.#query(`CREATE TABLE IF NOT EXISTS \`${this.#table}\` (
      id varchar(10) NOT NULL, user_name mediumtext, client_id mediumtext, client_secret mediumtext,
      refresh_token mediumtext, access_token mediumtext, grant_token mediumtext, expiry_time varchar(20),
      redirect_url mediumtext, api_domain mediumtext,
      PRIMARY KEY (id), INDEX (user_name(191)), INDEX (refresh_token(191)), INDEX (access_token(191)),
      INDEX (grant_token(191))) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
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
    await this.#ready();
    const rows = await this.#query(`SELECT ${SELECT_LIST} FROM \`${this.#table}\` WHERE ${columnOf(key.column)} = ?`, [
      key.value,
    ]);
    return exactRows(rows, key.column, key.value);
  }

  async upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void> {
    await this.#ready();
    const conn = await this.#pool.getConnection();
    let locked = false;
    let healthy = false;
    try {
      // A named lock serialises writers of this table across processes, so two saves of a new
      // user cannot both insert (a plain transaction would not block on rows that do not exist).
      const [got] = await this.#query(
        `SELECT GET_LOCK(${UPSERT_LOCK}, ?) AS got`,
        [this.#table, this.#timeout / 1000],
        conn,
      );
      if (Number(got?.got) !== 1) throw new Error('MySQLStore: timed out waiting for the table write lock');
      locked = true;
      await this.#query('START TRANSACTION', [], conn);
      try {
        const where = keys.map((k) => `${columnOf(k.column)} = ?`).join(' OR ');
        const rows = await this.#query(
          `SELECT ${SELECT_LIST} FROM \`${this.#table}\` WHERE ${where}`,
          keys.map((k) => k.value),
          conn,
        );
        const candidates = rows.map(toRecord).filter((row) => keys.some((k) => row[k.column] === k.value));
        const record = decide(candidates);
        const values = TOKEN_COLUMNS.map((c) => record[c.field]);
        if (candidates.some((row) => row.id === record.id)) {
          await this.#query(
            `UPDATE \`${this.#table}\` SET ${SET_LIST} WHERE id = ?`,
            [...values.slice(1), record.id],
            conn,
          );
        } else {
          await this.#query(`INSERT INTO \`${this.#table}\` (${COLUMN_LIST}) VALUES (${PARAM_LIST})`, values, conn);
        }
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

  async delete(id: string): Promise<void> {
    await this.#ready();
    await this.#query(`DELETE FROM \`${this.#table}\` WHERE id = ?`, [id]);
  }

  async list(): Promise<readonly TokenRecord[]> {
    await this.#ready();
    const rows = await this.#query(`SELECT ${SELECT_LIST} FROM \`${this.#table}\``);
    return rows.map(toRecord);
  }

  async clear(): Promise<void> {
    await this.#ready();
    await this.#query(`DELETE FROM \`${this.#table}\``);
  }

  async withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
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
    connectionLimit: 10,
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
 * duplicate, bounded connect and query timeouts, and a {@link RefreshLock} on `GET_LOCK`.
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
