import { randomInt } from 'node:crypto';
import { isTokenStoreError, TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { OAuthToken, type TokenLike } from '../token/oauth-token.js';
import { fillToken, recordOf, type TokenRecord } from '../token/token-record.js';
import { type ConditionalSave, sameVersion, tokenChanged } from './conditional-save.js';
import { InFlight } from './in-flight.js';
import {
  AMBIGUOUS,
  ambiguousUser,
  firstMatch,
  hasCredential,
  INDEXED,
  lookupKeys,
  lookupValue,
  pickRow,
  savedUserName,
} from './matching.js';
import type { LookupColumn, LookupKey, RecordBackend } from './record-backend.js';
import { refusedData } from './refused-data.js';
import { refuseSealed } from './sealed-values.js';
import type { ActivityTracking, TokenActivity } from './token-activity.js';
import { assertId, assertToken } from './token-arguments.js';
import type { TokenStore } from './token-store.js';

/** Options every built-in store takes. */
export interface StoreOptions<T extends TokenLike> {
  /**
   * Makes the empty tokens that `getTokens` and `findTokenById` fill and return. Defaults to
   * our `OAuthToken`. As the store of the official SDK, pass one that makes the SDK's class:
   * `() => Reflect.construct(OAuthToken, [])` with the SDK's `OAuthToken`.
   */
  tokenFactory?: () => T;
  /**
   * Group commit for `saveToken`: the saves of one burst, and those made while a write is under
   * way, go out together as one atomic `upsertMany` (a transaction, a MULTI), decided in call
   * order, and each caller still gets its own result or error; a lone save waits one microtask.
   * If the storage refuses the data of the group (an SQL data or constraint error), each save
   * is tried again on its own, in call order. Only on a backend with `upsertMany`. Default
   * true; false writes one save at a time.
   */
  coalesceSaves?: boolean;
}

/** A `saveToken` waiting for its group. */
interface QueuedSave {
  readonly token: TokenLike;
  resolve(): void;
  reject(error: unknown): void;
}

// Ten digits, like the official DBStore's numeric ids, so they fit its `id varchar(10)` and its
// own `max(id) + 1` keeps working on a shared table; below 2^31, so they also fit the signed INT
// `id … auto_increment` of a legacy (`zcrmsdk`) table, whose counter then goes on after them.
// Random, so concurrent inserts need no counter.
const MIN_ID = 1_000_000_000;
const MAX_ID = 2 ** 31;
/** A random id in the form every built-in store gives a new token (ten digits). */
export const freshId = (): string => String(randomInt(MIN_ID, MAX_ID));

const ID_TAKEN = Symbol('fresh id taken');

// Tokens per atomic `upsertMany`: large enough to amortise round trips, small enough that one
// transaction stays well inside statement, packet and command-timeout limits.
const BATCH_SIZE = 1000;

/**
 * Reading a store a page at a time, in id order, instead of all at once with `getTokens`: what
 * `zoho-tokens migrate` uses to copy a store of any size in bounded memory. Every
 * {@link RecordTokenStore} offers it, and `EncryptedStore` when its inner store does.
 *
 * @example
 * ```ts
 * const total = await store.countTokens();
 * for (let page = await store.getTokensPage(null, 1000); page.length > 0; ) {
 *   for (const token of page) console.log(token.getId());
 *   page = await store.getTokensPage(page.at(-1)?.getId() ?? null, 1000);
 * }
 * ```
 */
export interface PagedReads<T extends TokenLike = TokenLike> {
  /**
   * At most `limit` tokens whose id sorts after `after` (from the first when null), in the
   * store's id order; the last id of a page gives the next one, and an empty page ends the walk.
   * A token saved or deleted during a walk may or may not be seen; every other token is seen
   * exactly once.
   *
   * @throws TokenStoreError `INVALID_ID` when `after` is neither null nor a non-empty string.
   * @throws TypeError when `limit` is not a positive integer.
   */
  getTokensPage(after: string | null, limit: number): Promise<T[]>;
  /** How many tokens the store holds, read without loading them where the storage can. */
  countTokens(): Promise<number>;
}

/** A backend that keeps activity: it has both optional members. */
type TrackingBackend = RecordBackend & Required<Pick<RecordBackend, 'touch' | 'activity'>>;

/**
 * Turns a {@link RecordBackend} into a {@link TokenStore} with the article's semantics. Every
 * built-in store extends it; a custom store can too, by writing only a backend. It also offers
 * {@link ActivityTracking} when the backend has `touch` and `activity` (see `tracksActivity`).
 *
 * @example
 * ```ts
 * import { RecordTokenStore } from 'zoho-token-store';
 * class MyStore extends RecordTokenStore {
 *   constructor() {
 *     super(new MyBackend());
 *   }
 * }
 * ```
 */
export class RecordTokenStore<T extends TokenLike = OAuthToken>
  implements TokenStore<T>, ActivityTracking, PagedReads<T>, ConditionalSave
{
  readonly #backend: RecordBackend;
  readonly #tokenFactory: () => T;
  readonly #coalesceSaves: boolean;
  /** Saves waiting to be written, and the writer while it runs (`close()` waits for it). */
  #queuedSaves: QueuedSave[] = [];
  #writer: Promise<void> | null = null;
  /** Backend calls under way: `close()` lets them finish. */
  readonly #inFlight = new InFlight();
  #closed = false;
  #closing: Promise<void> | null = null;
  /** Whether values `EncryptedStore` wrote are handed out as stored (see `passSealedValues`). */
  #passSealed = false;

  constructor(backend: RecordBackend, options: StoreOptions<T> = {}) {
    this.#backend = backend;
    this.#tokenFactory = options.tokenFactory ?? (() => new OAuthToken() as unknown as T);
    this.#coalesceSaves = options.coalesceSaves !== false && backend.upsertMany !== undefined;
  }

  // Typed wider than TokenLike (and checked at run time) so a store also fits the official SDK's
  // `TokenStore` type, whose `Token` interface names none of the accessors.
  async findToken<U extends object>(token: U): Promise<U | null> {
    assertToken(token, 'findToken');
    this.#assertOpen('findToken');
    let ambiguous = false;
    for (const key of lookupKeys(token)) {
      const found = this.#findBy(key, 'findToken');
      const row = pickRow(token, key, Array.isArray(found) ? found : await found);
      if (row === AMBIGUOUS) ambiguous = true;
      else if (row) return fillToken(token, this.#readable(row, 'findToken'));
    }
    if (ambiguous) throw ambiguousUser('findToken');
    return null;
  }

  /**
   * Hands out values that `EncryptedStore` wrote (ciphertext, blind indexes) as they are stored,
   * instead of failing with `NO_KEY`. Only for a reader that knows them for what they are:
   * `EncryptedStore` turns it on for the store it wraps, and `zoho-tokens list` to show which
   * tokens are encrypted. Without it a store fails closed: a token read without its key is never
   * mistaken for one that can be sent to Zoho, and an encrypted token is never overwritten.
   *
   * @example
   * ```ts
   * const raw = new SQLiteStore().passSealedValues();
   * (await raw.getTokens())[0]?.getRefreshToken(); // 'enc:v2:k1:…' rather than a NO_KEY error
   * ```
   */
  passSealedValues(): this {
    this.#passSealed = true;
    return this;
  }

  /** The row, unless it holds encrypted values this store may not hand out. */
  #readable(row: TokenRecord, operation: string): TokenRecord {
    if (!this.#passSealed) refuseSealed(row, operation);
    return row;
  }

  async saveToken(token: object): Promise<void> {
    assertToken(token, 'saveToken');
    if (!this.#coalesceSaves) return this.#saveOne(token);
    this.#assertOpen('saveToken');
    return new Promise<void>((resolve, reject) => {
      this.#queuedSaves.push({ token, resolve, reject });
      // A microtask later, so that every save of one synchronous burst, the first too, is in the group.
      this.#writer ??= Promise.resolve().then(() => this.#writeQueuedSaves());
    });
  }

  /**
   * Writes queued saves until none are left: a lone one through `upsert`, a group (at most 1,000)
   * as one `upsertMany`. Saves queue while a group is written, so a burst of callers costs one
   * write per group instead of one each, and nobody waits for a timer. Never rejects: every
   * save's own promise carries its outcome.
   */
  async #writeQueuedSaves(): Promise<void> {
    try {
      while (this.#queuedSaves.length > 0) {
        const group = this.#queuedSaves.splice(0, BATCH_SIZE);
        const [first] = group;
        if (group.length === 1 && first) await settle(first, () => this.#saveOne(first.token, true));
        else await this.#saveGroup(group);
      }
    } finally {
      this.#writer = null;
    }
  }

  /**
   * One atomic write of many `saveToken` calls, each decided in call order against the rows
   * before it and the group's earlier saves, as if they ran one after another. A save that
   * cannot be written (`NOTHING_TO_SAVE`, `ID_CONFLICT`) fails alone and writes nothing. When
   * the storage refuses the data of the group (a value too long, a duplicate key), nothing of it
   * is written and each save is tried again on its own, in call order, so only the refused row
   * fails. Any other failure (the server down, a timeout) fails every save of the group with it,
   * at once, rather than once per save.
   */
  async #saveGroup(group: readonly QueuedSave[]): Promise<void> {
    let plan: BatchPlan;
    try {
      plan = await this.#upsertPlanned(
        'saveToken',
        group.map((save) => save.token),
        true,
      );
    } catch (error) {
      if (refusedData(error)) for (const save of group) await settle(save, () => this.#saveOne(save.token, true));
      else for (const save of group) save.reject(error);
      return;
    }
    for (const [i, save] of group.entries()) {
      const record = plan.written[i];
      if (record === undefined) save.reject(plan.failures[i]);
      else await settle(save, async () => void fillToken(save.token, record).setId(record.id));
    }
  }

  /**
   * `saveToken` into the row of `read` ({@link ConditionalSave}), only if that row still holds the
   * values it was read with: checked inside the backend's atomic `upsert`, so no other writer can
   * land between the check and the write. Not grouped with other saves.
   *
   * @throws TokenStoreError `TOKEN_CHANGED` when the row changed or is gone: nothing is written.
   * @example
   * ```ts
   * const read = (await store.findTokenById(id)) as OAuthToken;
   * await store.saveTokenIfUnchanged(new OAuthToken({ id, accessToken: '1000.new…' }), read);
   * ```
   */
  async saveTokenIfUnchanged(token: object, read: object): Promise<void> {
    const operation = 'saveTokenIfUnchanged';
    assertToken(token, operation);
    assertToken(read, operation);
    const id = read.getId();
    assertId(id, operation);
    const expected = recordOf(read, id);
    await this.#saveOne(token, false, { id, check: (row) => row !== undefined && sameVersion(row, expected) });
  }

  /**
   * One save through `upsert`; `queued` when `saveToken` accepted it before `close()`. With `only`,
   * the save must write the row with that id, and `check` must accept that row as stored.
   */
  async #saveOne(
    token: TokenLike,
    queued = false,
    only?: { id: string; check(row: TokenRecord | undefined): boolean },
  ): Promise<void> {
    const keys = lookupKeys(token);
    const operation = only ? 'saveTokenIfUnchanged' : 'saveToken';
    let written: TokenRecord | undefined;
    await this.#withFreshIds(operation, 1, queued, (newIds) => {
      const newId = newIds[0] as string;
      const extra: LookupKey[] = [{ column: 'id', value: newId }];
      if (only) extra.push({ column: 'id', value: only.id });
      return this.#backend.upsert([...keys, ...extra], (candidates) => {
        if (only && !only.check(candidates.find((row) => row.id === only.id))) throw tokenChanged(operation);
        const record = decideWrite(token, keys, candidates, newId, this.#passSealed);
        if (only && record.id !== only.id) throw tokenChanged(operation);
        written = record;
        return record;
      });
    });
    if (written) fillToken(token, written).setId(written.id);
  }

  /**
   * Saves many tokens with the same result as `saveToken` on each in order — matching, upsert,
   * kept and fresh ids (set on each token), no duplicates, even when tokens of one call match
   * each other — but in one transaction per 1,000 tokens when the backend has `upsertMany`.
   * Each such batch is atomic: a token that cannot be saved (`NOTHING_TO_SAVE`, `ID_CONFLICT`)
   * fails the call with nothing of its batch written; earlier batches stay saved. Without
   * `upsertMany` it checks the whole call first, then saves one token at a time.
   *
   * @example
   * ```ts
   * await store.saveTokens(await source.getTokens()); // ids kept, users matched
   * ```
   */
  async saveTokens(tokens: readonly object[]): Promise<void> {
    if (!Array.isArray(tokens)) {
      throw new TokenStoreError(TokenStoreErrorCode.INVALID_TOKEN, 'saveTokens: expected an array of tokens');
    }
    for (const token of tokens) assertToken(token, 'saveTokens');
    this.#assertOpen('saveTokens');
    const valid = tokens as readonly TokenLike[];
    if (this.#backend.upsertMany === undefined) {
      await this.#checkBatch(valid);
      for (const token of valid) await this.saveToken(token);
      return;
    }
    for (let start = 0; start < valid.length; start += BATCH_SIZE) {
      await this.#saveBatch(valid.slice(start, start + BATCH_SIZE));
    }
  }

  /**
   * Without an atomic `upsertMany`, plans the whole call against the stored rows before the first
   * write, so a token that cannot be saved fails the call with nothing written. Writers running
   * at the same time can still make a later token fail after earlier ones were saved.
   */
  async #checkBatch(tokens: readonly TokenLike[]): Promise<void> {
    const keys = tokens.map(lookupKeys);
    const candidates = new Map<string, TokenRecord>();
    for (const key of distinctKeys(keys.flat())) {
      for (const row of await this.#findBy(key, 'saveTokens')) candidates.set(row.id, row);
    }
    planBatch(tokens, keys, tokens.map(freshId), [...candidates.values()], this.#passSealed);
  }

  async #saveBatch(tokens: readonly TokenLike[]): Promise<void> {
    const { written } = await this.#upsertPlanned('saveTokens', tokens, false);
    tokens.forEach((token, i) => {
      const record = written[i] as TokenRecord;
      fillToken(token, record).setId(record.id);
    });
  }

  /**
   * One atomic `upsertMany` of `tokens` planned by {@link planBatch}, with fresh ids drawn again if
   * taken. `queued` for a group of `saveToken` calls: accepted before `close()`, each failing alone.
   */
  async #upsertPlanned(operation: string, tokens: readonly TokenLike[], queued: boolean): Promise<BatchPlan> {
    const backend = this.#backend as Required<Pick<RecordBackend, 'upsertMany'>>;
    const keys = tokens.map(lookupKeys);
    let plan: BatchPlan | undefined;
    await this.#withFreshIds(operation, tokens.length, queued, (newIds) =>
      backend.upsertMany(
        distinctKeys([...keys.flat(), ...newIds.map((value) => ({ column: 'id' as const, value }))]),
        (candidates) => {
          plan = planBatch(tokens, keys, newIds, candidates, this.#passSealed, queued);
          return plan.records;
        },
      ),
    );
    if (plan === undefined) failed(operation, new Error('the backend’s upsertMany returned without deciding'));
    return plan;
  }

  async deleteToken(id: string): Promise<void> {
    assertId(id, 'deleteToken');
    await this.#run('deleteToken', () => this.#backend.delete(id));
  }

  async getTokens(): Promise<T[]> {
    const rows = await this.#run('getTokens', () => this.#backend.list());
    return rows.map((row) => fillToken(this.#tokenFactory(), this.#readable(row, 'getTokens')));
  }

  /**
   * One page of tokens in id order ({@link PagedReads}): a range read on the id index where the
   * backend has `listPage`, else `list()` sorted by id (a file or a custom backend).
   *
   * @example
   * ```ts
   * const first = await store.getTokensPage(null, 1000);
   * const second = await store.getTokensPage(first.at(-1)?.getId() ?? null, 1000);
   * ```
   */
  async getTokensPage(after: string | null, limit: number): Promise<T[]> {
    if (after !== null) assertId(after, 'getTokensPage');
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new TypeError('getTokensPage: the limit must be a positive integer');
    }
    const rows = await this.#run('getTokensPage', async () => {
      const backend = this.#backend;
      if (backend.listPage) return backend.listPage(after, limit);
      const following = (await backend.list()).filter((row) => after === null || row.id > after);
      return following.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
    });
    return rows.map((row) => fillToken(this.#tokenFactory(), this.#readable(row, 'getTokensPage')));
  }

  /**
   * How many tokens the store holds: a count in the storage where the backend has `count`, else
   * the length of `list()`.
   *
   * @example
   * ```ts
   * console.log(`${await store.countTokens()} tokens`);
   * ```
   */
  async countTokens(): Promise<number> {
    return this.#run('countTokens', async () => {
      const backend = this.#backend;
      return backend.count ? backend.count() : (await backend.list()).length;
    });
  }

  async deleteTokens(): Promise<void> {
    await this.#run('deleteTokens', () => this.#backend.clear());
  }

  async findTokenById(id: string): Promise<T | null> {
    assertId(id, 'findTokenById');
    this.#assertOpen('findTokenById');
    const found = this.#findBy({ column: 'id', value: id }, 'findTokenById');
    const rows = Array.isArray(found) ? found : await found;
    return rows[0] ? fillToken(this.#tokenFactory(), this.#readable(rows[0], 'findTokenById')) : null;
  }

  /**
   * Whether this store keeps token activity: true when its backend has `touch` and `activity`.
   * When false, `recordUse`, `recordRevoked` and `getActivity` fail with `NOT_SUPPORTED`, and
   * `hasActivityTracking(store)` is false.
   */
  get tracksActivity(): boolean {
    return tracks(this.#backend);
  }

  /**
   * Records that the token with this id was used at `at` (ms since the epoch; fractions are
   * dropped). The later time wins; an id no token has is ignored.
   */
  async recordUse(id: string, at: number): Promise<void> {
    await this.#touch('recordUse', id, 'used', at);
  }

  /** Records that Zoho refused this token's refresh token at `at`. The later time wins; an unknown id is ignored. */
  async recordRevoked(id: string, at: number): Promise<void> {
    await this.#touch('recordRevoked', id, 'revoked', at);
  }

  /** The activity of every token that has any recorded. */
  async getActivity(): Promise<TokenActivity[]> {
    const backend = this.#tracking('getActivity');
    return [...(await this.#run('getActivity', () => backend.activity()))];
  }

  /**
   * Closes connections and handles once the calls already made have finished (every
   * `saveToken` already called is written); later calls fail with `CLOSED`. Safe to call twice;
   * a call after a failed close tries the backend's close again.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      await this.#writer;
      await this.#inFlight.settled();
      await this.#backend.close?.();
    })().catch((error: unknown) => {
      this.#closing = null;
      throw error;
    });
    return this.#closing;
  }

  async #touch(operation: string, id: string, event: 'used' | 'revoked', at: number): Promise<void> {
    assertId(id, operation);
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw new TypeError(`${operation}: the time must be a finite number of ms since the epoch`);
    }
    const backend = this.#tracking(operation);
    await this.#run(operation, () => backend.touch(id, event, Math.floor(at)));
  }

  /**
   * Runs an atomic write given `count` fresh ids, with new ones when the backend finds one taken.
   * A fresh id collides about once in 10^4 saves at 100k tokens; a few tries always suffice
   * unless the backend misreports its rows.
   */
  async #withFreshIds(
    operation: string,
    count: number,
    queued: boolean,
    write: (newIds: string[]) => Promise<void>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#run(operation, () => write(Array.from({ length: count }, freshId)), queued);
        return;
      } catch (error) {
        if (error !== ID_TAKEN) throw error;
        if (attempt === 5) failed(operation, new Error('every fresh id tried is already taken'));
      }
    }
  }

  #tracking(operation: string): TrackingBackend {
    if (!tracks(this.#backend)) {
      throw new TokenStoreError(
        TokenStoreErrorCode.NOT_SUPPORTED,
        `${operation}: this store does not track token activity`,
      );
    }
    return this.#backend;
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new TokenStoreError(TokenStoreErrorCode.CLOSED, `${operation}: the store is closed`);
  }

  /** The hot path of every lookup: a backend that answers synchronously costs no extra promise. */
  #findBy(key: LookupKey, operation: string): readonly TokenRecord[] | Promise<readonly TokenRecord[]> {
    try {
      const rows = this.#backend.findBy(key);
      return Array.isArray(rows)
        ? rows
        : this.#inFlight.track((rows as Promise<readonly TokenRecord[]>).catch((error) => failed(operation, error)));
    } catch (error) {
      return failed(operation, error);
    }
  }

  /**
   * Runs a backend call, turning any failure into a typed error that names no stored value.
   * `queued`: a save accepted before `close()`, which `close()` waits for.
   */
  #run<R>(operation: string, call: () => Promise<R>, queued = false): Promise<R> {
    return this.#inFlight.track(
      (async () => {
        if (!queued) this.#assertOpen(operation);
        try {
          return await call();
        } catch (error) {
          if (error === ID_TAKEN) throw error;
          return failed(operation, error);
        }
      })(),
    );
  }
}

