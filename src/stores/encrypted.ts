import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { type RefreshLock, tokenLockKey } from '../lifecycle/refresh-lock.js';
import { type ConditionalSave, sameVersion, tokenChanged } from '../store/conditional-save.js';
import { InFlight } from '../store/in-flight.js';
import { lookupKeys, savedUserName } from '../store/matching.js';
import { freshId, type PagedReads } from '../store/record-token-store.js';
import { isSealedValue } from '../store/sealed-values.js';
import { type ActivityTracking, hasActivityTracking } from '../store/token-activity.js';
import { assertId, assertToken } from '../store/token-arguments.js';
import type { TokenStore } from '../store/token-store.js';
import { OAuthToken, type TokenLike } from '../token/oauth-token.js';
import { fillToken, recordOf, type TokenRecord, userNameOf } from '../token/token-record.js';
import { ROW_BINDING, type SecretField, TokenCipher } from './token-cipher.js';

export { generateKey } from './token-cipher.js';
export { isSealedValue };

/**
 * Options of {@link EncryptedStore}.
 *
 * @example
 * ```ts
 * const options: EncryptedStoreOptions = { keys: `${generateKey('k2')},${process.env.OLD_KEY}` };
 * const store = new EncryptedStore(new SQLiteStore(), options);
 * ```
 */
export interface EncryptedStoreOptions {
  /**
   * The keyring: `id:base64key[,id:base64key…]`, 32-byte keys, the first used for every write
   * and the others only to read values not yet re-encrypted. Default: `process.env.ZOHO_TOKEN_KEY`.
   */
  keys?: string;
  /**
   * Migration mode, until `rekey` has moved every row to the current format: secrets stored in
   * plain text (a store written before encryption was turned on) are read as they are and found
   * by their plain values, and rows of format 1 (written by an earlier version) are read and
   * found. Default false: such a row fails with `NOT_ENCRYPTED` or `OLD_FORMAT`, so a value
   * someone wrote around the encryption, or copied from an old row, is never taken for a token.
   */
  migration?: boolean;
}

/**
 * Options of {@link EncryptedStore.rekey}.
 *
 * @example
 * ```ts
 * const options: RekeyOptions = { concurrency: 2, onProgress: (done, stale) => console.log(`${done}/${stale}`) };
 * await store.rekey(options);
 * ```
 */
export interface RekeyOptions {
  /**
   * Tokens rewritten at a time. Default 4. Each holds the inner store's refresh lock, which on
   * MySQL and PostgreSQL is a pooled connection of its own: keep this below the pool's size.
   */
  concurrency?: number;
  /** Called after each token with how many of the stale ones are done. */
  onProgress?: (done: number, stale: number) => void;
}

/**
 * What {@link EncryptedStore.rekey} did.
 *
 * @example
 * ```ts
 * const { rekeyed, total }: RekeyResult = await store.rekey();
 * console.log(`${rekeyed} of ${total} tokens re-encrypted`);
 * ```
 */
export interface RekeyResult {
  /** Tokens re-encrypted under the primary key (plain ones included). */
  rekeyed: number;
  /** Tokens in the store. */
  total: number;
}

/**
 * What {@link EncryptedStore.verifyKey} found.
 *
 * @example
 * ```ts
 * const { checked, stale }: KeyCheck = await store.verifyKey();
 * ```
 */
export interface KeyCheck {
  /** Tokens whose every secret decrypted. */
  checked: number;
  /** Of those, tokens with a value still plain or under an older key: `rekey` would rewrite them. */
  stale: number;
}

interface BulkSaving {
  saveTokens(tokens: readonly TokenLike[]): Promise<void>;
}

