import type { TokenLike } from './oauth-token.js';
import { userNameOf } from './token-record.js';

/**
 * A secret as it may be shown: its length and last four characters, never more than a
 * quarter of it. `null` stays `null`.
 *
 * @example
 * ```ts
 * maskSecret('1000.8f2c0e3b1a4d5e6f.7a8b9c0d1e2f3a4b'); // '…(37)3a4b'
 * ```
 */
export function maskSecret(value: string | null | undefined): string | null {
  if (value == null) return null;
  const shown = Math.min(4, Math.floor(value.length / 4));
  return `…(${value.length})${shown > 0 ? value.slice(-shown) : ''}`;
}

/** What a token may show in logs, tables and pages: ids and names plain, secrets masked. */
export interface TokenSummary {
  id: string | null;
  userName: string | null;
  clientId: string | null;
  clientSecret: string | null;
  grantToken: string | null;
  refreshToken: string | null;
  accessToken: string | null;
  /** Expiry as an ISO date, or null. */
  expiresAt: string | null;
  apiDomain: string | null;
}

/**
 * A token summary safe to print: the client id, user and dates in clear, every secret masked.
 *
 * @example
 * ```ts
 * console.table((await store.getTokens()).map(summarizeToken));
 * ```
 */
export function summarizeToken(token: TokenLike): TokenSummary {
  const expiry = Number(token.getExpiresIn());
  return {
    id: token.getId(),
    userName: userNameOf(token),
    clientId: token.getClientId(),
    clientSecret: maskSecret(token.getClientSecret()),
    grantToken: maskSecret(token.getGrantToken()),
    refreshToken: maskSecret(token.getRefreshToken()),
    accessToken: maskSecret(token.getAccessToken()),
    expiresAt: token.getExpiresIn() == null || !Number.isFinite(expiry) ? null : new Date(expiry).toISOString(),
    apiDomain: token.getAPIDomain(),
  };
}