/** Runs a queued save's work and settles its promise with the outcome; never rejects. */
async function settle(save: QueuedSave, work: () => Promise<void>): Promise<void> {
  try {
    await work();
    save.resolve();
  } catch (error) {
    save.reject(error);
  }
}

function tracks(backend: RecordBackend): backend is TrackingBackend {
  return typeof backend.touch === 'function' && typeof backend.activity === 'function';
}

function failed(operation: string, error: unknown): never {
  if (isTokenStoreError(error)) throw error;
  throw new TokenStoreError(TokenStoreErrorCode.STORAGE_FAILURE, `${operation} failed in the storage backend`, {
    cause: error,
  });
}

/** What `saveToken` writes, given the rows that match any of its keys. */
function decideWrite(
  token: TokenLike,
  keys: readonly LookupKey[],
  candidates: readonly TokenRecord[],
  newId: string,
  passSealed: boolean,
): TokenRecord {
  const rowsFor = (key: LookupKey) => candidates.filter((row) => lookupValue(row, key.column) === key.value);
  const existing = firstMatch(token, keys, rowsFor);
  if (!passSealed) {
    if (existing) refuseSealed(existing, 'saveToken');
    refuseSealed(recordOf(token, existing?.id ?? 'to save'), 'saveToken');
  }
  if (existing) {
    const incoming = recordOf(token, existing.id);
    return mergeOver({ ...incoming, userName: savedUserName(incoming.userName, existing.userName) }, existing);
  }

  if (!hasCredential(token)) {
    throw new TokenStoreError(
      TokenStoreErrorCode.NOTHING_TO_SAVE,
      'saveToken: the token has no grant, refresh or access token, and matches no stored token',
    );
  }
  const ownId = token.getId();
  if (ownId != null && ownId !== '') {
    if (candidates.some((row) => row.id === ownId)) {
      throw new TokenStoreError(TokenStoreErrorCode.ID_CONFLICT, 'saveToken: the token id belongs to another user');
    }
    return recordOf(token, ownId);
  }
  if (candidates.some((row) => row.id === newId)) throw ID_TAKEN;
  return recordOf(token, newId);
}

