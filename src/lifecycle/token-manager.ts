import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { fetchCurrentUserName } from '../crm/current-user.js';
import { isTokenStoreError, TokenStoreErrorCode } from '../errors.js';
import {
  type AccountsRequestOptions,
  type ClientCredentials,
  type ClientCredentialsGrant,
  type Environment,
  exchangeAuthorizationCode,
  isOAuthError,
  OAuthErrorCode,
  refreshAccessToken,
  requestClientCredentialsToken,
  revokeRefreshToken,
  type TokenGrant,
} from '../oauth/index.js';
import { hasConditionalSave } from '../store/conditional-save.js';
import { type ActivityTracking, hasActivityTracking } from '../store/token-activity.js';
import type { TokenStore } from '../store/token-store.js';
import { countRenewal, type RenewalOutcome, timeLockWait, timeStore } from '../telemetry/metrics.js';
import { summarizeToken, type TokenSummary } from '../token/masking.js';
import { OAuthToken, type TokenLike, UserSignature } from '../token/oauth-token.js';
import { userNameOf } from '../token/token-record.js';
import { type Logger, silentLogger } from './logger.js';
import { hasRefreshLock, tokenLockKey, withTokenLock } from './refresh-lock.js';
import { isTokenManagerError, TokenManagerError, TokenManagerErrorCode } from './token-manager-error.js';

/**
 * Which stored token a manager looks after: by id, user, or one of its token values; or the org
 * token of Zoho's client credentials grant, stored under the user name `ZohoCRM.<orgId>` (the grant's
 * `soid`) with no refresh token, and obtained by running the grant again when it expires.
 */
export type TokenReference =
  | { id: string }
  | { userName: string }
  | { refreshToken: string }
  | { grantToken: string }
  | { accessToken: string }
  | { clientCredentials: ClientCredentialsGrant };

/** The user name a client credentials token of this org is stored under: the grant's `soid`. */
const clientCredentialsUserName = (orgId: string) => `ZohoCRM.${orgId}`;

/** Options for {@link TokenManager}. */
export interface TokenManagerOptions {
  /** Where the accounts server and API live: `environmentFor('US')`, or a custom one for the emulator. */
  environment: Environment;
  /** Where tokens persist. A store that offers `withRefreshLock` makes one refresh hold across processes. */
  store: TokenStore<TokenLike>;
  token: TokenReference;
  /** The OAuth client. Needed to exchange or refresh; defaults to the credentials stored with the token. */
  client?: ClientCredentials;
  /**
   * Refresh this long before the access token expires. Default 1 minute: enough for clock skew and a
   * call's flight (the CRM client gives up after 30 s, and refreshes and retries once on a 401). A
   * longer window renews earlier than needed: 5 minutes cost a busy user 5 % more refreshes a day.
   */
  refreshWindowMs?: number;
  /**
   * Name the user of a new token that has none as the official SDK does: `email:zgid`, from
   * `/crm/v8/users?type=CurrentUser` and `/crm/v8/org` (the plain email when the org cannot be
   * read). Default true. A reference by plain email still finds that row (see `lookupKeys`).
   */
  resolveUser?: boolean;
  /** Fetch, timeouts and retries for calls to Zoho. */
  http?: Omit<AccountsRequestOptions, 'now' | 'signal'>;
  /** The clock, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  logger?: Logger;
  /**
   * On a store that tracks activity (`hasActivityTracking`), record a token's use at most once per
   * this many ms; 0 records every use. Default 60 000. Recording never delays or fails
   * `getAccessToken`: a failure is only logged.
   */
  activityIntervalMs?: number;
}

/** Events a {@link TokenManager} emits; payloads are masked summaries, safe to log. */
export interface TokenManagerEvents {
  /** A grant token was exchanged for tokens. */
  exchanged: [TokenSummary];
  /** An access token was refreshed. */
  refreshed: [TokenSummary];
  /** Exchange or refresh failed; the error says whether the user must sign in again. */
  failed: [Error];
  /** The token was revoked at Zoho and deleted from the store. */
  revoked: [TokenSummary];
}

const DEFAULT_WINDOW_MS = 60_000;
const DEFAULT_ACTIVITY_INTERVAL_MS = 60_000;
const present = (value: string | null | undefined): value is string => typeof value === 'string' && value.length > 0;