const SECRETS = [
  { field: 'clientSecret', get: (t) => t.getClientSecret(), set: (t, v) => t.setClientSecret(v) },
  { field: 'grantToken', get: (t) => t.getGrantToken(), set: (t, v) => t.setGrantToken(v) },
  { field: 'refreshToken', get: (t) => t.getRefreshToken(), set: (t, v) => t.setRefreshToken(v) },
  { field: 'accessToken', get: (t) => t.getAccessToken(), set: (t, v) => t.setAccessToken(v) },
] as const satisfies readonly {
  field: SecretField & keyof TokenRecord;
  get(token: TokenLike): string | null;
  set(token: TokenLike, value: string | null): void;
}[];

/** How a lookup by value is tried: the blind index of a key, the format-1 form of a key, or (migration) plain. */
type Attempt = { readonly format: 'index' | 'legacy'; readonly keyId: string } | { readonly format: 'plain' };

/**
 * Stands in for a client secret in a lookup: the store only checks that one is there (the rule
 * for grant and refresh token matches), never its value, and a lookup writes nothing.
 */
const ANY_CLIENT_SECRET = 'enc:v2:lookup';

/**
 * Encryption at rest for any {@link TokenStore}: the client secret and the grant, refresh and
 * access tokens of each row are sealed together with AES-256-GCM under a random nonce, bound to
 * that row (its id and plain fields are the additional data), and kept in the `client_secret`
 * column; the grant, refresh and access token columns hold keyed blind indexes (HMAC-SHA256), so
 * lookups by token value still work and no secret reaches the storage in any form it could use.
 * The id, user name, client id, redirect URL, expiry and API domain stay plain, so matching and
 * admin listings work; the id, user name, client id and API domain are authenticated: a row
 * where one of them was rewritten, or whose sealed secrets were copied from another row, fails
 * to open (`WRONG_KEY`), and an index that does not match its row's secrets fails with
 * `CORRUPT_DATA`. (The redirect URL and expiry are not bound: rewritten, they cost at most a
 * refresh or a refused exchange.) A value under a key id the keyring
 * lacks fails with `UNKNOWN_KEY`. Error messages name fields, token ids and key ids, never a
 * secret or a key. See docs/security.md for what this defends against, and what it does not.
 *
 * Every save reads the row first and rewrites all its secrets (the row is sealed as one), so two
 * processes saving different fields of one token at the same instant keep the later save whole.
 * A row written by an earlier version (format 1, `enc:v1:`, whose values are not bound to their
 * row) fails with `OLD_FORMAT`, and a secret stored in plain text with `NOT_ENCRYPTED`, unless
 * `migration` is on: the mode that reads such rows until `rekey` has moved them to the current
 * format. The store it wraps hands out its encrypted values only to this store
 * (`passSealedValues`): opened without the key, it fails with `NO_KEY` instead.
 *
 * The inner store's refresh lock (`withRefreshLock`), conditional save (`saveTokenIfUnchanged`),
 * activity tracking (`recordUse`, `recordRevoked`, `getActivity`), bulk `saveTokens` and paged
 * reads (`getTokensPage`, `countTokens`) are offered exactly when it has them.
 * An encrypted table holds ciphertext the official SDK's own DBStore cannot read: do not share
 * it with that SDK's stores.
 *
 * @example
 * ```ts
 * import { OAuthToken } from 'zoho-token-store';
 * import { EncryptedStore } from 'zoho-token-store/stores/encrypted';
 * import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
 *
 * // ZOHO_TOKEN_KEY='k1:<32 random bytes, base64>' (generateKey() makes one)
 * const store = new EncryptedStore(new SQLiteStore());
 * await store.saveToken(new OAuthToken({ userName: 'ana@zylker.com', refreshToken: '1000.r…', accessToken: '1000.a…' }));
 * const token = await store.findToken(new OAuthToken({ userName: 'ana@zylker.com' }));
 * token?.getRefreshToken(); // '1000.r…', stored sealed in the row's client_secret column
 * await store.close();
 * ```
 */
export class EncryptedStore<T extends TokenLike = OAuthToken> implements TokenStore<T> {
  readonly #inner: TokenStore<T>;
  /** Saves under way (a lookup, then the inner save): `close()` lets them finish. */
  readonly #saving = new InFlight();
  /** The last save of this instance: saves run one at a time, so none reads a row another is rewriting. */
  #lastSave: Promise<unknown> = Promise.resolve();
  readonly #cipher: TokenCipher;
  readonly #migration: boolean;