function distinctKeys(keys: readonly LookupKey[]): LookupKey[] {
  const seen = new Map<string, LookupKey>();
  for (const key of keys) seen.set(`${key.column}\u0000${key.value}`, key);
  return [...seen.values()];
}

/** What a batch writes: per token its record or (isolated) its error, and the final version of every row. */
interface BatchPlan {
  written: (TokenRecord | undefined)[];
  failures: (TokenStoreError | undefined)[];
  records: TokenRecord[];
}

/**
 * What a batch writes: each token decided as `saveToken` would, in order, against the stored
 * candidates overlaid with the batch's own earlier writes, so tokens of one batch match each other.
 * A token that cannot be saved throws, or with `isolate` gets its error in `failures` and is
 * skipped, as a failed `saveToken` would be.
 */
function planBatch(
  tokens: readonly TokenLike[],
  keys: readonly (readonly LookupKey[])[],
  newIds: readonly string[],
  candidates: readonly TokenRecord[],
  passSealed: boolean,
  isolate = false,
): BatchPlan {
  const rows = new Map<string, TokenRecord>();
  const index = new Map<string, Set<string>>();
  const slot = (column: LookupColumn, value: string) => `${column}\u0000${value}`;
  const put = (row: TokenRecord) => {
    const old = rows.get(row.id);
    for (const column of INDEXED) {
      const oldValue = old === undefined ? null : lookupValue(old, column);
      if (oldValue != null) index.get(slot(column, oldValue))?.delete(row.id);
      const value = lookupValue(row, column);
      if (value == null) continue;
      const ids = index.get(slot(column, value)) ?? new Set<string>();
      index.set(slot(column, value), ids.add(row.id));
    }
    rows.set(row.id, row);
  };
  const rowsFor = (key: LookupKey): TokenRecord[] => {
    if (key.column === 'id') {
      const row = rows.get(key.value);
      return row ? [row] : [];
    }
    return [...(index.get(slot(key.column, key.value)) ?? [])].map((id) => rows.get(id) as TokenRecord);
  };
  for (const row of candidates) put(row);
  const changed = new Set<string>();
  const failures: (TokenStoreError | undefined)[] = [];
  const written = tokens.map((token, i) => {
    const newId = newIds[i] as string;
    const tokenKeys = keys[i] as readonly LookupKey[];
    const own = new Map<string, TokenRecord>();
    for (const key of [...tokenKeys, { column: 'id' as const, value: newId }]) {
      for (const row of rowsFor(key)) own.set(row.id, row);
    }
    let record: TokenRecord;
    try {
      record = decideWrite(token, tokenKeys, [...own.values()], newId, passSealed);
    } catch (error) {
      if (!isolate || !isTokenStoreError(error)) throw error;
      failures[i] = error;
      return undefined;
    }
    put(record);
    changed.add(record.id);
    return record;
  });
  return { written, failures, records: [...changed].map((id) => rows.get(id) as TokenRecord) };
}

/** The new record, with every field it leaves null kept from the stored row. */
function mergeOver(incoming: TokenRecord, stored: TokenRecord): TokenRecord {
  const merged: Record<string, string | null> = { ...incoming };
  for (const [field, value] of Object.entries(stored)) merged[field] ??= value;
  return merged as unknown as TokenRecord;
}
