import { randomInt } from 'node:crypto';
import { isTokenStoreError, TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { OAuthToken, type TokenLike } from '../token/oauth-token.js';
import { fillToken, isTokenLike, recordOf, type TokenRecord } from '../token/token-record.js';
import { belongsTo, firstMatch, hasCredential, lookupKeys } from './matching.js';
import type { LookupKey, RecordBackend } from './record-backend.js';
import type { TokenStore } from './token-store.js';

/** Options every built-in store takes. */
export interface StoreOptions<T extends TokenLike> {
  /**
   * Makes the empty tokens that `getTokens` and `findTokenById` fill and return. Defaults to
   * our `OAuthToken`. As the store of the official SDK, pass one that makes the SDK's class:
   * `() => Reflect.construct(OAuthToken, [])` with the SDK's `OAuthToken`.
   */
  tokenFactory?: () => T;
}

// Ten digits, like the official DBStore's numeric ids, so they fit its `id varchar(10)` and its
// own `max(id) + 1` keeps working on a shared table. Random, so concurrent inserts need no counter.
const MIN_ID = 1_000_000_000;
const MAX_ID = 9_000_000_000;
const freshId = (): string => String(randomInt(MIN_ID, MAX_ID));

const ID_TAKEN = Symbol('fresh id taken');

/**
 * Turns a {@link RecordBackend} into a {@link TokenStore} with the article's semantics. Every
 * built-in store extends it; a custom store can too, by writing only a backend.
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
export class RecordTokenStore<T extends TokenLike = OAuthToken> implements TokenStore<T> {
  readonly #backend: RecordBackend;
  readonly #tokenFactory: () => T;
  #closed = false;

  constructor(backend: RecordBackend, options: StoreOptions<T> = {}) {
    this.#backend = backend;
    this.#tokenFactory = options.tokenFactory ?? (() => new OAuthToken() as unknown as T);
  }

  // Typed wider than TokenLike (and checked at run time) so a store also fits the official SDK's
  // `TokenStore` type, whose `Token` interface names none of the accessors.
  async findToken<U extends object>(token: U): Promise<U | null> {
    assertToken(token, 'findToken');
    this.#assertOpen('findToken');
    for (const key of lookupKeys(token)) {
      const found = this.#findBy(key, 'findToken');
      const rows = Array.isArray(found) ? found : await found;
      for (const row of rows) if (belongsTo(token, key, row)) return fillToken(token, row);
    }
    return null;
  }

  async saveToken(token: object): Promise<void> {
    assertToken(token, 'saveToken');
    const keys = lookupKeys(token);
    // A fresh id collides about once in 10^5 saves at 100k tokens; a few tries always suffice
    // unless the backend misreports its rows.
    for (let attempt = 1; ; attempt++) {
      const newId = freshId();
      let written: TokenRecord | undefined;
      try {
        await this.#run('saveToken', () =>
          this.#backend.upsert([...keys, { column: 'id', value: newId }], (candidates) => {
            written = decideWrite(token, keys, candidates, newId);
            return written;
          }),
        );
      } catch (error) {
        if (error !== ID_TAKEN) throw error;
        if (attempt === 5) failed('saveToken', new Error('every fresh id tried is already taken'));
        continue;
      }
      if (written) fillToken(token, written).setId(written.id);
      return;
    }
  }

  async deleteToken(id: string): Promise<void> {
    assertId(id, 'deleteToken');
    await this.#run('deleteToken', () => this.#backend.delete(id));
  }

  async getTokens(): Promise<T[]> {
    const rows = await this.#run('getTokens', () => this.#backend.list());
    return rows.map((row) => fillToken(this.#tokenFactory(), row));
  }

  async deleteTokens(): Promise<void> {
    await this.#run('deleteTokens', () => this.#backend.clear());
  }

  async findTokenById(id: string): Promise<T | null> {
    assertId(id, 'findTokenById');
    this.#assertOpen('findTokenById');
    const found = this.#findBy({ column: 'id', value: id }, 'findTokenById');
    const rows = Array.isArray(found) ? found : await found;
    return rows[0] ? fillToken(this.#tokenFactory(), rows[0]) : null;
  }

  /** Closes connections and handles; later calls fail with `CLOSED`. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#backend.close?.();
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
        : (rows as Promise<readonly TokenRecord[]>).catch((error) => failed(operation, error));
    } catch (error) {
      return failed(operation, error);
    }
  }

  /** Runs a backend call, turning any failure into a typed error that names no stored value. */
  async #run<R>(operation: string, call: () => Promise<R>): Promise<R> {
    this.#assertOpen(operation);
    try {
      return await call();
    } catch (error) {
      if (error === ID_TAKEN) throw error;
      return failed(operation, error);
    }
  }
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
): TokenRecord {
  const rowsFor = (key: LookupKey) => candidates.filter((row) => row[key.column] === key.value);
  const existing = firstMatch(token, keys, rowsFor);
  if (existing) return mergeOver(recordOf(token, existing.id), existing);

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

/** The new record, with every field it leaves null kept from the stored row. */
function mergeOver(incoming: TokenRecord, stored: TokenRecord): TokenRecord {
  const merged: Record<string, string | null> = { ...incoming };
  for (const [field, value] of Object.entries(stored)) merged[field] ??= value;
  return merged as unknown as TokenRecord;
}

function assertToken(token: unknown, operation: string): asserts token is TokenLike {
  if (!isTokenLike(token)) {
    throw new TokenStoreError(
      TokenStoreErrorCode.INVALID_TOKEN,
      `${operation}: expected an OAuthToken (an object with getAccessToken(), getUserSignature(), …)`,
    );
  }
}

function assertId(id: unknown, operation: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TokenStoreError(TokenStoreErrorCode.INVALID_ID, `${operation}: the id must be a non-empty string`);
  }
}