  /** The inner store's refresh lock; present only when it has one. */
  declare readonly withRefreshLock?: RefreshLock['withRefreshLock'];
  /**
   * {@link ConditionalSave}: the row is read, checked against `read` in plain text, merged and
   * sealed, then written only if the stored row is still the one read, sealed secrets and all
   * (a fresh nonce every write makes each version distinct). Present only when the inner store
   * has a conditional save. @throws TokenStoreError `TOKEN_CHANGED` when the row changed or is gone.
   */
  declare readonly saveTokenIfUnchanged?: ConditionalSave['saveTokenIfUnchanged'];
  /** Forwarded to the inner store; present only when it has activity methods. */
  declare readonly recordUse?: ActivityTracking['recordUse'];
  /** Forwarded to the inner store; present only when it has activity methods. */
  declare readonly recordRevoked?: ActivityTracking['recordRevoked'];
  /** Forwarded to the inner store; present only when it has activity methods. */
  declare readonly getActivity?: ActivityTracking['getActivity'];
  /** Saves many tokens encrypted, through the inner store's `saveTokens`; present only when it has one. */
  declare readonly saveTokens?: (tokens: readonly TokenLike[]) => Promise<void>;
  /**
   * A page of the inner store's tokens in id order, decrypted; present only when the inner store
   * has paged reads (`getTokensPage` and `countTokens`). @throws TokenStoreError as `getTokens`.
   */
  declare readonly getTokensPage?: PagedReads<T>['getTokensPage'];
  /** Forwarded to the inner store; present only when it has paged reads. */
  declare readonly countTokens?: PagedReads<T>['countTokens'];

  /** @throws TokenStoreError `NO_KEY` when no keyring is given nor in `ZOHO_TOKEN_KEY`, or it is malformed. */
  constructor(inner: TokenStore<T>, options: EncryptedStoreOptions = {}) {
    this.#cipher = new TokenCipher(options.keys ?? process.env.ZOHO_TOKEN_KEY);
    this.#migration = options.migration === true;
    this.#inner = inner;
    // A built-in store refuses its encrypted values to anyone else (NO_KEY); to this store it hands them out.
    (inner as { passSealedValues?: () => unknown }).passSealedValues?.();
    // Members are added only when the inner store has them, so hasRefreshLock() and
    // hasActivityTracking() say of this store what they say of the inner one.
    const source = inner as TokenStore<T> &
      Partial<RefreshLock & ActivityTracking & BulkSaving & PagedReads<T> & ConditionalSave>;
    const { withRefreshLock: lock, recordUse, recordRevoked, getActivity, saveTokens } = source;
    const { saveTokenIfUnchanged } = source;
    const { getTokensPage, countTokens } = source;
    if (typeof lock === 'function') this.withRefreshLock = lock.bind(source);
    if (typeof saveTokenIfUnchanged === 'function') {
      const saveIf = saveTokenIfUnchanged.bind(source);
      this.saveTokenIfUnchanged = (token, read) => this.#oneAtATime(() => this.#saveIfUnchanged(token, read, saveIf));
    }
    if (typeof getActivity === 'function' && typeof recordUse === 'function' && typeof recordRevoked === 'function') {
      this.recordUse = recordUse.bind(source);
      this.recordRevoked = recordRevoked.bind(source);
      this.getActivity = getActivity.bind(source);
    }
    if (typeof saveTokens === 'function') {
      this.saveTokens = (tokens) => this.#oneAtATime(() => this.#saveMany(tokens, saveTokens.bind(source)));
    }
    if (typeof getTokensPage === 'function' && typeof countTokens === 'function') {
      this.getTokensPage = async (after, limit) => {
        const tokens = await getTokensPage.call(source, after, limit);
        for (const token of tokens) this.#openInPlace(token);
        return tokens;
      };
      this.countTokens = countTokens.bind(source);
    }
  }