/**
 * Keeps one user's access token fresh: the official SDK's `getToken()` flow, refreshing ahead
 * of expiry, with one refresh shared by every concurrent caller (and, with a store lock, by
 * every process), the grant token cleared once spent, and the refresh token kept through
 * transient failures. Valid tokens are served from memory. A refresh token Zoho refused is not
 * sent again until the store holds another (a new sign-in); a token deleted during a refresh is
 * not saved back (`TOKEN_DELETED`), and on a store with `saveTokenIfUnchanged` a refresh is saved
 * only over the row it started from, so a holder whose lock lapsed never overwrites a newer token
 * (it uses that one instead). With `@opentelemetry/api` installed it reports metrics
 * (docs/metrics.md). On a store that tracks activity it
 * also records each token's use (throttled by `activityIntervalMs`) and the time Zoho refused its
 * refresh token, which `purgeTokens` reads.
 *
 * @example
 * ```ts
 * import { TokenManager, environmentFor } from 'zoho-token-store';
 * import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
 *
 * const manager = new TokenManager({
 *   environment: environmentFor('EU'),
 *   store: new SQLiteStore(),
 *   client: { clientId: '1000.XXXX', clientSecret: process.env.ZOHO_CLIENT_SECRET!, redirectUri: 'https://app/cb' },
 *   token: { grantToken: codeFromTheRedirect },
 * });
 * const accessToken = await manager.getAccessToken(); // exchanges once, then reuses and refreshes
 *
 * // A self client's org token (client credentials grant): no user, no refresh token.
 * const org = new TokenManager({
 *   environment: environmentFor('US'),
 *   store: new SQLiteStore(),
 *   client: { clientId: '1000.XXXX', clientSecret: process.env.ZOHO_CLIENT_SECRET! },
 *   token: { clientCredentials: { scope: ['ZohoCRM.modules.ALL'], orgId: '600000434' } },
 * });
 * ```
 */
export class TokenManager extends EventEmitter<TokenManagerEvents> {
  readonly #options: TokenManagerOptions;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #logger: Logger;
  readonly #activity: ActivityTracking | null;
  readonly #activityIntervalMs: number;
  /** The token id whose use was last recorded, and when. */
  #lastRecorded: { id: string; at: number } | null = null;
  #token: TokenLike | null = null;
  #cached: { accessToken: string; refreshAt: number } | null = null;
  #inflight: Promise<string> | null = null;
  #rejectedAccessToken: string | null = null;
  #blockedUntil = 0;
  /** The token this manager looked after was deleted: renew nothing from the reference's own values. */
  #deleted = false;
  /** The refresh token Zoho refused, and why: not sent again until the stored one differs. */
  #refused: { refreshToken: string; cause: unknown } | null = null;

  constructor(options: TokenManagerOptions) {
    super();
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.refreshWindowMs ?? DEFAULT_WINDOW_MS;
    this.#logger = options.logger ?? silentLogger;
    this.#activity = hasActivityTracking(options.store) ? options.store : null;
    this.#activityIntervalMs = options.activityIntervalMs ?? DEFAULT_ACTIVITY_INTERVAL_MS;
  }

