import { type RefreshLock, tokenLockKey } from '../lifecycle/refresh-lock.js';
import { InFlight } from '../store/in-flight.js';
import { lookupKeys } from '../store/matching.js';
import type { PagedReads } from '../store/record-token-store.js';
import { type ActivityTracking, hasActivityTracking } from '../store/token-activity.js';
import { assertToken } from '../store/token-arguments.js';
import type { TokenStore } from '../store/token-store.js';
import { OAuthToken, type TokenLike } from '../token/oauth-token.js';
import { fillToken, recordOf, type TokenRecord } from '../token/token-record.js';
import { type SecretField, TokenCipher } from './token-cipher.js';

export { generateKey, SEALED_PREFIX } from './token-cipher.js';

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

/** The plain attempt of a lookup, after every key: rows written before encryption was turned on. */
const PLAIN = null;

/**
 * Encryption at rest for any {@link TokenStore}: the client secret and the grant, refresh and
 * access tokens are stored AES-256-GCM encrypted (`enc:v1:<keyId>:…`); the id, user name,
 * client id, redirect URL, expiry and API domain stay plain, so matching and admin listings work.
 *
 * Lookups by token value still work because encryption is deterministic per key and field (a
 * synthetic IV from an HMAC of the value): the ciphertext is a keyed blind index. The trade-off,
 * as with any blind index: someone reading the storage sees which stored values of a field are
 * equal and how long each is, never what they are; someone who can write to it can copy a sealed
 * value to the same field of another row (the row is not bound, so that equal values seal
 * equally), but cannot alter, relabel or move one to another field undetected. A lookup or save by token value is tried under the primary key, then
 * under each older key and finally as plain text, so rows not yet re-encrypted are still found
 * and updated rather than duplicated.
 *
 * Plain values read from the inner store are returned as they are: an existing store can be
 * wrapped and then re-encrypted with {@link EncryptedStore.rekey}. A value under a key id the
 * keyring lacks fails with `UNKNOWN_KEY`, one that does not decrypt with `WRONG_KEY` — never
 * garbage. Error messages name fields, token ids and key ids, never a secret or a key.
 *
 * The inner store's refresh lock (`withRefreshLock`), activity tracking (`recordUse`,
 * `recordRevoked`, `getActivity`), bulk `saveTokens` and paged reads (`getTokensPage`,
 * `countTokens`) are offered exactly when it has them.
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
 * token?.getRefreshToken(); // '1000.r…', stored as 'enc:v1:k1:…'
 * await store.close();
 * ```
 */
export class EncryptedStore<T extends TokenLike = OAuthToken> implements TokenStore<T> {
  readonly #inner: TokenStore<T>;
  /** Saves under way (a lookup, then the inner save): `close()` lets them finish. */
  readonly #saving = new InFlight();
  readonly #cipher: TokenCipher;

  /** The inner store's refresh lock; present only when it has one. */
  declare readonly withRefreshLock?: RefreshLock['withRefreshLock'];
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
   * has paged reads (`getTokensPage` and `countTokens`). @throws TokenStoreError `UNKNOWN_KEY` or `WRONG_KEY`.
   */
  declare readonly getTokensPage?: PagedReads<T>['getTokensPage'];
  /** Forwarded to the inner store; present only when it has paged reads. */
  declare readonly countTokens?: PagedReads<T>['countTokens'];

