import type { TokenLike } from '../token/oauth-token.js';
import { type TokenRecord, userNameOf } from '../token/token-record.js';
import type { LookupKey } from './record-backend.js';

/**
 * The article's matching order, written once for every store: user name; the token's id;
 * access token when no client id/secret is given; grant token, then refresh token, when both
 * client credentials are given. (The article's `find_token` lost the parentheses around
 * "refresh or grant"; here both require the credentials.) Empty strings count as absent.
 */
export function lookupKeys(token: TokenLike): LookupKey[] {
  const keys: LookupKey[] = [];
  const userName = userNameOf(token);
  if (userName !== null) keys.push({ column: 'userName', value: userName });
  const id = token.getId();
  if (present(id)) keys.push({ column: 'id', value: id });
  const clientId = token.getClientId();
  const clientSecret = token.getClientSecret();
  if (clientId == null && clientSecret == null) {
    const accessToken = token.getAccessToken();
    if (present(accessToken)) keys.push({ column: 'accessToken', value: accessToken });
  } else if (clientId != null && clientSecret != null) {
    const grantToken = token.getGrantToken();
    if (present(grantToken)) keys.push({ column: 'grantToken', value: grantToken });
    const refreshToken = token.getRefreshToken();
    if (present(refreshToken)) keys.push({ column: 'refreshToken', value: refreshToken });
  }
  return keys;
}

const present = (value: string | null | undefined): value is string => typeof value === 'string' && value.length > 0;

/**
 * Whether a row found by `key` belongs to this token. Users are kept apart: a row of another
 * user never matches a token that names its user, and a grant or refresh token only matches
 * a row of the same client.
 */
export function belongsTo(token: TokenLike, key: LookupKey, row: TokenRecord): boolean {
  // Exact match only: a database collation may have matched case or trailing spaces loosely.
  if (row[key.column] !== key.value) return false;
  const userName = userNameOf(token);
  if (userName != null && row.userName != null && row.userName !== userName) return false;
  if (key.column === 'grantToken' || key.column === 'refreshToken') {
    return row.clientId == null || row.clientId === token.getClientId();
  }
  return true;
}

/** The first row that belongs to the token, trying keys in matching order. */
export function firstMatch(
  token: TokenLike,
  keys: readonly LookupKey[],
  rowsFor: (key: LookupKey) => readonly TokenRecord[],
): TokenRecord | null {
  for (const key of keys) {
    const row = rowsFor(key).find((candidate) => belongsTo(token, key, candidate));
    if (row) return row;
  }
  return null;
}

/** Whether the token carries anything worth storing: a grant, refresh or access token. */
export function hasCredential(token: TokenLike): boolean {
  return present(token.getGrantToken()) || present(token.getRefreshToken()) || present(token.getAccessToken());
}
