import {
  hasActivityTracking,
  summarizeToken,
  type TokenActivity,
  type TokenLike,
  type TokenSummary,
} from '../index.js';
import { SEALED_LABEL, sealedFields } from './sealed-tokens.js';

/**
 * What the CLI shows of a token: {@link TokenSummary} (secrets masked) plus expiry state and activity.
 *
 * @example
 * ```ts
 * const view: TokenView = viewOf(token, await activityOf(store), Date.now());
 * io.stdout.write(JSON.stringify(view));
 * ```
 */
export interface TokenView extends TokenSummary {
  /** Where Zoho sent the user back after consent; not a secret. */
  redirectUrl: string | null;
  /** Whether the access token has expired; null when the token has no expiry. */
  expired: boolean | null;
  /** Last use and revocation as ISO dates; null when the store does not track activity. */
  activity: { lastUsedAt: string | null; revokedAt: string | null } | null;
}

/**
 * Each token's activity by id, or null when the store does not track activity.
 *
 * @example
 * ```ts
 * const lastUse = (await activityOf(store))?.get(id)?.lastUsedAt ?? null;
 * ```
 */
export async function activityOf(store: object): Promise<ReadonlyMap<string, TokenActivity> | null> {
  if (!hasActivityTracking(store)) return null;
  const activity = await store.getActivity();
  return new Map(activity.map((entry) => [entry.id, entry]));
}

/**
 * The masked view of one token. A secret read still encrypted (no ZOHO_TOKEN_KEY) shows as
 * `encrypted`.
 *
 * @example
 * ```ts
 * const views = (await store.getTokens()).map((token) => viewOf(token, null, Date.now()));
 * ```
 */
export function viewOf(token: TokenLike, activity: ReadonlyMap<string, TokenActivity> | null, now: number): TokenView {
  const summary = summarizeToken(token);
  const sealed = sealedFields(token);
  for (const field of sealed) summary[field] = SEALED_LABEL;
  // An empty secret is none: an encrypted row keeps an absent token as an empty column, and the
  // official SDK saves a token with an empty grant token.
  if (token.getGrantToken() === '') summary.grantToken = null;
  if (token.getRefreshToken() === '') summary.refreshToken = null;
  if (token.getAccessToken() === '') summary.accessToken = null;
  if (token.getClientSecret() === '') summary.clientSecret = null;
  const expiry = expiryOf(summary);
  const entry = summary.id === null ? undefined : activity?.get(summary.id);
  return {
    ...summary,
    redirectUrl: token.getRedirectURL(),
    expired: expiry === null ? null : expiry <= now,
    activity: activity === null ? null : { lastUsedAt: isoOf(entry?.lastUsedAt), revokedAt: isoOf(entry?.revokedAt) },
  };
}

/**
 * The expiry of a view or summary in ms, or null.
 *
 * @example
 * ```ts
 * expiryOf({ expiresAt: '2025-06-01T14:05:00.000Z' }); // 1748786700000
 * ```
 */
export function expiryOf(summary: Pick<TokenSummary, 'expiresAt'>): number | null {
  return summary.expiresAt === null ? null : Date.parse(summary.expiresAt);
}

const isoOf = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString());

/**
 * The order tokens are listed in, the same on every host: by user name, case aside (tokens without
 * one first), then by id. Plain code-unit comparison: no locale decides it.
 *
 * @example
 * ```ts
 * views.sort(byUserThenId);
 * ```
 */
export function byUserThenId(a: TokenSummary, b: TokenSummary): number {
  const [userA, userB] = [a.userName ?? '', b.userName ?? ''];
  return compare(userA.toLowerCase(), userB.toLowerCase()) || compare(a.id ?? '', b.id ?? '') || compare(userA, userB);
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