  /** @throws TokenStoreError `NO_KEY` when no keyring is given nor in `ZOHO_TOKEN_KEY`, or it is malformed. */
  constructor(inner: TokenStore<T>, options: EncryptedStoreOptions = {}) {
    this.#cipher = new TokenCipher(options.keys ?? process.env.ZOHO_TOKEN_KEY);
    this.#inner = inner;
    // Members are added only when the inner store has them, so hasRefreshLock() and
    // hasActivityTracking() say of this store what they say of the inner one.
    const source = inner as TokenStore<T> & Partial<RefreshLock & ActivityTracking & BulkSaving & PagedReads<T>>;
    const { withRefreshLock: lock, recordUse, recordRevoked, getActivity, saveTokens } = source;
    const { getTokensPage, countTokens } = source;
    if (typeof lock === 'function') this.withRefreshLock = lock.bind(source);
    if (typeof getActivity === 'function' && typeof recordUse === 'function' && typeof recordRevoked === 'function') {
      this.recordUse = recordUse.bind(source);
      this.recordRevoked = recordRevoked.bind(source);
      this.getActivity = getActivity.bind(source);
    }
    if (typeof saveTokens === 'function') {
      this.saveTokens = (tokens) =>
        this.#saving.track(
          (async () => {
            for (const token of tokens) assertToken(token, 'saveTokens');
            const sealed = await Promise.all(tokens.map((token) => this.#sealedForSave(token)));
            await saveTokens.call(source, sealed);
            for (const [i, token] of tokens.entries()) this.#fillFrom(token, sealed[i] as OAuthToken, true);
          })(),
        );
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

  /** `findToken` of the inner store with the token's secrets sealed; fills the given token decrypted. */
  async findToken<U extends object>(token: U): Promise<U | null> {
    assertToken(token, 'findToken');
    for (const keyId of this.#attempts(token)) {
      const probe = this.#sealedCopy(token, keyId);
      if (await this.#inner.findToken(probe)) {
        this.#fillFrom(token, probe, false);
        return token;
      }
    }
    return null;
  }

  /** Saves the token with its secrets sealed under the primary key; sets its id as every store does. */
  saveToken(token: object): Promise<void> {
    return this.#saving.track(
      (async () => {
        assertToken(token, 'saveToken');
        const sealed = await this.#sealedForSave(token);
        await this.#inner.saveToken(sealed);
        this.#fillFrom(token, sealed, true);
      })(),
    );
  }

  /** Deletes the token with this id (forwarded). */
  async deleteToken(id: string): Promise<void> {
    await this.#inner.deleteToken(id);
  }

  /** Every stored token, decrypted. @throws TokenStoreError `UNKNOWN_KEY` or `WRONG_KEY`. */
  async getTokens(): Promise<T[]> {
    const tokens = await this.#inner.getTokens();
    for (const token of tokens) this.#openInPlace(token);
    return tokens;
  }

  /** Deletes every token (forwarded). */
  async deleteTokens(): Promise<void> {
    await this.#inner.deleteTokens();
  }

  /** The token with this id, decrypted, or `null`. @throws TokenStoreError `UNKNOWN_KEY` or `WRONG_KEY`. */
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
   * Re-encrypts under the primary key every token with a value still plain or under an older
   * key, so older keys can then leave the keyring. Every stored value is decrypted before the
   * first write, so a value under a key the keyring lacks (`UNKNOWN_KEY`), or a primary key that
   * does not open the values already under its id (`WRONG_KEY`), stops the run having changed
   * nothing. Each token is re-read and rewritten by its id, inside the inner
   * store's refresh lock for that token when it has one (the lock a TokenManager holds while it
   * refreshes), so a concurrent refresh is not undone. A few tokens are rewritten at a time
   * (`concurrency`); a failure stops the run once those settle, and what was rewritten stays
   * rewritten. Safe to re-run: current tokens are skipped.
   *
   * @example
   * ```ts
   * // ZOHO_TOKEN_KEY='k2:…,k1:…': new key first, old key still there to read with.
   * const { rekeyed, total } = await new EncryptedStore(new SQLiteStore()).rekey();
   * ```
   */
  async rekey(options: RekeyOptions = {}): Promise<RekeyResult> {
    const { concurrency = 4, onProgress } = options;
    const tokens = await this.#inner.getTokens();
    // Every token, current ones too: a primary key with the right id but the wrong bytes must
    // fail here, before it seals anything under itself.
    for (const token of tokens) this.#openAll(token);
    const stale = tokens.filter((token) => !this.#isCurrent(token));
    let [next, done, rekeyed] = [0, 0, 0];
    let failure: { error: unknown } | undefined;
    // A few tokens in flight: each is a lock, a read and a write, mostly network waits.
    const worker = async () => {
      while (failure === undefined && next < stale.length) {
        const token = stale[next++] as T;
        try {
          if (await this.#rekeyOne(token.getId() as string)) rekeyed++;
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
    return { rekeyed, total: tokens.length };
  }

  /**
   * Decrypts every stored token, as a check that the keyring can read the store (`zoho-tokens
   * doctor` runs it). Fails with `UNKNOWN_KEY` or `WRONG_KEY` at the first value it cannot read.
   *
   * @example
   * ```ts
   * const { checked, stale } = await store.verifyKey();
   * if (stale > 0) console.warn(`${stale} tokens are not under key ${store.primaryKeyId}: run zoho-tokens rekey`);
   * ```
   */
  async verifyKey(): Promise<KeyCheck> {
    const tokens = await this.#inner.getTokens();
    for (const token of tokens) this.#openAll(token);
    return { checked: tokens.length, stale: tokens.filter((token) => !this.#isCurrent(token)).length };
  }

  async #rekeyOne(id: string): Promise<boolean> {
    const work = async () => {
      // Re-read inside the lock: the token may have been refreshed or deleted since the listing.
      const current = await this.#inner.findTokenById(id);
      if (current === null || this.#isCurrent(current)) return false;
      const opened = this.#openAll(current);
      // Only the id and the secrets: the save matches the row by its id (never by user name,
      // which another row may share) and keeps every other field as stored.
      const resealed = new OAuthToken({ id });
      for (const { field, set } of SECRETS) set(resealed, this.#cipher.seal(field, opened[field]));
      await this.#inner.saveToken(resealed);
      return true;
    };
    return this.withRefreshLock ? this.withRefreshLock(tokenLockKey(id), work) : work();
  }

  /** Key ids to try a lookup under, primary first; `PLAIN` last for rows never encrypted. */
  #attempts(token: TokenLike): readonly (string | typeof PLAIN)[] {
    // A lookup by user name or id sees no ciphertext: one try decides it.
    const byValue = lookupKeys(token).some((key) => key.column !== 'userName' && key.column !== 'id');
    return byValue ? [...this.#cipher.keyIds, PLAIN] : [this.#cipher.primaryId];
  }

  /**
   * The copy of a token to save: sealed under the primary key, carrying the id of the row it
   * would update when only an older key (or plain text) finds that row, so it is updated, not
   * duplicated. The inner save still matches atomically; this only names the row.
   */
  async #sealedForSave(token: TokenLike): Promise<OAuthToken> {
    const sealed = this.#sealedCopy(token, this.#cipher.primaryId);
    const [primary, ...older] = this.#attempts(token);
    if (older.length === 0) return sealed;
    if (await this.#inner.findToken(this.#sealedCopy(token, primary ?? PLAIN))) return sealed;
    for (const keyId of older) {
      const probe = this.#sealedCopy(token, keyId);
      if (await this.#inner.findToken(probe)) {
        sealed.setId(probe.getId());
        break;
      }
    }
    return sealed;
  }

  /** A copy of the token with its secrets sealed under `keyId` (as they are, for `PLAIN`). */
  #sealedCopy(token: TokenLike, keyId: string | typeof PLAIN): OAuthToken {
    const copy = new OAuthToken({
      id: token.getId() ?? null,
      clientId: token.getClientId() ?? null,
      redirectURL: token.getRedirectURL() ?? null,
      expiresIn: token.getExpiresIn() ?? null,
      apiDomain: token.getAPIDomain() ?? null,
    });
    copy.setUserSignature(token.getUserSignature() ?? null);
    for (const { field, get, set } of SECRETS) {
      const value = get(token) ?? null;
      set(copy, keyId === PLAIN ? value : this.#cipher.seal(field, value, keyId));
    }
    return copy;
  }

  /**
   * Fills what the caller's token lacks from the sealed copy the inner store filled, decrypted;
   * after a save, also its id. Everything is decrypted before the token is touched.
   */
  #fillFrom(token: TokenLike, filled: OAuthToken, saved: boolean): void {
    const id = filled.getId() ?? '';
    const record: Record<string, string | null> = { ...recordOf(filled, id) };
    for (const { field, get } of SECRETS) {
      if ((get(token) ?? null) === null) record[field] = this.#cipher.open(field, get(filled), `token ${id}`);
    }
    fillToken(token, record as unknown as TokenRecord);
    if (saved) token.setId(id);
  }

  /** Decrypts a token from the inner store in place. */
  #openInPlace(token: TokenLike): void {
    const opened = this.#openAll(token);
    for (const { field, set } of SECRETS) set(token, opened[field]);
  }

  /** Every secret of a stored token, decrypted. */
  #openAll(token: TokenLike): Record<SecretField, string | null> {
    const where = `token ${token.getId()}`;
    const opened = {} as Record<SecretField, string | null>;
    for (const { field, get } of SECRETS) opened[field] = this.#cipher.open(field, get(token) ?? null, where);
    return opened;
  }

  #isCurrent(token: TokenLike): boolean {
    return SECRETS.every(({ get }) => this.#cipher.isCurrent(get(token) ?? null));
  }
}
