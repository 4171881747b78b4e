import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import type { TokenStore } from '../store/token-store.js';
import { OAuthToken, type TokenLike } from '../token/oauth-token.js';
import { type AnyClass, requiredSdkClass, storeBase } from './sdk-classes.js';

/**
 * The classes {@link forLegacySdk} needs from a legacy official SDK, from its deep imports:
 * `models/authenticator/oauth_token` and `models/authenticator/store/token_store`.
 */
export interface LegacySdkClasses<T> {
  /** The SDK's `OAuthToken` class: `getTokens` hands back tokens of this class. */
  OAuthToken: AnyClass<T>;
  /** The SDK's `TokenStore` class (`zcrmsdk`, `@zohocrm/nodejs-sdk-2.0`); none for `@zohocrm/typescript-sdk-2.0`. */
  TokenStore?: unknown;
}

/** The legacy SDKs' store interface: tokens found and saved per `(user, token)`. */
export interface LegacySdkStore<T> {
  getToken(user: object, token: T): Promise<T | null>;
  getTokenById(id: string, token: T): Promise<T>;
  saveToken(user: object, token: T): Promise<void>;
  deleteToken(token: T): Promise<void>;
  getTokens(): Promise<T[]>;
  deleteTokens(): Promise<void>;
}

// The legacy token's fields: the property each SDK keeps it in, and the suffix of its accessors
// where it has them (`@zohocrm/*-2.0`; `zcrmsdk` 1.x has plain properties only).
const FIELDS = {
  id: 'Id',
  userMail: 'UserMail',
  clientID: 'ClientId',
  clientSecret: 'ClientSecret',
  redirectURL: 'RedirectURL',
  grantToken: 'GrantToken',
  refreshToken: 'RefreshToken',
  accessToken: 'AccessToken',
  expiresIn: 'ExpiresIn',
} as const;
type Field = keyof typeof FIELDS;
type LegacyFields = Record<Field, string | null>;

function read(token: object, field: Field): string | null {
  const self = token as Record<string, unknown>;
  const getter = self[`get${FIELDS[field]}`];
  const value = typeof getter === 'function' ? getter.call(token) : self[field];
  return value == null || value === '' ? null : String(value);
}

function write(token: object, field: Field, value: string | null): void {
  const setter = (token as Record<string, unknown>)[`set${FIELDS[field]}`];
  if (typeof setter === 'function') setter.call(token, value);
  // zcrmsdk keeps fields as own properties shadowing getter-only accessors: define, not assign.
  else Object.defineProperty(token, field, { value, writable: true, enumerable: true, configurable: true });
}

/** The user's email: `getName()` (typescript-sdk-2.0), `getEmail()` (nodejs-sdk-2.0) or `email` (zcrmsdk). */
function emailOf(user: unknown, operation: string): string {
  const self = (user ?? {}) as Record<string, unknown>;
  const method = typeof self.getName === 'function' ? self.getName : self.getEmail;
  const email = typeof method === 'function' ? method.call(user) : self.email;
  if (typeof email !== 'string' || email === '') {
    throw new TokenStoreError(TokenStoreErrorCode.INVALID_TOKEN, `${operation}: the SDK passed no user email`);
  }
  return email;
}

/**
 * The legacy rule: a stored token is the SDK token's when it has the same client id and the
 * same grant token (if the SDK token has one) or else the same refresh token.
 */
function sameLegacyToken(stored: TokenLike, token: object): boolean {
  if (stored.getClientId() !== read(token, 'clientID')) return false;
  const grantToken = read(token, 'grantToken');
  if (grantToken !== null) return stored.getGrantToken() === grantToken;
  const refreshToken = read(token, 'refreshToken');
  return refreshToken !== null && stored.getRefreshToken() === refreshToken;
}

/** Copies a stored token onto a legacy SDK token, as the SDKs' own `getTokenById` does. */
function copyOnto<T extends object>(stored: TokenLike, token: T): T {
  const fields: LegacyFields = {
    id: stored.getId(),
    userMail: stored.getUserSignature()?.getName() ?? null,
    clientID: stored.getClientId(),
    clientSecret: stored.getClientSecret(),
    redirectURL: stored.getRedirectURL(),
    grantToken: stored.getGrantToken(),
    refreshToken: stored.getRefreshToken(),
    accessToken: stored.getAccessToken(),
    expiresIn: stored.getExpiresIn(),
  };
  for (const [field, value] of Object.entries(fields)) write(token, field as Field, value);
  return token;
}

