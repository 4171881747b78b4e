import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import type { TokenLike } from '../token/oauth-token.js';
import { type TokenRecord, userNameOf } from '../token/token-record.js';
import type { LookupColumn, LookupKey } from './record-backend.js';

/**
 * The article's matching order, written once for every store: user name; the token's id;
 * access token when no client id/secret is given; grant token, then refresh token, when both
 * client credentials are given. (The article's `find_token` lost the parentheses around
 * "refresh or grant"; here both require the credentials.) Empty strings count as absent.
 *
 * One user, one row across SDKs: the official SDK 8.0 names a user `email:zgid`. A plain email
 * also names that user: after the exact name, a plain `ana@x.com` tries the rows of
 * `ana@x.com:<zgid>` (several orgs' rows make it ambiguous, see {@link pickRow}), and
 * `ana@x.com:123` tries a row named plain `ana@x.com` (written before the org was known).
 */
export function lookupKeys(token: TokenLike): LookupKey[] {
  const keys: LookupKey[] = [];
  const userName = userNameOf(token);
  if (userName !== null) {
    keys.push({ column: 'userName', value: userName });
    const email = emailOf(userName);
    keys.push(email === null ? { column: 'userEmail', value: userName } : { column: 'userName', value: email });
  }
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
 * The email of a user named `email:zgid`, the official SDK 8.0's way; null for a plain name (or
 * one with nothing before or after its first `:`).
 *
 * @example
 * ```ts
 * emailOf('ana@zylker.com:700001234'); // 'ana@zylker.com'
 * emailOf('ana@zylker.com');           // null
 * ```
 */
export function emailOf(userName: string | null): string | null {
  if (userName === null) return null;
  const colon = userName.indexOf(':');
  return colon > 0 && colon < userName.length - 1 ? userName.slice(0, colon) : null;
}

/**
 * The range of user names `email:…` as `[from, to)` in binary order (`:` then `;`), so a SQL
 * backend finds the rows of a `userEmail` key with an index range scan.
 */
export function emailRange(email: string): readonly [string, string] {
  return [`${email}:`, `${email};`];
}

/**
 * The lookup columns a backend indexes besides `id`: every column {@link lookupKeys} can ask for.
 *
 * @example
 * ```ts
 * for (const column of INDEXED) console.log(column, lookupValue(row, column));
 * ```
 */
export const INDEXED: readonly Exclude<LookupColumn, 'id'>[] = [
  'userName',
  'userEmail',
  'accessToken',
  'grantToken',
  'refreshToken',
];

/** The record's value in a lookup column: `userEmail` is derived from the user name. */
export function lookupValue(row: TokenRecord, column: LookupColumn): string | null {
  return column === 'userEmail' ? emailOf(row.userName) : row[column];
}

/** Whether two user names name one user: equal, or a plain email and that email with an org. */
export function sameUser(a: string, b: string): boolean {
  return a === b || emailOf(a) === b || emailOf(b) === a;
}

/**
 * The user name a save writes over a stored row of the same user: the incoming one, except that
 * a plain email keeps the stored `email:zgid`, so the official SDK still finds its row.
 */
export function savedUserName(incoming: string | null, stored: string | null): string | null {
  return incoming !== null && emailOf(stored) === incoming ? stored : incoming;
}

/**
 * Whether a row found by `key` belongs to this token. Users are kept apart: a row of another
 * user never matches a token that names its user, and a grant or refresh token only matches
 * a row of the same client.
 */
export function belongsTo(token: TokenLike, key: LookupKey, row: TokenRecord): boolean {
  // Exact match only: a database collation may have matched case or trailing spaces loosely.
  if (lookupValue(row, key.column) !== key.value) return false;
  const userName = userNameOf(token);
  if (userName != null && row.userName != null && !sameUser(userName, row.userName)) return false;
  if (key.column === 'grantToken' || key.column === 'refreshToken') {
    return row.clientId == null || row.clientId === token.getClientId();
  }
  return true;
}

/** What {@link pickRow} answers when a plain email has rows in several orgs. */
export const AMBIGUOUS = Symbol('ambiguous user');

/**
 * The row among those found by `key` that belongs to the token; null when none does, and
 * {@link AMBIGUOUS} when a plain email finds rows of several orgs (a later key may still decide).
 */
export function pickRow(
  token: TokenLike,
  key: LookupKey,
  rows: readonly TokenRecord[],
): TokenRecord | null | typeof AMBIGUOUS {
  let found: TokenRecord | null = null;
  for (const row of rows) {
    if (!belongsTo(token, key, row)) continue;
    if (key.column !== 'userEmail') return row;
    if (found !== null && found.id !== row.id) return AMBIGUOUS;
    found = row;
  }
  return found;
}

/** The typed error of a plain email that names users of several orgs and nothing else decides. */
export function ambiguousUser(operation: string): TokenStoreError {
  return new TokenStoreError(
    TokenStoreErrorCode.AMBIGUOUS_USER,
    `${operation}: the user's email has tokens in several orgs; name the user as email:zgid`,
  );
}

/**
 * The first row that belongs to the token, trying keys in matching order.
 *
 * @throws TokenStoreError `AMBIGUOUS_USER` when a plain email has rows in several orgs and no other key decides.
 */
export function firstMatch(
  token: TokenLike,
  keys: readonly LookupKey[],
  rowsFor: (key: LookupKey) => readonly TokenRecord[],
  operation = 'saveToken',
): TokenRecord | null {
  let ambiguous = false;
  for (const key of keys) {
    const row = pickRow(token, key, rowsFor(key));
    if (row === AMBIGUOUS) ambiguous = true;
    else if (row) return row;
  }
  if (ambiguous) throw ambiguousUser(operation);
  return null;
}

/** Whether the token carries anything worth storing: a grant, refresh or access token. */
export function hasCredential(token: TokenLike): boolean {
  return present(token.getGrantToken()) || present(token.getRefreshToken()) || present(token.getAccessToken());
}