  /** Whether the inner store tracks token activity (`hasActivityTracking` of it). */
  get tracksActivity(): boolean {
    return hasActivityTracking(this.#inner);
  }

  /** The id of the key every write is encrypted under (the keyring's first). */
  get primaryKeyId(): string {
    return this.#cipher.primaryId;
  }

  /** `findToken` by the article's rules, matching token values by their blind indexes; fills the given token decrypted. */
  async findToken<U extends object>(token: U): Promise<U | null> {
    assertToken(token, 'findToken');
    const found = await this.#find(token);
    if (found === null) return null;
    fillToken(token, found.opened);
    return token;
  }

  /** Saves the token with its row sealed under the primary key; sets its id as every store does. */
  async saveToken(token: object): Promise<void> {
    assertToken(token, 'saveToken');
    await this.#oneAtATime(async () => this.#fill(token, await this.#write(await this.#planned(token))));
  }

  /**
   * Runs a save after the ones before it. A row is sealed whole, so a save reads it, merges and
   * writes it back: two at once could each drop what the other wrote. Saves of one instance
   * therefore queue; two processes saving different fields of one token at the same instant keep
   * the later save whole (docs/security.md).
   */
  #oneAtATime(save: () => Promise<void>): Promise<void> {
    const run = this.#lastSave.then(save, save);
    this.#lastSave = run.catch(() => undefined);
    return this.#saving.track(run);
  }

  /** Deletes the token with this id (forwarded). */
  async deleteToken(id: string): Promise<void> {
    await this.#inner.deleteToken(id);
  }

  /** Every stored token, decrypted. @throws TokenStoreError `UNKNOWN_KEY`, `WRONG_KEY`, `CORRUPT_DATA` or `NOT_ENCRYPTED`. */
  async getTokens(): Promise<T[]> {
    const tokens = await this.#inner.getTokens();
    for (const token of tokens) this.#openInPlace(token);
    return tokens;
  }

  /** Deletes every token (forwarded). */
  async deleteTokens(): Promise<void> {
    await this.#inner.deleteTokens();
  }

  /** The token with this id, decrypted, or `null`. @throws TokenStoreError as `getTokens`. */
  async findTokenById(id: string): Promise<T | null> {
    const token = await this.#inner.findTokenById(id);
    if (token !== null) this.#openInPlace(token);
    return token;
  }