/**
 * Hands any of our stores to a legacy official Zoho CRM SDK (`zcrmsdk` 1.x,
 * `@zohocrm/nodejs-sdk-2.0`, `@zohocrm/typescript-sdk-2.0`): their `(user, token)` store
 * interface, on top of `store`. It finds the user's token by email, then applies the SDKs' own
 * rule (same client id, and same grant token or else refresh token). Saving updates the user's
 * one stored token where the SDKs' own stores delete and insert, so no user ever gets a second
 * row; as with every store of ours, a user keeps one token, whatever the client.
 *
 * @example
 * ```ts
 * const { TokenStore } = require('@zohocrm/nodejs-sdk-2.0/models/authenticator/store/token_store');
 * const { OAuthToken } = require('@zohocrm/nodejs-sdk-2.0/models/authenticator/oauth_token');
 * const store = forLegacySdk(new PostgresStore({ url }), { TokenStore, OAuthToken });
 * await Initializer.initialize(user, environment, token, store, sdkConfig, resourcePath);
 * ```
 */
export function forLegacySdk<T extends object>(
  store: TokenStore<TokenLike>,
  sdk: LegacySdkClasses<T>,
): LegacySdkStore<T> {
  const SdkToken = requiredSdkClass<T>(sdk.OAuthToken, 'OAuthToken', 'forLegacySdk');

  /** The user's stored token, when it is this SDK token by the legacy rule. */
  const storedFor = async (email: string, token: object): Promise<TokenLike | null> => {
    const stored = await store.findToken(new OAuthToken({ userName: email }));
    return stored !== null && sameLegacyToken(stored, token) ? stored : null;
  };

  const Base = storeBase(sdk.TokenStore) as new () => object;
  class LegacySdkTokenStore extends Base implements LegacySdkStore<T> {
    async getToken(user: object, token: T): Promise<T | null> {
      const stored = await storedFor(emailOf(user, 'getToken'), token);
      if (stored === null) return null; // null, not undefined: the node SDKs test `=== null`
      write(token, 'id', stored.getId());
      write(token, 'accessToken', stored.getAccessToken());
      write(token, 'expiresIn', stored.getExpiresIn());
      write(token, 'refreshToken', stored.getRefreshToken());
      write(token, 'userMail', stored.getUserSignature()?.getName() ?? null);
      return token;
    }

    async getTokenById(id: string, token: T): Promise<T> {
      const stored = await store.findTokenById(id);
      // As the SDKs' own stores: an unknown id fails, rather than send the SDK to exchange nothing.
      if (stored === null)
        throw new TokenStoreError(TokenStoreErrorCode.NOT_FOUND, 'getTokenById: no token has this id');
      return copyOnto(stored, token);
    }

    async saveToken(user: object, token: T): Promise<void> {
      const email = emailOf(user, 'saveToken');
      write(token, 'userMail', email);
      // Without the SDK's own id: `nodejs_ana_PRODUCTION_abcd` is not unique per user and does not
      // fit the official `id varchar(10)`. The user's row is found by email and keeps its id.
      const ours = new OAuthToken({
        userName: email,
        clientId: read(token, 'clientID'),
        clientSecret: read(token, 'clientSecret'),
        redirectURL: read(token, 'redirectURL'),
        grantToken: read(token, 'grantToken'),
        refreshToken: read(token, 'refreshToken'),
        accessToken: read(token, 'accessToken'),
        expiresIn: read(token, 'expiresIn'),
      });
      await store.saveToken(ours);
      // The user's row keeps its id: the SDK's token learns it, for a later start by id.
      write(token, 'id', ours.getId());
    }

    async deleteToken(token: T): Promise<void> {
      const email = read(token, 'userMail');
      if (email === null) {
        throw new TokenStoreError(TokenStoreErrorCode.INVALID_TOKEN, 'deleteToken: the token names no user (userMail)');
      }
      const stored = await storedFor(email, token);
      const id = stored?.getId();
      if (id != null) await store.deleteToken(id);
    }

    async getTokens(): Promise<T[]> {
      // Not constructed: zcrmsdk's constructor refuses a token without a grant or refresh token.
      return (await store.getTokens()).map((stored) => copyOnto(stored, Object.create(SdkToken.prototype) as T));
    }

    deleteTokens(): Promise<void> {
      return store.deleteTokens();
    }
  }
  return new LegacySdkTokenStore();
}
