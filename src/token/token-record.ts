import type { TokenLike } from './oauth-token.js';
import { UserSignature } from './oauth-token.js';

/**
 * One stored token: the columns of the official DBStore table `oauthtoken`
 * (id, user_name, client_id, client_secret, refresh_token, access_token, grant_token,
 * expiry_time, redirect_url, api_domain), in camelCase. Backends store and return these.
 */
export interface TokenRecord {
  readonly id: string;
  readonly userName: string | null;
  readonly clientId: string | null;
  readonly clientSecret: string | null;
  readonly refreshToken: string | null;
  readonly accessToken: string | null;
  readonly grantToken: string | null;
  /** Milliseconds since the epoch, as a string (the official `expiry_time`). */
  readonly expiryTime: string | null;
  readonly redirectUrl: string | null;
  readonly apiDomain: string | null;
}

/** Record fields in the official column order; `column` is the DBStore column name. */
export const TOKEN_COLUMNS = [
  { field: 'id', column: 'id' },
  { field: 'userName', column: 'user_name' },
  { field: 'clientId', column: 'client_id' },
  { field: 'clientSecret', column: 'client_secret' },
  { field: 'refreshToken', column: 'refresh_token' },
  { field: 'accessToken', column: 'access_token' },
  { field: 'grantToken', column: 'grant_token' },
  { field: 'expiryTime', column: 'expiry_time' },
  { field: 'redirectUrl', column: 'redirect_url' },
  { field: 'apiDomain', column: 'api_domain' },
] as const satisfies readonly { field: keyof TokenRecord; column: string }[];

const ACCESSORS = [
  'getId',
  'setId',
  'getUserSignature',
  'setUserSignature',
  'getClientId',
  'setClientId',
  'getClientSecret',
  'setClientSecret',
  'getRedirectURL',
  'setRedirectURL',
  'getGrantToken',
  'setGrantToken',
  'getRefreshToken',
  'setRefreshToken',
  'getAccessToken',
  'setAccessToken',
  'getExpiresIn',
  'setExpiresIn',
  'getAPIDomain',
  'setAPIDomain',
] as const;

// Prototypes already seen to carry every accessor: checking a token is then one lookup.
const tokenPrototypes = new WeakSet<object>();

/** True when `value` has every accessor a store needs (ours or the official SDK's token). */
export function isTokenLike(value: unknown): value is TokenLike {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== null && tokenPrototypes.has(prototype)) return true;
  const candidate = value as Record<string, unknown>;
  if (!ACCESSORS.every((name) => typeof candidate[name] === 'function')) return false;
  if (prototype !== null && ACCESSORS.every((name) => typeof prototype[name] === 'function')) {
    tokenPrototypes.add(prototype);
  }
  return true;
}

/** The user name of a token, or null when it has none (an empty name counts as none). */
export function userNameOf(token: TokenLike): string | null {
  const name = token.getUserSignature()?.getName();
  return typeof name === 'string' && name.length > 0 ? name : null;
}

/** The record a token would be stored as, under the given id. */
export function recordOf(token: TokenLike, id: string): TokenRecord {
  const expiry = token.getExpiresIn();
  return {
    id,
    userName: userNameOf(token),
    clientId: token.getClientId() ?? null,
    clientSecret: token.getClientSecret() ?? null,
    refreshToken: token.getRefreshToken() ?? null,
    accessToken: token.getAccessToken() ?? null,
    grantToken: token.getGrantToken() ?? null,
    expiryTime: expiry == null ? null : String(expiry),
    redirectUrl: token.getRedirectURL() ?? null,
    apiDomain: token.getAPIDomain() ?? null,
  };
}

/**
 * Fills every field the token leaves null from the record; values the token already has win,
 * as in the official stores. Returns the token.
 */
export function fillToken<T extends TokenLike>(token: T, record: TokenRecord): T {
  if (token.getId() == null) token.setId(record.id);
  if (token.getUserSignature() == null && record.userName != null) {
    token.setUserSignature(new UserSignature(record.userName));
  }
  if (token.getClientId() == null) token.setClientId(record.clientId);
  if (token.getClientSecret() == null) token.setClientSecret(record.clientSecret);
  if (token.getRefreshToken() == null) token.setRefreshToken(record.refreshToken);
  if (token.getAccessToken() == null) token.setAccessToken(record.accessToken);
  if (token.getGrantToken() == null) token.setGrantToken(record.grantToken);
  if (token.getExpiresIn() == null) token.setExpiresIn(record.expiryTime);
  if (token.getRedirectURL() == null) token.setRedirectURL(record.redirectUrl);
  if (token.getAPIDomain() == null) token.setAPIDomain(record.apiDomain);
  return token;
}
