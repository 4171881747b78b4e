import type * as PG from 'pg';
import type { RefreshLock } from '../lifecycle/refresh-lock.js';
import type { LookupColumn, LookupKey, RecordBackend } from '../store/record-backend.js';
import { RecordTokenStore, type StoreOptions } from '../store/record-token-store.js';
import type { TokenActivity } from '../store/token-activity.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';
import { TOKEN_COLUMNS, type TokenRecord } from '../token/token-record.js';
import { type CoalescingOptions, LookupCoalescer } from './lookup-coalescer.js';
import {
  COLUMN_LOOKUPS,
  checkTable,
  columnOf,
  exactRows,
  LockSlots,
  loadDriver,
  lockTimeout,
  lookupCondition,
  matchingRows,
  onceUntilFailure,
  POOL_SIZE,
  sleep,
  storageFailure,
  toRecord,
  valuesByColumn,
} from './store-support.js';

/** Options for {@link PostgresStore}. */
export interface PostgresStoreOptions<T extends TokenLike> extends StoreOptions<T>, CoalescingOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  /** `postgres://user:pass@host:port/database`; wins over the separate fields. */
  url?: string;
  /** An existing pg pool to use; the store will not close it. */
  pool?: PostgresPool;
  /**
   * How many clients `pool` opens at most (its `max`), default 10: refresh locks held at once
   * stay two below it, so the saves made inside them always get a client.
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
   * How long a refresh lock outlives a holder the server no longer hears from (its host down or
   * cut off by the network), in ms. Default 30000. The lock's session asks the server to close its
   * connection, which frees the lock, once TCP keepalive probes go unanswered that long; a live
   * holder keeps its lock as long as it works. The server counts its probes in whole seconds, so
   * values under 2000 act as 2000. TCP connections only (a Unix socket cannot be cut).
   */
  lockLeaseMs?: number;
}

/**
 * A pg `Pool`, named by its shape rather than imported, so this module's types compile without
 * `@types/pg` (the driver is an optional peer dependency).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const store = new PostgresStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) });
 * ```
 */
export interface PostgresPool {
  connect(): Promise<unknown>;
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}

// pg's numbered placeholders; identifiers come from constants and the validated table name.
const SELECT_LIST = TOKEN_COLUMNS.map((c) => `${c.column} AS "${c.field}"`).join(', ');
const COLUMN_LIST = TOKEN_COLUMNS.map((c) => c.column).join(', ');
const UNNEST_LIST = TOKEN_COLUMNS.map((_, i) => `$${i + 1}::text[]`).join(', ');
const STALE_PARAM = TOKEN_COLUMNS.length + 1;
const EXCLUDED_LIST = TOKEN_COLUMNS.filter((c) => c.field !== 'id')
  .map((c) => `${c.column} = EXCLUDED.${c.column}`)
  .join(', ');
// Two-key advisory locks, so save locks and refresh locks live in separate namespaces.
const UPSERT_LOCK = "SELECT pg_advisory_xact_lock(hashtext('zts-upsert'), hashtext(current_schema() || '.' || $1))";
const REFRESH_TRY = "SELECT pg_try_advisory_lock(hashtext('zts-refresh'), hashtext($1)) AS got";
const REFRESH_UNLOCK = "SELECT pg_advisory_unlock(hashtext('zts-refresh'), hashtext($1))";
// The server probes an idle lock session every $1 s and drops it at the first probe $2 ms or
// more after it last heard from the holder. Without this, a holder cut off by the network keeps
// its lock for the OS default of over two hours: nothing tells the server it is gone.
const LEASE_SETTINGS = `SELECT set_config('tcp_keepalives_idle', $1, false), set_config('tcp_keepalives_interval', $1, false),
  set_config('tcp_user_timeout', $2, false)`;
const ACTIVITY_COLUMN = { used: 'last_used_at', revoked: 'revoked_at' } as const;
// What the `userEmail` index holds and its ranges compare: user names in byte order.
const EMAIL_EXPR = 'left(user_name, 600) COLLATE "C"';

class PostgresBackend implements RecordBackend, RefreshLock {
  readonly #pool: PG.Pool;
  readonly #ownsPool: boolean;
  readonly #table: string;
  /** The side table of token activity, so the official table layout stays untouched. */
  readonly #activity: string;
  readonly #lockTimeout: number;
  readonly #lockLease: number;
  readonly #lockSlots: LockSlots;
  readonly #ready = onceUntilFailure(() => this.#createSchema());
  /** Plain reads outside transactions only; upserts read their candidates inside their own. */
  readonly #lookups: LookupCoalescer | undefined;