  /** Closes the inner store, when it can be closed, once the saves already called have finished. */
  async close(): Promise<void> {
    await this.#saving.settled();
    await (this.#inner as { close?: () => Promise<void> }).close?.();
  }

  /**
   * Re-encrypts in the current format, under the primary key, every token still in format 1,
   * under an older key or (in `migration` mode) in plain text, so older keys can then
   * leave the keyring. Every stored token is decrypted and checked before the first write, so a
   * value under a key the keyring lacks (`UNKNOWN_KEY`), a primary key that does not open the
   * values already under its id (`WRONG_KEY`) or an altered row stops the run having changed
   * nothing. Each token is re-read and rewritten by its id, inside the inner store's refresh lock
   * for that token when it has one (the lock a TokenManager holds while it refreshes), so a
   * concurrent refresh is not undone. A few tokens are rewritten at a time (`concurrency`); a
   * failure stops the run once those settle, and what was rewritten stays rewritten. Safe to
   * re-run: current tokens are skipped.
   *
   * @example
   * ```ts
   * // ZOHO_TOKEN_KEY='k2:…,k1:…': new key first, old key still there to read with.
   * const { rekeyed, total } = await new EncryptedStore(new SQLiteStore()).rekey();
   * ```
   */
  async rekey(options: RekeyOptions = {}): Promise<RekeyResult> {
    const { concurrency = 4, onProgress } = options;
    const rows = (await this.#inner.getTokens()).map(storedRecord);
    // Every token, current ones too: a primary key with the right id but the wrong bytes must
    // fail here, before it seals anything under itself.
    for (const row of rows) this.#open(row);
    const stale = rows.filter((row) => !this.#cipher.isCurrent(row));
    let [next, done, rekeyed] = [0, 0, 0];
    let failure: { error: unknown } | undefined;
    // A few tokens in flight: each is a lock, a read and a write, mostly network waits.
    const worker = async () => {
      while (failure === undefined && next < stale.length) {
        const row = stale[next++] as TokenRecord;
        try {
          if (await this.#rekeyOne(row.id)) rekeyed++;
        } catch (error) {
          failure ??= { error };
          return;
        }
        onProgress?.(++done, stale.length);
      }
    };
    // Every worker settles before this returns or throws, so the store can be closed at once.
    await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), stale.length) }, worker));
    if (failure !== undefined) throw failure.error;
    return { rekeyed, total: rows.length };
  }

  /**
   * Decrypts and checks every stored token, as a check that the keyring can read the store and
   * that no row was altered (`zoho-tokens doctor` runs it). Fails with `UNKNOWN_KEY`,
   * `WRONG_KEY`, `CORRUPT_DATA` or `NOT_ENCRYPTED` at the first row it cannot read.
   *
   * @example
   * ```ts
   * const { checked, stale } = await store.verifyKey();
   * if (stale > 0) console.warn(`${stale} tokens are not under key ${store.primaryKeyId}: run zoho-tokens rekey`);
   * ```
   */
  async verifyKey(): Promise<KeyCheck> {
    const rows = (await this.#inner.getTokens()).map(storedRecord);
    for (const row of rows) this.#open(row);
    return { checked: rows.length, stale: rows.filter((row) => !this.#cipher.isCurrent(row)).length };
  }

  async #rekeyOne(id: string): Promise<boolean> {
    let rekeyed = false;
    // Re-read inside the lock and behind this instance's saves: the token may have been
    // refreshed, signed in again or deleted since the listing.
    const work = () =>
      this.#oneAtATime(async () => {
        const current = await this.#inner.findTokenById(id);
        if (current === null) return;
        const row = storedRecord(current);
        if (this.#cipher.isCurrent(row)) return;
        await this.#write(this.#open(row));
        rekeyed = true;
      });
    await (this.withRefreshLock ? this.withRefreshLock(tokenLockKey(id), work) : work());
    return rekeyed;
  }

  /** A fresh id no row has: a token sealed for an id another row holds would be merged into it. */
  async #freeId(): Promise<string> {
    for (;;) {
      const id = freshId();
      if ((await this.#inner.findTokenById(id)) === null) return id;
    }
  }

  /**
   * The stored row the article's rules find for this token, and its plaintext. A lookup by token
   * value is tried by the blind index under each key, then (in migration mode) in format 1 under
   * each key and as plain text; a lookup by user name or id needs one try. The row is then
   * read again by its id, whole, since the store fills only what the lookup left out.
   */
  async #find(token: TokenLike): Promise<{ stored: TokenRecord; opened: TokenRecord } | null> {
    for (const attempt of this.#attempts(token)) {
      const probe = this.#probe(token, attempt);
      if (!(await this.#inner.findToken(probe))) continue;
      let row = await this.#inner.findTokenById(probe.getId() as string);
      // The store fills the probe's id only when it has none: with an id of its own, the token
      // may have matched by user name or token value instead. Then ask again without the id.
      if (nonEmpty(token.getId()) !== null && (row === null || !sameUser(token, row))) {
        probe.setId(null);
        if (!(await this.#inner.findToken(probe))) continue;
        row = await this.#inner.findTokenById(probe.getId() as string);
      }
      // Deleted in between: the token is gone, as it would be a moment later.
      if (row === null) return null;
      const stored = storedRecord(row);
      return { stored, opened: this.#open(stored) };
    }
    return null;
  }

  #attempts(token: TokenLike): readonly Attempt[] {
    const ids = this.#cipher.keyIds;
    const byValue = lookupKeys(token).some((key) => !['userName', 'userEmail', 'id'].includes(key.column));
    if (!byValue) return [{ format: 'index', keyId: this.#cipher.primaryId }];
    const current = ids.map((keyId) => ({ format: 'index', keyId }) as const);
    if (!this.#migration) return current;
    return [...current, ...ids.map((keyId) => ({ format: 'legacy', keyId }) as const), { format: 'plain' } as const];
  }

  /** A copy of the token to look it up by: its token values in the attempt's stored form. */
  #probe(token: TokenLike, attempt: Attempt): OAuthToken {
    const probe = new OAuthToken({
      id: token.getId() ?? null,
      clientId: token.getClientId() ?? null,
      redirectURL: token.getRedirectURL() ?? null,
      expiresIn: token.getExpiresIn() ?? null,
      apiDomain: token.getAPIDomain() ?? null,
    });
    probe.setUserSignature(token.getUserSignature() ?? null);
    for (const { field, get, set } of SECRETS) {
      const value = get(token) ?? null;
      if (value === null || attempt.format === 'plain') set(probe, value);
      else if (field === 'clientSecret') set(probe, ANY_CLIENT_SECRET);
      else if (attempt.format === 'index') set(probe, this.#cipher.index(field, value, attempt.keyId));
      else set(probe, this.#cipher.legacyIndex(field, value, attempt.keyId));
    }
    return probe;
  }

  /**
   * The plaintext record a save of this token writes: its own values over those of the row it
   * matches (decrypted; one that cannot be read fails the save, so nothing unreadable is ever
   * overwritten), under that row's id, else its own id or a fresh one, so the row is sealed
   * for the id it will have.
   */
  async #planned(token: TokenLike): Promise<TokenRecord> {
    const found = await this.#find(token);
    return mergedOver(
      token,
      found?.opened ?? null,
      found?.stored.id ?? nonEmpty(token.getId()) ?? (await this.#freeId()),
    );
  }

  /**
   * The conditional save: the row of `read` is read and opened, compared with `read` in plain
   * text, and the token merged over it is sealed and written through the inner store's
   * conditional save, which compares the stored row as it was read here, in the same atomic step.
   */
  async #saveIfUnchanged(token: unknown, read: unknown, saveIf: ConditionalSave['saveTokenIfUnchanged']) {
    const operation = 'saveTokenIfUnchanged';
    assertToken(token, operation);
    assertToken(read, operation);
    const id = read.getId();
    assertId(id, operation);
    const stored = await this.#inner.findTokenById(id);
    if (stored === null) throw tokenChanged(operation);
    const opened = this.#open(storedRecord(stored));
    if (!sameVersion(opened, recordOf(read, id))) throw tokenChanged(operation);
    const record = mergedOver(token, opened, id);
    await saveIf(fillToken(new OAuthToken(), this.#cipher.sealRow(record)), stored);
    this.#fill(token, record);
  }

  /**
   * Writes a plaintext record sealed. The inner store matches the row again atomically and keeps
   * the stored value of every field the record leaves null; when that changes a field the row
   * is bound to (another process saved the same token meanwhile), the row is sealed again as
   * written, so it always opens. Returns the record as written.
   */
  async #write(planned: TokenRecord): Promise<TokenRecord> {
    let record = planned;
    for (let attempt = 1; ; attempt++) {
      const sealed = fillToken(new OAuthToken(), this.#cipher.sealRow(record));
      await this.#inner.saveToken(sealed);
      const written = recordOf(sealed, sealed.getId() ?? record.id);
      const moved = ROW_BINDING.filter((field) => written[field] !== record[field]);
      if (moved.length === 0) return record;
      if (attempt === 3) {
        throw new TokenStoreError(
          TokenStoreErrorCode.STORAGE_FAILURE,
          'saveToken: the token kept changing under concurrent saves; try again',
        );
      }
      record = rebound(record, written, moved);
    }
  }

  /**
   * `saveTokens` sealed: every token planned against its stored row, then one bulk save. Tokens
   * of one call that name the same user or token value would be merged by the inner store after
   * they were sealed apart, so such a call is saved one token at a time instead.
   */
  async #saveMany(tokens: readonly TokenLike[], saveTokens: (tokens: readonly TokenLike[]) => Promise<void>) {
    for (const token of tokens) assertToken(token, 'saveTokens');
    const planned = await Promise.all(tokens.map((token) => this.#planned(token)));
    if (sharesARow(planned)) {
      for (const [i, token] of tokens.entries()) {
        this.#fill(token, await this.#write(i === 0 ? (planned[0] as TokenRecord) : await this.#planned(token)));
      }
      return;
    }
    const sealed = planned.map((record) => fillToken(new OAuthToken(), this.#cipher.sealRow(record)));
    await saveTokens(sealed);
    for (const [i, token] of tokens.entries()) {
      const record = planned[i] as TokenRecord;
      const written = recordOf(sealed[i] as OAuthToken, sealed[i]?.getId() ?? record.id);
      // Another process saved the same token meanwhile: that row is sealed again as written.
      const moved = ROW_BINDING.filter((field) => written[field] !== record[field]);
      this.#fill(token, moved.length === 0 ? record : await this.#write(rebound(record, written, moved)));
    }
  }

  /** Fills what the caller's token lacks from the record saved, and sets its id. */
  #fill(token: TokenLike, record: TokenRecord): void {
    fillToken(token, record);
    token.setId(record.id);
  }

  #open(stored: TokenRecord): TokenRecord {
    return this.#cipher.openRow(stored, `token ${stored.id}`, this.#migration);
  }

  /** Decrypts a token from the inner store in place. */
  #openInPlace(token: TokenLike): void {
    const opened = this.#open(storedRecord(token));
    for (const { field, set } of SECRETS) set(token, opened[field]);
  }
}

/** The token's own values over those of the stored row (plain text) it is saved into, under `id`. */
function mergedOver(token: TokenLike, opened: TokenRecord | null, id: string): TokenRecord {
  const merged: Record<string, string | null> = { ...recordOf(token, id) };
  if (opened) merged.userName = savedUserName(merged.userName ?? null, opened.userName);
  if (opened) for (const [field, value] of Object.entries(opened)) merged[field] ??= value;
  return merged as unknown as TokenRecord;
}

/** The record with the moved fields as the store wrote them. */
function rebound(record: TokenRecord, written: TokenRecord, moved: readonly (keyof TokenRecord)[]): TokenRecord {
  const result: Record<string, string | null> = { ...record };
  for (const field of moved) result[field] = written[field];
  return result as unknown as TokenRecord;
}

/**
 * Whether two planned records name the same row: the same user name or token value, or the same
 * id without a user name. (Two of different users that share an id are an id conflict, which
 * the inner store refuses for the whole call.)
 */
function sharesARow(records: readonly TokenRecord[]): boolean {
  const seen = new Set<string>();
  for (const record of records) {
    for (const field of ['id', 'userName', 'grantToken', 'refreshToken', 'accessToken'] as const) {
      if (field === 'id' && record.userName !== null) continue;
      const value = record[field];
      if (value === null || value === '') continue;
      const key = `${field}\u0000${value}`;
      if (seen.has(key)) return true;
      seen.add(key);
    }
  }
  return false;
}

/** Whether a stored token may be the token's row: not another user's. */
function sameUser(token: TokenLike, row: TokenLike): boolean {
  const [wanted, stored] = [userNameOf(token), userNameOf(row)];
  return wanted === null || stored === null || wanted === stored;
}

/** The record of a token read from the inner store, under its own id. */
function storedRecord(token: TokenLike): TokenRecord {
  return recordOf(token, token.getId() ?? '');
}

const nonEmpty = (value: string | null | undefined): string | null =>
  typeof value === 'string' && value !== '' ? value : null;