  /**
   * A valid access token: from memory while it has more than the refresh window left, else from
   * the store, else exchanged or refreshed at Zoho and saved. Concurrent calls share one trip.
   */
  getAccessToken(): Promise<string> {
    const cached = this.#cached;
    const now = this.#now();
    if (cached !== null && now < cached.refreshAt) {
      if (this.#activity !== null) this.#recordUse(now);
      return Promise.resolve(cached.accessToken);
    }
    if (this.#inflight === null) {
      this.#inflight = this.#load().finally(() => {
        this.#inflight = null;
      });
    }
    if (this.#activity === null) return this.#inflight;
    return this.#inflight.then((accessToken) => {
      this.#recordUse(this.#now());
      return accessToken;
    });
  }

  /** Where this manager's token is exchanged and refreshed, and may be sent (see `createCrmClient`). */
  get environment(): Environment {
    return this.#options.environment;
  }

  /** The full current token (after making sure it is valid): user, API domain, expiry. */
  async getToken(): Promise<TokenLike> {
    await this.getAccessToken();
    return this.#token as TokenLike;
  }

  /**
   * Tells the manager Zoho rejected this access token (a 401 `INVALID_TOKEN`): the next
   * `getAccessToken()` refreshes even if the expiry says it is still valid. Reports for an
   * access token already replaced are ignored, so many failed requests cause one refresh.
   */
  invalidate(accessToken: string): void {
    const current = this.#cached?.accessToken ?? this.#token?.getAccessToken();
    if (accessToken !== current) return;
    this.#rejectedAccessToken = accessToken;
    this.#cached = null;
  }

  /**
   * Revokes the refresh token at Zoho (ending its access tokens), then deletes the stored token,
   * both under the token's refresh lock, so no renewal saves it again in between.
   */
  async revoke(): Promise<void> {
    const token = await this.#deleteLocked(await this.#read(), async (current) => {
      const refreshToken = current.getRefreshToken();
      if (!present(refreshToken)) return;
      try {
        await revokeRefreshToken(this.#options.environment, refreshToken, this.#options.http);
      } catch (error) {
        // Already unknown to Zoho: nothing left to revoke there; the store still gets cleaned.
        if (!(isOAuthError(error) && error.code === OAuthErrorCode.INVALID_TOKEN)) throw error;
      }
    });
    if (token) this.emit('revoked', summarizeToken(token));
  }

  /** Deletes the stored token without telling Zoho, under its refresh lock. */
  async remove(): Promise<void> {
    await this.#deleteLocked(this.#token ?? (await this.#read()), async () => {});
  }

  /** Records the current token's use, at most once per interval per token id, without waiting. */
  #recordUse(now: number): void {
    const id = this.#token?.getId();
    const last = this.#lastRecorded;
    if (!present(id) || (last !== null && last.id === id && now - last.at < this.#activityIntervalMs)) return;
    this.#lastRecorded = { id, at: now };
    // After the caller has its token: a store that writes synchronously (SQLite) would otherwise
    // add its write to the cost of a token served from memory.
    setImmediate(() => void this.#recordActivity('use', id, now));
  }

  /** Calls the store's `recordUse` or `recordRevoked`; a failure is logged (codes and ids only), never thrown. */
  #recordActivity(event: 'use' | 'revocation', id: string, at: number): Promise<void> {
    const activity = this.#activity as ActivityTracking;
    const logFailure = (error: unknown) => {
      // A typed error's message names no stored value; another store's error might, so of it only the name.
      const detail = isTokenStoreError(error)
        ? { code: error.code, message: error.message }
        : { error: error instanceof Error ? error.name : typeof error };
      this.#logger.warn?.(`could not record the token’s ${event}`, { id, ...detail });
    };
    try {
      return (event === 'use' ? activity.recordUse(id, at) : activity.recordRevoked(id, at)).catch(logFailure);
    } catch (error) {
      logFailure(error);
      return Promise.resolve();
    }
  }

  /**
   * Under the refresh lock of `found`, reads it again by id, runs `before` on it and deletes it.
   * Returns the token deleted, or null when there was none.
   */
  async #deleteLocked(found: TokenLike | null, before: (token: TokenLike) => Promise<void>): Promise<TokenLike | null> {
    const { store } = this.#options;
    const id = found?.getId();
    if (!present(id)) return null;
    const token = await withTokenLock(store, id, async () => {
      const current = await timeStore('findTokenById', () => store.findTokenById(id));
      if (current === null) return null;
      await before(current);
      await timeStore('deleteToken', () => store.deleteToken(id));
      return current;
    });
    this.#forgetToken();
    return token;
  }

  /** Drops the token in use; a later call renews nothing from the reference's own values. */
  #forgetToken(): void {
    this.#token = null;
    this.#cached = null;
    this.#deleted = true;
  }

  /** The token was deleted during a renewal or since: drop it, and fail typed. */
  #tokenDeleted(id: string | null | undefined): TokenManagerError {
    this.#forgetToken();
    this.#logger.warn?.('the stored token was deleted: not renewing it', { id });
    const error = new TokenManagerError(
      TokenManagerErrorCode.TOKEN_DELETED,
      'the stored token was deleted; the user must sign in again',
    );
    this.emit('failed', error);
    return error;
  }

  /** Fails fast, without calling Zoho, while the stored refresh token is the one Zoho refused. */
  #assertNotRefused(token: TokenLike | null): void {
    const refused = this.#refused;
    if (refused === null || token === null) return;
    if (token.getRefreshToken() !== refused.refreshToken) {
      // A new sign-in or refresh token was saved since, here or in another process: try it.
      this.#refused = null;
      return;
    }
    throw new TokenManagerError(
      TokenManagerErrorCode.REAUTHORIZATION_REQUIRED,
      'Zoho refused the grant or refresh token; the user must sign in again',
      { cause: refused.cause },
    );
  }

  async #load(): Promise<string> {
    const stored = await this.#read();
    if (stored && this.#usable(stored)) return this.#use(stored);
    this.#assertNotRefused(stored);
    const known = stored ?? this.#token;
    const hadToken = known !== null || this.#deleted;
    const renewInsideLock = async () => {
      // Another manager, here or in another process, may have renewed it while we waited.
      const latest = await this.#read();
      if (latest && this.#usable(latest)) return this.#use(latest);
      // Deleted since (deletes take this lock too): never bring it back from what we remember.
      if (latest === null && hadToken) throw this.#tokenDeleted(known?.getId());
      return this.#renew(latest);
    };
    const store = this.#options.store;
    if (!hasRefreshLock(store)) return renewInsideLock();
    const key = this.#lockKey(stored);
    return timeLockWait((work) => store.withRefreshLock(key, work), renewInsideLock);
  }

  /** The stored token: by id once known, else by the reference; null when the store has none. */
  async #read(): Promise<TokenLike | null> {
    const { store, token: reference } = this.#options;
    const id = this.#token?.getId() ?? ('id' in reference ? reference.id : null);
    if (present(id)) {
      const byId = await timeStore('findTokenById', () => store.findTokenById(id));
      if (byId || 'id' in reference) return byId;
    }
    return timeStore('findToken', () => store.findToken(this.#referenceToken()));
  }

  /**
   * A token carrying just the reference and the client, to look up or to exchange. An access
   * token alone goes without the client: the store matches access tokens only without one.
   */
  #referenceToken(): OAuthToken {
    const reference = this.#options.token;
    const client = 'accessToken' in reference ? undefined : this.#options.client;
    if ('clientCredentials' in reference) {
      return new OAuthToken({
        userName: clientCredentialsUserName(reference.clientCredentials.orgId),
        clientId: client?.clientId ?? null,
        clientSecret: client?.clientSecret ?? null,
      });
    }
    return new OAuthToken({
      ...reference,
      clientId: client?.clientId ?? null,
      clientSecret: client?.clientSecret ?? null,
      redirectURL: client?.redirectUri ?? null,
    });
  }

  #usable(token: TokenLike): boolean {
    const accessToken = token.getAccessToken();
    if (!present(accessToken) || accessToken === this.#rejectedAccessToken) return false;
    const expiry = expiryOf(token);
    return expiry === null || expiry - this.#now() > this.#windowMs;
  }

  #use(token: TokenLike): string {
    const accessToken = token.getAccessToken() as string;
    const expiry = expiryOf(token);
    this.#token = token;
    this.#deleted = false;
    this.#cached = { accessToken, refreshAt: expiry === null ? Number.POSITIVE_INFINITY : expiry - this.#windowMs };
    return accessToken;
  }

  /**
   * Exchanges, refreshes or runs the client credentials grant at Zoho and saves the result; falls back
   * to a still-valid token on failure.
   */
  async #renew(current: TokenLike | null): Promise<string> {
    const base = current ?? this.#referenceToken();
    const stillValid = this.#stillValid(base);
    const refreshToken = base.getRefreshToken();
    const grantToken = base.getGrantToken();
    const reference = this.#options.token;
    const orgGrant = 'clientCredentials' in reference ? reference.clientCredentials : null;

    if (orgGrant === null && !present(refreshToken) && !present(grantToken)) {
      if (present(base.getAccessToken()) && current === null) return this.#adoptAccessToken(base);
      if (stillValid) return this.#use(base);
      throw new TokenManagerError(
        present(base.getAccessToken()) ? TokenManagerErrorCode.CANNOT_REFRESH : TokenManagerErrorCode.TOKEN_NOT_FOUND,
        present(base.getAccessToken())
          ? 'the access token expired and there is no refresh token to renew it'
          : 'the store holds no token for this reference, and there is no grant token to exchange',
      );
    }
    if (this.#now() < this.#blockedUntil) {
      if (stillValid) return this.#use(base);
      throw new TokenManagerError(TokenManagerErrorCode.RATE_LIMITED, 'Zoho is throttling this client', {
        retryAfterMs: this.#blockedUntil - this.#now(),
      });
    }

    // The client credentials grant has no refresh token: it is run again in place of a refresh.
    const exchanging = orgGrant === null ? !present(refreshToken) : current === null;
    const refreshing = orgGrant === null && !exchanging;
    if (refreshing) this.#assertNotRefused(base);
    const client = this.#clientFor(base);
    const http = { ...this.#options.http, now: this.#now };
    const env = this.#options.environment;
    let grant: TokenGrant;
    try {
      grant =
        orgGrant !== null
          ? await requestClientCredentialsToken(env, client, orgGrant, http)
          : exchanging
            ? await exchangeAuthorizationCode(env, client, grantToken as string, http)
            : await refreshAccessToken(env, client, refreshToken as string, http);
    } catch (error) {
      countRenewal(exchanging ? 'exchange' : 'refresh', renewalOutcome(error));
      return this.#renewFailed(error, base, stillValid, refreshing);
    }

    const next = new OAuthToken({
      id: base.getId(),
      userName: userNameOf(base),
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      redirectURL: client.redirectUri ?? base.getRedirectURL(),
      refreshToken: grant.refreshToken ?? refreshToken,
      accessToken: grant.accessToken,
      // A grant token works once: clear it ('' replaces the stored value; null would keep it).
      grantToken: exchanging ? '' : base.getGrantToken(),
      expiresIn: grant.expiresAt,
      apiDomain: grant.apiDomain ?? base.getAPIDomain() ?? this.#options.environment.apiBaseUrl,
    });
    await this.#resolveUser(next);
    const id = base.getId();
    let moved: string | null = null;
    try {
      if (current !== null && present(id)) moved = await this.#saveOver(next, current, id);
      else await timeStore('saveToken', () => this.#options.store.saveToken(next));
    } catch (error) {
      countRenewal(exchanging ? 'exchange' : 'refresh', renewalOutcome(error));
      throw error;
    }
    countRenewal(exchanging ? 'exchange' : 'refresh', moved === null ? 'success' : 'superseded');
    if (moved !== null) return moved;
    this.#rejectedAccessToken = null;
    const summary = summarizeToken(next);
    this.#logger.info?.(exchanging ? 'zoho token exchanged' : 'zoho token refreshed', { ...summary });
    this.emit(exchanging ? 'exchanged' : 'refreshed', summary);
    return this.#use(next);
  }

  /**
   * Saves a renewal over the row it started from, only if that row is still as read: a holder
   * whose lock lapsed (paused past its lease, or its session dropped) must not overwrite the newer
   * token another process saved meanwhile, nor bring back a deleted one (a save by id inserts a
   * missing row). Returns null once saved; else, nothing saved, the newer stored access token
   * when it is valid. On a store without a conditional save, only a deletion is checked, one read
   * before the save.
   */
  async #saveOver(next: TokenLike, current: TokenLike, id: string): Promise<string | null> {
    const store = this.#options.store;
    if (!hasConditionalSave(store)) {
      if ((await timeStore('findTokenById', () => store.findTokenById(id))) === null) throw this.#tokenDeleted(id);
      await timeStore('saveToken', () => store.saveToken(next));
      return null;
    }
    try {
      await timeStore('saveTokenIfUnchanged', () => store.saveTokenIfUnchanged(next, current));
      return null;
    } catch (error) {
      if (!(isTokenStoreError(error) && error.code === TokenStoreErrorCode.TOKEN_CHANGED)) throw error;
    }
    const latest = await timeStore('findTokenById', () => store.findTokenById(id));
    if (latest === null) throw this.#tokenDeleted(id);
    this.#logger.warn?.('the stored token changed during the refresh: not saving over it', { id });
    if (this.#usable(latest)) return this.#use(latest);
    this.#cached = null;
    const error = new TokenManagerError(
      TokenManagerErrorCode.TOKEN_CHANGED,
      'the stored token changed during the refresh and is not valid; call again',
    );
    this.emit('failed', error);
    throw error;
  }

  async #renewFailed(error: unknown, base: TokenLike, stillValid: boolean, refreshing: boolean): Promise<string> {
    this.emit('failed', error as Error);
    const fields = { id: base.getId(), user: userNameOf(base), code: (error as { code?: unknown }).code };
    if (isOAuthError(error) && error.code === OAuthErrorCode.INVALID_GRANT) {
      this.#logger.warn?.('zoho refused the grant or refresh token: the user must sign in again', fields);
      // Kept for cleanup (`purgeTokens({ revoked: true })`); the stored token stays for the caller to decide.
      const id = base.getId();
      if (refreshing && present(id) && this.#activity !== null)
        await this.#recordActivity('revocation', id, this.#now());
      // Remembered, so later calls fail fast instead of sending the refresh token and secret again.
      const refreshToken = base.getRefreshToken();
      if (refreshing && present(refreshToken)) this.#refused = { refreshToken, cause: error };
      throw new TokenManagerError(
        TokenManagerErrorCode.REAUTHORIZATION_REQUIRED,
        'Zoho refused the grant or refresh token; the user must sign in again',
        { cause: error },
      );
    }
    if (isOAuthError(error) && error.code === OAuthErrorCode.RATE_LIMITED) {
      const retryAfterMs = error.retryAfterMs ?? 60_000;
      this.#blockedUntil = this.#now() + retryAfterMs;
      this.#logger.warn?.('zoho is throttling this client; not retrying before the wait', { ...fields, retryAfterMs });
      if (stillValid) return this.#use(base);
      throw new TokenManagerError(TokenManagerErrorCode.RATE_LIMITED, 'Zoho is throttling this client', {
        cause: error,
        retryAfterMs,
      });
    }
    // Transient or configuration trouble: the stored refresh token stays as it was.
    this.#logger.warn?.('zoho token renewal failed', fields);
    if (stillValid) return this.#use(base);
    throw error;
  }

  /** An access token given alone (no refresh possible), stored as the official SDK does. */
  async #adoptAccessToken(token: TokenLike): Promise<string> {
    await this.#resolveUser(token);
    await timeStore('saveToken', () => this.#options.store.saveToken(token));
    return this.#use(token);
  }

  async #resolveUser(token: TokenLike): Promise<void> {
    if (this.#options.resolveUser === false || userNameOf(token) !== null) return;
    const apiDomain = token.getAPIDomain() ?? this.#options.environment.apiBaseUrl;
    try {
      // Named as the official SDK names it (`email:zgid`), so both find one row for the user.
      const name = await fetchCurrentUserName(apiDomain, token.getAccessToken() as string, {
        ...this.#options.http,
        environment: this.#options.environment,
      });
      if (name) token.setUserSignature(new UserSignature(name));
    } catch (error) {
      this.#logger.warn?.('could not resolve the token’s user', { message: (error as Error).message });
    }
  }

  #clientFor(token: TokenLike): ClientCredentials {
    const client = this.#options.client;
    const clientId = client?.clientId ?? token.getClientId();
    const clientSecret = client?.clientSecret ?? token.getClientSecret();
    if (!present(clientId) || !present(clientSecret)) {
      throw new TokenManagerError(
        TokenManagerErrorCode.CANNOT_REFRESH,
        'no client id and secret to exchange or refresh with: pass `client`',
      );
    }
    return { clientId, clientSecret, redirectUri: client?.redirectUri ?? token.getRedirectURL() };
  }

  /** Valid right now (though maybe inside the refresh window). */
  #stillValid(token: TokenLike): boolean {
    const accessToken = token.getAccessToken();
    if (!present(accessToken) || accessToken === this.#rejectedAccessToken) return false;
    const expiry = expiryOf(token);
    return expiry !== null && expiry > this.#now();
  }

  /** Names the lock by row id or user; a token value is hashed so no secret reaches a lock table. */
  #lockKey(token: TokenLike | null): string {
    const reference = this.#options.token;
    const name =
      token?.getId() ??
      userNameOf(token ?? this.#referenceToken()) ??
      createHash('sha256').update(Object.values(reference).join('\u0000')).digest('hex').slice(0, 32);
    return tokenLockKey(name);
  }
}

/** The `outcome` a failed refresh or exchange is counted under. */
function renewalOutcome(error: unknown): RenewalOutcome {
  if (isOAuthError(error) && error.code === OAuthErrorCode.INVALID_GRANT) return 'refused';
  if (isOAuthError(error) && error.code === OAuthErrorCode.RATE_LIMITED) return 'rate_limited';
  if (isTokenManagerError(error) && error.code === TokenManagerErrorCode.TOKEN_DELETED) return 'deleted';
  if (isTokenManagerError(error) && error.code === TokenManagerErrorCode.TOKEN_CHANGED) return 'superseded';
  return 'error';
}

function expiryOf(token: TokenLike): number | null {
  const raw = token.getExpiresIn();
  if (raw == null || raw === '') return null;
  const expiry = Number(raw);
  return Number.isFinite(expiry) ? expiry : null;
}
