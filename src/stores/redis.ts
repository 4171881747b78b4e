import { createHash, randomBytes } from 'node:crypto';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import type { RefreshLock } from '../lifecycle/refresh-lock.js';
import { lookupValue } from '../store/matching.js';
import type { LookupColumn, LookupKey, RecordBackend } from '../store/record-backend.js';
import { RecordTokenStore, type StoreOptions } from '../store/record-token-store.js';
import type { TokenActivity } from '../store/token-activity.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';
import { TOKEN_COLUMNS, type TokenRecord } from '../token/token-record.js';
import { type CoalescingOptions, LookupCoalescer } from './lookup-coalescer.js';
import { LOOKUPS, loadDriver, lockTimeout, matchesAnyKey, sleep, storageFailure } from './store-support.js';

/** Options for {@link RedisStore}. */
export interface RedisStoreOptions<T extends TokenLike> extends StoreOptions<T>, CoalescingOptions {
  /** `redis://[:password@]host:port[/db]`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** An existing ioredis client to use; the store will not close it (it closes its own duplicate). */
  client?: RedisClient;
  /** Prefix of every key the store writes. Default `zoho:tokens:`. */
  prefix?: string;
  /** Longest wait for a connection, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Longest wait for one command, in ms. Default 5000. */
  queryTimeoutMs?: number;
  /** Longest wait for a refresh lock, in ms. Default 30000. */
  lockTimeoutMs?: number;
  /** How long a refresh lock lives if its holder dies without releasing it, in ms. Default 30000. */
  lockLeaseMs?: number;
}

/**
 * What a Redis server keeps across a restart, as {@link RedisStore.persistence} reads it. A token
 * store needs `appendonly yes`: without it a restart loses every token saved since the last RDB
 * snapshot (all of them with `save ""`).
 */
export interface RedisPersistence {
  /** Whether the append-only file is on (`appendonly`); null when neither CONFIG nor INFO may be read. */
  appendOnly: boolean | null;
  /** `appendfsync`: `always`, `everysec` or `no`; null when CONFIG may not be read. */
  appendFsync: string | null;
  /** The RDB snapshot schedule (`save`), `''` for none; null when CONFIG may not be read. */
  snapshots: string | null;
}

const MAX_ATTEMPTS = 100;
const EVENTS = ['used', 'revoked'] as const;
// Deletes the lock only if this holder still owns it: an expired lease may belong to another now.
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** A record as a hash: null fields are left out, so `''` and null stay distinct. */
// Reads an index set and every token hash it lists in one round trip (read-only, so it never
// conflicts with the WATCH-based writes). It names token keys it builds itself, which standalone
// Redis allows; a Redis Cluster would need the prefix in a hash tag.
const READ_INDEXED = `
local ids = redis.call('SMEMBERS', KEYS[1])
local hashes = {}
for i, id in ipairs(ids) do hashes[i] = redis.call('HGETALL', ARGV[1] .. id) end
return hashes`;

// READ_INDEXED for many lookups of one column at once (the coalescer's batches): the fields
// ARGV[3…] (values only, in that order) of every token listed under any of the index keys, or
// with ARGV[2] = 'id', of the tokens KEYS name. A missing field or hash answers nil.
const READ_MANY = `
local fields = {unpack(ARGV, 3)}
local rows = {}
for _, key in ipairs(KEYS) do
  if ARGV[2] == 'id' then
    rows[#rows + 1] = redis.call('HMGET', key, unpack(fields))
  else
    for _, id in ipairs(redis.call('SMEMBERS', key)) do
      rows[#rows + 1] = redis.call('HMGET', ARGV[1] .. id, unpack(fields))
    end
  end
end
return rows`;
const FIELDS = TOKEN_COLUMNS.map((c) => c.field);

const CLEAR_BATCH = 500;