  constructor(options: PostgresStoreOptions<TokenLike>) {
    this.#table = checkTable('PostgresStore', options.table ?? 'oauthtoken');
    this.#lookups =
      options.coalesceLookups === false
        ? undefined
        : new LookupCoalescer(async (column, values) => (await this.#selectWhere(column, values)).map(toRecord));
    this.#activity = `${this.#table}_activity`;
    this.#lockTimeout = options.lockTimeoutMs ?? 30_000;
    this.#lockLease = options.lockLeaseMs ?? 30_000;
    this.#ownsPool = options.pool === undefined;
    // Any pg Pool fits PostgresPool; the driver's own type is what the store uses.
    this.#pool = (options.pool as PG.Pool | undefined) ?? createPool(options);
    this.#lockSlots = new LockSlots(options.poolSize ?? POOL_SIZE);
  }

  async #createSchema(): Promise<void> {
    const t = this.#table;
    // Hash indexes: lookups are equalities only, and a b-tree cannot index values over ~2.7 kB.
    const indexes = COLUMN_LOOKUPS.filter((f) => f !== 'id').map((field) => {
      const column = columnOf(field);
      return `CREATE INDEX IF NOT EXISTS "${t}_${column}" ON "${t}" USING hash (${column})`;
    });
    // `userEmail` lookups are a range of user names in byte order: a b-tree of their first 600
    // characters (within its ~2.7 kB entry limit, far past any email).
    indexes.push(`CREATE INDEX IF NOT EXISTS "${t}_user_email" ON "${t}" ((${EMAIL_EXPR}))`);
    // Concurrent CREATE ... IF NOT EXISTS can still collide in PostgreSQL: serialise them.
    await this.#transaction(async (client) => {
      await client.query(`CREATE TABLE IF NOT EXISTS "${t}" (
        id varchar(10) NOT NULL, user_name text, client_id text, client_secret text, refresh_token text,
        access_token text, grant_token text, expiry_time varchar(20), redirect_url text, api_domain text,
        PRIMARY KEY (id))`);
      for (const sql of indexes) await client.query(sql);
      await client.query(`CREATE TABLE IF NOT EXISTS "${this.#activity}" (
        id text NOT NULL PRIMARY KEY, last_used_at bigint NULL, revoked_at bigint NULL)`);
    });
  }

  /** Runs `body` in a transaction holding this table's write lock; rolls back on any error. */
  async #transaction(body: (client: PG.PoolClient) => Promise<void>): Promise<void> {
    const client = await this.#checkout();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN').catch((error: Error) => {
        broken = error;
        throw error;
      });
      try {
        await client.query(UPSERT_LOCK, [this.#table]);
        await body(client);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      }
    } finally {
      // A client whose BEGIN or ROLLBACK failed is in an unknown state: close it instead of reusing it.
      checkIn(client, broken);
    }
  }

  async findBy(key: LookupKey): Promise<readonly TokenRecord[]> {
    if (this.#lookups) return this.#lookups.find(key);
    return exactRows(await this.#selectWhere(key.column, [key.value]), key.column, key.value);
  }

  /** The rows whose column equals one of the values (distinct), in one query whatever their number. */
  async #selectWhere(column: LookupColumn, values: readonly string[]): Promise<Record<string, unknown>[]> {
    await this.#ready();
    const params: string[] = [];
    const param = (value: string) => `$${params.push(value)}`;
    const { rows } =
      values.length === 1 || column === 'userEmail'
        ? await this.#pool.query(
            `SELECT ${SELECT_LIST} FROM "${this.#table}" WHERE ${lookupCondition(column, values, param, EMAIL_EXPR)}`,
            params,
          )
        : await this.#pool.query(this.#probe([column]), [values]);
    return rows;
  }

  /**
   * A query for the rows whose column equals one of the values in its array parameter, with
   * one parameter per column ($1 for the first, …): one index probe per value. PostgreSQL plans
   * `= ANY($1)` with a few dozen values on a table of some thousands of rows as a sequential scan,
   * which on a cached table took 10× as long here (0.8 ms against 0.08 ms for 64 values among 10k
   * rows); the lateral subquery, fenced by OFFSET 0, keeps each value an index lookup at any size.
   */
  #probe(columns: readonly LookupColumn[]): string {
    return columns
      .map((column, i) => {
        // The `emailRange` of each wanted email, in SQL.
        const test =
          column === 'userEmail'
            ? `${EMAIL_EXPR} >= (wanted.value || ':') AND ${EMAIL_EXPR} < (wanted.value || ';')`
            : `${columnOf(column)} = wanted.value`;
        return `SELECT found.* FROM unnest($${i + 1}::text[]) AS wanted(value) CROSS JOIN LATERAL
          (SELECT ${SELECT_LIST} FROM "${this.#table}" WHERE ${test} OFFSET 0) AS found`;
      })
      .join(' UNION ');
  }

  async upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void> {
    await this.upsertMany(keys, (candidates) => [decide(candidates)]);
  }

  // One query reads every candidate (a value array per column, UNION drops a row found twice)
  // and one writes every record (arrays unnested into rows): a few round trips whatever the size.
  async upsertMany(
    keys: readonly LookupKey[],
    decide: (candidates: readonly TokenRecord[]) => readonly TokenRecord[],
  ): Promise<void> {
    await this.#ready();
    const byColumn = valuesByColumn(keys);
    await this.#transaction(async (client) => {
      const { rows } = await client.query(this.#probe([...byColumn.keys()]), [...byColumn.values()]);
      const candidates = matchingRows(rows, keys);
      const records = decide(candidates);
      if (records.length === 0) return;
      const stored = new Set(candidates.map((row) => row.id));
      const inserted = records.filter((record) => !stored.has(record.id)).map((record) => record.id);
      // The CTE drops what activity rows another writer (the official SDK) deleted left behind
      // under an id now inserted, in the same statement, so a save costs no extra round trip.
      await client.query(
        `WITH stale AS (DELETE FROM "${this.#activity}" WHERE id = ANY($${STALE_PARAM}::text[]))
         INSERT INTO "${this.#table}" (${COLUMN_LIST}) SELECT * FROM unnest(${UNNEST_LIST})
         ON CONFLICT (id) DO UPDATE SET ${EXCLUDED_LIST}`,
        [...TOKEN_COLUMNS.map((c) => records.map((record) => record[c.field])), inserted],
      );
    });
  }

  // The token row goes first: its row lock makes a concurrent `touch` wait, then find no row.
  // Two statements, not one, so the second sees activity a `touch` committed meanwhile.
  async delete(id: string): Promise<void> {
    await this.#ready();
    await this.#transaction(async (client) => {
      await client.query(`DELETE FROM "${this.#table}" WHERE id = $1`, [id]);
      await client.query(`DELETE FROM "${this.#activity}" WHERE id = $1`, [id]);
    });
  }

  async list(): Promise<readonly TokenRecord[]> {
    await this.#ready();
    const { rows } = await this.#pool.query(`SELECT ${SELECT_LIST} FROM "${this.#table}"`);
    return rows.map(toRecord);
  }

  // A range scan of the primary key, in the column's collation: the same order `>` compares in.
  async listPage(afterId: string | null, limit: number): Promise<readonly TokenRecord[]> {
    await this.#ready();
    const { rows } =
      afterId === null
        ? await this.#pool.query(`SELECT ${SELECT_LIST} FROM "${this.#table}" ORDER BY id LIMIT $1`, [limit])
        : await this.#pool.query(`SELECT ${SELECT_LIST} FROM "${this.#table}" WHERE id > $1 ORDER BY id LIMIT $2`, [
            afterId,
            limit,
          ]);
    return rows.map(toRecord);
  }

  async count(): Promise<number> {
    await this.#ready();
    const { rows } = await this.#pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${this.#table}"`);
    // count(*) is a bigint, which arrives as a string.
    return Number(rows[0]?.n);
  }

  async clear(): Promise<void> {
    await this.#ready();
    await this.#transaction(async (client) => {
      await client.query(`DELETE FROM "${this.#table}"`);
      await client.query(`DELETE FROM "${this.#activity}"`);
    });
  }

  // FOR KEY SHARE holds the token row until the upsert commits, so a delete cannot slip in
  // between and leave activity without a token; GREATEST (which skips NULL) keeps the later time.
  async touch(id: string, event: 'used' | 'revoked', at: number): Promise<void> {
    await this.#ready();
    const column = ACTIVITY_COLUMN[event];
    await this.#pool.query(
      `INSERT INTO "${this.#activity}" (id, ${column})
       SELECT id, $2 FROM "${this.#table}" WHERE id = $1 FOR KEY SHARE
       ON CONFLICT (id) DO UPDATE SET ${column} = GREATEST("${this.#activity}".${column}, EXCLUDED.${column})`,
      [id, at],
    );
  }

  async activity(): Promise<readonly TokenActivity[]> {
    await this.#ready();
    const { rows } = await this.#pool.query<{ id: string; used: string | null; revoked: string | null }>(
      `SELECT id, last_used_at AS used, revoked_at AS revoked FROM "${this.#activity}"`,
    );
    // bigint arrives as a string; ms since the epoch fit a double exactly.
    return rows.map((row) => ({
      id: row.id,
      lastUsedAt: row.used === null ? null : Number(row.used),
      revokedAt: row.revoked === null ? null : Number(row.revoked),
    }));
  }

  withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    return this.#lockSlots.run(() => this.#withLock(key, work));
  }

  async #withLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    let client: PG.PoolClient;
    try {
      client = await this.#checkout();
    } catch (error) {
      throw storageFailure('PostgresStore: could not connect for the refresh lock', error);
    }
    // A session lock on a dedicated client: a holder that dies drops it with its connection. A
    // session the server ends while we hold it (a restart, a partition) loses the lock, which is
    // harmless to the work: its save is conditional on the row (see `saveTokenIfUnchanged`).
    // Polled with try-lock, so the wait is bounded without touching statement timeouts.
    const deadline = Date.now() + this.#lockTimeout;
    // Probes about a third of the lease apart, in whole seconds (the settings' unit); the first
    // probe the server may drop the session at falls within the last probe interval of the lease.
    const probe = Math.max(1, Math.floor(this.#lockLease / 3_000));
    const dropAfter = Math.max(1, this.#lockLease - probe * 1_000 + 1);
    try {
      await client.query(LEASE_SETTINGS, [String(probe), String(dropAfter)]);
      for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
        const { rows } = await client.query<{ got: boolean }>(REFRESH_TRY, [key]);
        if (rows[0]?.got) break;
        if (Date.now() >= deadline) throw lockTimeout('PostgresStore', this.#lockTimeout);
        await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
      }
    } catch (error) {
      checkIn(client, true);
      throw storageFailure('PostgresStore: could not take the refresh lock', error);
    }
    try {
      return await work();
    } finally {
      try {
        await client.query(REFRESH_UNLOCK, [key]);
        checkIn(client);
      } catch (error) {
        checkIn(client, error as Error);
      }
    }
  }

  /**
   * A pooled client kept across several queries. If the server dies between them, the client
   * emits 'error', which with no listener would crash the process; its next query fails with
   * that error anyway, so the event itself is ignored while the client is out.
   */
  async #checkout(): Promise<PG.PoolClient> {
    const client = await this.#pool.connect();
    client.on('error', ignore);
    return client;
  }

  async close(): Promise<void> {
    if (this.#ownsPool) await this.#pool.end();
  }
}

const ignore = (): void => undefined;

/** Gives a checked-out client back; with an error, the pool closes it instead of reusing it. */
function checkIn(client: PG.PoolClient, error?: Error | boolean): void {
  client.off('error', ignore);
  client.release(error);
}

function createPool(options: PostgresStoreOptions<TokenLike>): PG.Pool {
  const pg = loadDriver<typeof PG>('PostgresStore', 'pg');
  const queryTimeout = options.queryTimeoutMs ?? 5000;
  const pool = new pg.Pool({
    ...(options.url
      ? { connectionString: options.url }
      : {
          host: options.host ?? '127.0.0.1',
          port: options.port ?? 5432,
          user: options.user,
          password: options.password,
          database: options.database,
        }),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    // Bounded on both sides: the client gives up, and the server cancels the statement.
    query_timeout: queryTimeout,
    statement_timeout: queryTimeout,
    max: POOL_SIZE,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  // An idle client whose server went away emits 'error'; the pool drops it and reconnects later.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Tokens in a PostgreSQL table (pg): the official DBStore layout with `text` columns and an
 * index on every lookup column, parameterised queries, one advisory-locked transaction per save
 * so processes sharing the table never write a duplicate, bounded connect and query timeouts,
 * a {@link RefreshLock} on advisory locks, and token activity in a side table `<table>_activity`.
 * Concurrent lookups of one column share one query, an index probe per value (`coalesceLookups`, on by default).
 *
 * @example
 * ```ts
 * import { PostgresStore } from 'zoho-token-store/stores/postgres';
 * const store = new PostgresStore({ url: 'postgres://zoho:secret@127.0.0.1:5432/crm' });
 * await store.withRefreshLock('user@zylker.com', async () => {
 *   // refresh once, even with many processes
 * });
 * await store.close();
 * ```
 */
export class PostgresStore<T extends TokenLike = OAuthToken> extends RecordTokenStore<T> implements RefreshLock {
  readonly #backend: PostgresBackend;

  constructor(options: PostgresStoreOptions<T> = {}) {
    const backend = new PostgresBackend(options as PostgresStoreOptions<TokenLike>);
    super(backend, options);
    this.#backend = backend;
  }

  /** Runs `work` while holding a lock named `key` that every process sharing the server sees. */
  withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    return this.#backend.withRefreshLock(key, work);
  }
}