// One page in id order: the ids after ARGV[2] in the lexical set (`-` from the start, `(id` after
// one) and their hashes, read at one instant. Like READ_INDEXED, it names token keys it builds.
const READ_PAGE = `
local ids = redis.call('ZRANGE', KEYS[1], ARGV[2], '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[3]))
local hashes = {}
for i, id in ipairs(ids) do hashes[i] = redis.call('HGETALL', ARGV[1] .. id) end
return {ids, hashes}`;

// Adds to the lexical set those of the given ids the id set still holds, atomically with that
// check, so a token deleted while the order is rebuilt is not put back.
const ADD_TO_ORDER = `
local added = 0
for _, id in ipairs(ARGV) do
  if redis.call('SISMEMBER', KEYS[1], id) == 1 then added = added + redis.call('ZADD', KEYS[2], 0, id) end
end
return added`;
const BACKFILL_BATCH = 1000;
// The index layout a store was last rebuilt to: 'hashed-index' lacked the `userEmail` sets.
const INDEX_LAYOUT = 'email-index';

// Records activity only while the token exists, atomically with that check; ZADD GT keeps the
// later time (and still adds a first one).
const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('ZADD', KEYS[2], 'GT', ARGV[1], ARGV[2]) end
return 0`;

function toHash(record: TokenRecord): Record<string, string> {
  const hash: Record<string, string> = {};
  for (const { field } of TOKEN_COLUMNS) {
    const value = record[field];
    if (value !== null) hash[field] = value;
  }
  return hash;
}

function fromHash(hash: Record<string, string>): TokenRecord | undefined {
  if (hash.id === undefined) return undefined;
  const record: Record<string, string | null> = {};
  for (const { field } of TOKEN_COLUMNS) record[field] = hash[field] ?? null;
  return record as unknown as TokenRecord;
}

/** The records of HGETALL answers read in a script (flat field, value lists); gone hashes are left out. */
function recordsOf(hashes: readonly (readonly string[])[]): TokenRecord[] {
  const records: TokenRecord[] = [];
  for (const flat of hashes) {
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i] as string] = flat[i + 1] as string;
    const record = fromHash(hash);
    if (record) records.push(record);
  }
  return records;
}

class RedisBackend implements RecordBackend, RefreshLock {
  readonly #client: RedisClient;
  // WATCH is per connection: transactions get their own, one at a time in this process.
  readonly #tx: RedisClient;
  readonly #ownsClient: boolean;
  readonly #prefix: string;
  readonly #lockTimeout: number;
  readonly #lockLease: number;
  #queue: Promise<unknown> = Promise.resolve();
  /** The last error of a connection attempt: why a command gave up waiting for the server. */
  #connectionError: unknown = undefined;
  readonly #lookups: LookupCoalescer | undefined;

  constructor(options: RedisStoreOptions<TokenLike>) {
    this.#prefix = options.prefix ?? 'zoho:tokens:';
    this.#lookups =
      options.coalesceLookups === false
        ? undefined
        : new LookupCoalescer((column, values) => this.#readMany(column, values));
    this.#lockTimeout = options.lockTimeoutMs ?? 30_000;
    this.#lockLease = options.lockLeaseMs ?? 30_000;
    this.#ownsClient = options.client === undefined;
    const settings: RedisOptions = {
      connectTimeout: options.connectTimeoutMs ?? 5000,
      commandTimeout: options.queryTimeoutMs ?? 5000,
      // Commands issued while the server is away fail after one reconnect attempt instead of
      // piling up; the client keeps reconnecting in the background and recovers by itself.
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 100, 1000),
    };
    if (options.client) {
      this.#client = options.client;
    } else {
      const Redis = loadDriver<{ Redis: new (url: string, options: RedisOptions) => RedisClient }>(
        'RedisStore',
        'ioredis',
      ).Redis;
      this.#client = new Redis(options.url ?? 'redis://127.0.0.1:6379', settings);
    }
    this.#tx = this.#client.duplicate(settings);
    // Connection errors surface through the commands that fail, as their cause (see #failure);
    // unhandled 'error' events would crash.
    const remember = (error: unknown) => (this.#connectionError = error);
    this.#tx.on('error', remember);
    if (this.#ownsClient) this.#client.on('error', remember);
  }

  /**
   * A command's error, scrubbed. A command that gave up while the server was away says only how many
   * retries it made: the connection's own error (`ECONNREFUSED`, …) becomes its cause.
   */
  #failure(error: unknown): unknown {
    const failure = scrubbed(error);
    if (failure instanceof Error && failure.name === 'MaxRetriesPerRequestError' && failure.cause === undefined) {
      if (this.#connectionError !== undefined) failure.cause = this.#connectionError;
    }
    return failure;
  }

  #tokenKey = (id: string): string => `${this.#prefix}token:${id}`;
  /**
   * An index set is named by a SHA-256 of its value, never the value: key names show in KEYS,
   * SCAN, SLOWLOG, keyspace events and memory reports, where a token must not. (A token has far
   * too much entropy to be guessed from its hash; behind EncryptedStore the values indexed are
   * keyed blind indexes already.)
   */
  #indexKey = (column: LookupColumn, value: string): string =>
    `${this.#prefix}index:${column}:${createHash('sha256').update(value, 'utf8').digest('base64url')}`;
  /** Set once the index sets are named by hash: a store written by an earlier version is re-indexed first. */
  get #layoutKey(): string {
    return `${this.#prefix}layout`;
  }
  #indexReady: Promise<void> | null = null;
  get #idsKey(): string {
    return `${this.#prefix}ids`;
  }
  /**
   * The same ids in a sorted set, every score 0, so they are ordered lexically and a page is a
   * range read (ZRANGE BYLEX) of its own length: no call loads every id.
   */
  get #orderKey(): string {
    return `${this.#prefix}ids:ordered`;
  }
  /** Sorted sets of token ids scored by the time of their last use and last revocation. */
  #activityKey = (event: 'used' | 'revoked'): string => `${this.#prefix}activity:${event}`;

  /** The index keys a record is listed under. */
  #indexKeysOf(record: TokenRecord): string[] {
    const keys: string[] = [];
    for (const column of LOOKUPS) {
      const value = lookupValue(record, column);
      if (column !== 'id' && value !== null) keys.push(this.#indexKey(column, value));
    }
    return keys;
  }

  async #read(client: RedisClient, ids: Iterable<string>): Promise<TokenRecord[]> {
    const list = [...ids];
    if (list.length === 0) return [];
    const pipeline = client.pipeline();
    for (const id of list) pipeline.hgetall(this.#tokenKey(id));
    const results = (await pipeline.exec()) ?? [];
    const records: TokenRecord[] = [];
    for (const [error, hash] of results) {
      if (error) throw error;
      const record = fromHash(hash as Record<string, string>);
      if (record) records.push(record);
    }
    return records;
  }

  /**
   * Once per process: a store whose index sets an earlier version named by the raw values
   * (`idx:<column>:<value>`), or that lacks the `userEmail` sets, gets them again under hashed
   * names, rebuilt from the token hashes, and the raw-named sets, named from the same hashes,
   * deleted (never by pattern: another store's prefix may start with this one's). Safe to run in
   * several processes at once, and again after a failure (the server away), which the next call
   * retries. Every process of an earlier version must have stopped first: one still running
   * writes sets this version does not read.
   */
  #hashedIndex(): Promise<void> {
    this.#indexReady ??= (async () => {
      if ((await this.#client.get(this.#layoutKey)) === INDEX_LAYOUT) return;
      let cursor = '0';
      do {
        const [next, ids] = await this.#client.sscan(this.#idsKey, cursor, 'COUNT', BACKFILL_BATCH);
        const pipeline = this.#client.pipeline();
        for (const record of await this.#read(this.#client, ids)) {
          for (const key of this.#indexKeysOf(record)) pipeline.sadd(key, record.id);
          for (const column of ['userName', 'accessToken', 'grantToken', 'refreshToken'] as const) {
            const value = record[column];
            if (value !== null) pipeline.del(`${this.#prefix}idx:${column}:${value}`);
          }
        }
        await pipeline.exec();
        cursor = next;
      } while (cursor !== '0');
      await this.#client.set(this.#layoutKey, INDEX_LAYOUT);
    })().catch((error: unknown) => {
      this.#indexReady = null;
      throw this.#failure(error);
    });
    return this.#indexReady;
  }

  /** The rows listed under one index key, in a single round trip. */
  async #readIndexed(indexKey: string): Promise<TokenRecord[]> {
    const hashes = (await this.#client.eval(READ_INDEXED, 1, indexKey, this.#tokenKey(''))) as string[][];
    return recordsOf(hashes);
  }

  /** Runs one optimistic transaction at a time on the dedicated connection, retrying on conflict. */
  #serial(attempt: () => Promise<boolean>): Promise<void> {
    const run = async (): Promise<void> => {
      for (let i = 0; i < MAX_ATTEMPTS; i++) {
        try {
          if (await attempt()) return;
        } catch (error) {
          // Leave no WATCH behind for the next transaction on this connection.
          await this.#tx.unwatch().catch(() => undefined);
          throw this.#failure(error);
        }
        await sleep(Math.random() * Math.min(5 * (i + 1), 50));
      }
      throw new Error('RedisStore: too many write conflicts');
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** The rows of many lookups of one column in one script; the coalescer keeps the exact matches. */
  async #readMany(column: LookupColumn, values: readonly string[]): Promise<TokenRecord[]> {
    await this.#hashedIndex();
    const keys = values.map((value) => (column === 'id' ? this.#tokenKey(value) : this.#indexKey(column, value)));
    try {
      const rows = (await this.#client.eval(
        READ_MANY,
        keys.length,
        ...keys,
        this.#tokenKey(''),
        column,
        ...FIELDS,
      )) as (string | null)[][];
      const records: TokenRecord[] = [];
      for (const row of rows) {
        // FIELDS starts with the id, which a hash deleted meanwhile (or never written) lacks.
        if (row[0] == null) continue;
        const record: Record<string, string | null> = {};
        FIELDS.forEach((field, i) => {
          record[field] = row[i] ?? null;
        });
        records.push(record as unknown as TokenRecord);
      }
      return records;
    } catch (error) {
      throw this.#failure(error);
    }
  }

  async findBy(key: LookupKey): Promise<readonly TokenRecord[]> {
    if (this.#lookups) return this.#lookups.find(key);
    await this.#hashedIndex();
    try {
      const records =
        key.column === 'id'
          ? await this.#read(this.#client, [key.value])
          : await this.#readIndexed(this.#indexKey(key.column, key.value));
      return records.filter((record) => lookupValue(record, key.column) === key.value);
    } catch (error) {
      throw this.#failure(error);
    }
  }

  upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void> {
    return this.upsertMany(keys, (candidates) => [decide(candidates)]);
  }

  // An optimistic transaction: WATCH every index and token key read, decide, then write it all in
  // one MULTI; a concurrent change to any of them makes EXEC fail and the whole batch retry.
  upsertMany(
    keys: readonly LookupKey[],
    decide: (candidates: readonly TokenRecord[]) => readonly TokenRecord[],
  ): Promise<void> {
    const tx = this.#tx;
    return this.#serial(async () => {
      await this.#hashedIndex();
      const indexKeys = keys.filter((k) => k.column !== 'id').map((k) => this.#indexKey(k.column, k.value));
      // Every id a record can be written under is among these: own ids and fresh ids are id keys.
      const ids = new Set(keys.filter((k) => k.column === 'id').map((k) => k.value));
      await tx.watch(...indexKeys, ...[...ids].map(this.#tokenKey));
      if (indexKeys.length > 0) {
        const members = indexKeys.reduce((pipeline, key) => pipeline.smembers(key), tx.pipeline());
        for (const [error, found] of (await members.exec()) ?? []) {
          if (error) throw error;
          for (const id of found as string[]) ids.add(id);
        }
      }
      // Watching the candidates' own keys catches a concurrent update that moves them.
      await tx.watch(...[...ids].map(this.#tokenKey));
      const stored = new Map((await this.#read(tx, ids)).map((row) => [row.id, row]));
      const candidates = [...stored.values()].filter(matchesAnyKey(keys));
      const records = decide(candidates);
      const multi = tx.multi();
      for (const record of records) {
        const previous = stored.get(record.id);
        if (previous) for (const key of this.#indexKeysOf(previous)) multi.srem(key, record.id);
        // A new token starts with no activity, whatever an interrupted clear left behind.
        else for (const event of EVENTS) multi.zrem(this.#activityKey(event), record.id);
        multi.del(this.#tokenKey(record.id));
        multi.hset(this.#tokenKey(record.id), toHash(record));
        multi.sadd(this.#idsKey, record.id);
        multi.zadd(this.#orderKey, 0, record.id);
        for (const key of this.#indexKeysOf(record)) multi.sadd(key, record.id);
      }
      return checkExec(await multi.exec());
    });
  }

  delete(id: string): Promise<void> {
    const tx = this.#tx;
    return this.#serial(async () => {
      await this.#hashedIndex();
      await tx.watch(this.#tokenKey(id));
      const [previous] = await this.#read(tx, [id]);
      const multi = tx.multi();
      if (previous) for (const key of this.#indexKeysOf(previous)) multi.srem(key, id);
      multi.del(this.#tokenKey(id));
      multi.srem(this.#idsKey, id);
      multi.zrem(this.#orderKey, id);
      for (const event of EVENTS) multi.zrem(this.#activityKey(event), id);
      return checkExec(await multi.exec());
    });
  }

  async list(): Promise<readonly TokenRecord[]> {
    try {
      return await this.#read(this.#client, await this.#client.smembers(this.#idsKey));
    } catch (error) {
      throw this.#failure(error);
    }
  }

  // Each page is one script, so it is a consistent snapshot; between pages, writers go on (see
  // RecordBackend.listPage). An id whose hash is gone (deleted by a version of this store that
  // kept no lexical set) is skipped and the page topped up from further on.
  async listPage(afterId: string | null, limit: number): Promise<readonly TokenRecord[]> {
    try {
      if (afterId === null) await this.#completeOrder();
      const records: TokenRecord[] = [];
      for (let from = afterId === null ? '-' : `(${afterId}`; records.length < limit; ) {
        const wanted = limit - records.length;
        const [ids, hashes] = (await this.#client.eval(
          READ_PAGE,
          1,
          this.#orderKey,
          this.#tokenKey(''),
          from,
          wanted,
        )) as [string[], string[][]];
        records.push(...recordsOf(hashes));
        if (ids.length < wanted) break;
        from = `(${ids.at(-1)}`;
      }
      return records;
    } catch (error) {
      throw this.#failure(error);
    }
  }

  async count(): Promise<number> {
    try {
      return await this.#client.scard(this.#idsKey);
    } catch (error) {
      throw this.#failure(error);
    }
  }

  /**
   * Adds to the lexical set the ids it lacks: tokens saved by a version of this store that kept
   * only the id set. Two O(1) counts when nothing is missing; else one SSCAN of the id set, in batches.
   */
  async #completeOrder(): Promise<void> {
    const [ids, ordered] = await Promise.all([this.#client.scard(this.#idsKey), this.#client.zcard(this.#orderKey)]);
    if (ordered >= ids) return;
    let cursor = '0';
    do {
      const [next, batch] = await this.#client.sscan(this.#idsKey, cursor, 'COUNT', BACKFILL_BATCH);
      if (batch.length > 0) await this.#client.eval(ADD_TO_ORDER, 2, this.#idsKey, this.#orderKey, ...batch);
      cursor = next;
    } while (cursor !== '0');
  }

  // Batches, each token removed whole: one MULTI over every key of a large store would outlast
  // the command timeout (100k tokens are ~500k keys).
  async clear(): Promise<void> {
    await this.#hashedIndex();
    const tx = this.#tx;
    for (let done = false; !done; ) {
      await this.#serial(async () => {
        const ids = (await tx.srandmember(this.#idsKey, CLEAR_BATCH)) as string[];
        if (ids.length === 0) {
          // Ids an earlier version deleted from the id set only. A save racing this loses its
          // place in the ordered set, and the next walk puts it back (see #completeOrder).
          // The layout marker too: an empty store has no index to name, so leaves no key at all.
          await tx.del(this.#orderKey, this.#layoutKey);
          done = true;
          return true;
        }
        await tx.watch(...ids.map(this.#tokenKey));
        const records = await this.#read(tx, ids);
        const multi = tx.multi();
        for (const record of records) for (const key of this.#indexKeysOf(record)) multi.srem(key, record.id);
        multi.del(...ids.map(this.#tokenKey));
        multi.srem(this.#idsKey, ...ids);
        multi.zrem(this.#orderKey, ...ids);
        for (const event of EVENTS) multi.zrem(this.#activityKey(event), ...ids);
        return checkExec(await multi.exec());
      });
    }
  }

  async touch(id: string, event: 'used' | 'revoked', at: number): Promise<void> {
    try {
      await this.#client.eval(TOUCH, 2, this.#tokenKey(id), this.#activityKey(event), at, id);
    } catch (error) {
      throw this.#failure(error);
    }
  }

  async activity(): Promise<readonly TokenActivity[]> {
    try {
      const scored = (event: 'used' | 'revoked') =>
        this.#client.zrange(this.#activityKey(event), '0', '-1', 'WITHSCORES');
      const [used, revoked] = await Promise.all([scored('used'), scored('revoked')]);
      const byId = new Map<string, { id: string; lastUsedAt: number | null; revokedAt: number | null }>();
      const entry = (id: string) => {
        const found = byId.get(id) ?? { id, lastUsedAt: null, revokedAt: null };
        byId.set(id, found);
        return found;
      };
      // WITHSCORES answers member, score, member, score, …
      for (let i = 0; i + 1 < used.length; i += 2) entry(used[i] as string).lastUsedAt = Number(used[i + 1]);
      for (let i = 0; i + 1 < revoked.length; i += 2) entry(revoked[i] as string).revokedAt = Number(revoked[i + 1]);
      return [...byId.values()];
    } catch (error) {
      throw this.#failure(error);
    }
  }

  async withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    // Hashed like the index sets: a lock's name may hold a user name or a token.
    const lockKey = `${this.#prefix}lock:${createHash('sha256').update(key, 'utf8').digest('base64url')}`;
    const owner = randomBytes(16).toString('hex');
    const deadline = Date.now() + this.#lockTimeout;
    // The lease bounds how long a holder that died keeps the lock.
    for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
      let got: string | null;
      try {
        got = await this.#client.set(lockKey, owner, 'PX', this.#lockLease, 'NX');
      } catch (error) {
        throw storageFailure('RedisStore: could not take the refresh lock', this.#failure(error));
      }
      if (got === 'OK') break;
      if (Date.now() >= deadline) throw lockTimeout('RedisStore', this.#lockTimeout);
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    }
    try {
      return await work();
    } finally {
      // If this fails the lease still expires; the work's own outcome matters more.
      await this.#client.eval(RELEASE, 1, lockKey, owner).catch(() => undefined);
    }
  }

  async persistence(): Promise<RedisPersistence> {
    const unknown: RedisPersistence = { appendOnly: null, appendFsync: null, snapshots: null };
    try {
      const [appendOnly, appendFsync, snapshots] = await Promise.all(
        ['appendonly', 'appendfsync', 'save'].map(
          async (name) => ((await this.#client.config('GET', name)) as string[])[1] ?? null,
        ),
      );
      return {
        appendOnly: appendOnly == null ? null : appendOnly === 'yes',
        appendFsync: appendFsync ?? null,
        snapshots: snapshots ?? null,
      };
    } catch (error) {
      // CONFIG renamed away or denied by an ACL, as managed services do: INFO still tells the AOF.
      if (!isReplyError(error)) throw storageFailure('RedisStore: could not read the persistence settings', error);
    }
    try {
      const enabled = /^aof_enabled:(\d)/m.exec(await this.#client.info('persistence'))?.[1];
      return { ...unknown, appendOnly: enabled === undefined ? null : enabled === '1' };
    } catch (error) {
      if (!isReplyError(error)) throw storageFailure('RedisStore: could not read the persistence settings', error);
      return unknown;
    }
  }

  async close(): Promise<void> {
    this.#tx.disconnect();
    if (this.#ownsClient) this.#client.disconnect();
  }
}

/** ioredis attaches the failed command with its arguments (token values): drop it before logs see it. */
function scrubbed(error: unknown): unknown {
  if (typeof error === 'object' && error !== null && 'command' in error)
    delete (error as { command?: unknown }).command;
  return error;
}

/** An error answer of the server (unknown command, NOPERM), not a connection failure. */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/** EXEC answers null when a watched key changed (retry), or per-command errors (fail). */
function checkExec(results: [Error | null, unknown][] | null): boolean {
  if (results === null) return false;
  for (const [error] of results) if (error) throw scrubbed(error);
  return true;
}

/**
 * Tokens in Redis (ioredis): one hash per token, a set of ids (also kept as a lexically sorted
 * set, for paged reads) and an index set per lookup value, so no call ever scans the keyspace;
 * token activity in two sorted sets (Redis 6.2+). Saves are optimistic transactions (WATCH/MULTI)
 * retried on conflict, so processes sharing the server never write a duplicate; commands have
 * bounded timeouts; and a {@link RefreshLock} on `SET NX PX` with a lease. Concurrent lookups
 * share one read-only script (`coalesceLookups`, on by default).
 *
 * @example
 * ```ts
 * import { RedisStore } from 'zoho-token-store/stores/redis';
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379', prefix: 'crm:tokens:' });
 * await store.withRefreshLock('user@zylker.com', async () => {
 *   // refresh once, even with many processes
 * });
 * await store.close();
 * ```
 */
export class RedisStore<T extends TokenLike = OAuthToken> extends RecordTokenStore<T> implements RefreshLock {
  readonly #backend: RedisBackend;

  constructor(options: RedisStoreOptions<T> = {}) {
    const backend = new RedisBackend(options as RedisStoreOptions<TokenLike>);
    super(backend, options);
    this.#backend = backend;
  }

  /** Runs `work` while holding a lock named `key` that every process sharing the server sees. */
  withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    return this.#backend.withRefreshLock(key, work);
  }

  /**
   * The server's persistence settings, from `CONFIG GET`; where CONFIG is disabled or denied,
   * only whether the AOF is on, from `INFO persistence` (null fields: could not be read).
   * `zoho-tokens doctor` warns from it.
   *
   * @example
   * ```ts
   * const { appendOnly } = await store.persistence();
   * if (appendOnly === false) console.warn('Redis keeps no AOF: a restart loses tokens');
   * ```
   */
  persistence(): Promise<RedisPersistence> {
    return this.#backend.persistence();
  }
}
