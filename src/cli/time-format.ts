import { UsageError } from './cli-errors.js';
import { printable } from './text-format.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const UNITS: Readonly<Record<string, number>> = { s: 1000, m: MINUTE, h: HOUR, d: DAY, w: 7 * DAY };

/**
 * A duration such as `90m`, `12h`, `30d` (also `s` and `w`) in ms.
 *
 * @throws UsageError for anything else, zero included.
 *
 * @example
 * ```ts
 * parseDuration('30d', '--idle'); // 2_592_000_000
 * ```
 */
export function parseDuration(text: string, option: string): number {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (UNITS[match[2] as string] as number) : 0;
  if (!(ms > 0) || !Number.isSafeInteger(ms)) {
    throw new UsageError(`${option} takes a duration such as 90m, 12h or 30d, not ${printable(text)}`);
  }
  return ms;
}

/**
 * A moment as `2025-06-01 14:05 UTC`: minutes are enough to read an expiry, and UTC reads the same on every host.
 *
 * @example
 * ```ts
 * formatTime(Date.UTC(2025, 5, 1, 14, 5)); // '2025-06-01 14:05 UTC'
 * ```
 */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * How far `ms` is from `now`, as `in 42 min`, `3 h ago`, `in 2 d`.
 *
 * @example
 * ```ts
 * relativeTime(Date.now() - 3 * 3_600_000, Date.now()); // '3 h ago'
 * ```
 */
export function relativeTime(ms: number, now: number): string {
  const distance = Math.abs(ms - now);
  const amount =
    distance < MINUTE
      ? '<1 min'
      : distance < 2 * HOUR
        ? `${Math.floor(distance / MINUTE)} min`
        : distance < 2 * DAY
          ? `${Math.floor(distance / HOUR)} h`
          : `${Math.floor(distance / DAY)} d`;
  return ms >= now ? `in ${amount}` : `${amount} ago`;
}

/**
 * An expiry for a table cell: `2025-06-01 14:05 UTC (in 42 min)` or `… (expired 3 h ago)`; `—` for none.
 *
 * @example
 * ```ts
 * describeExpiry(Date.UTC(2025, 5, 1, 14, 5), Date.UTC(2025, 5, 1, 13, 23)); // '2025-06-01 14:05 UTC (in 42 min)'
 * ```
 */
export function describeExpiry(ms: number | null, now: number): string {
  if (ms === null) return '—';
  const relative = ms > now ? relativeTime(ms, now) : `expired ${relativeTime(ms, now)}`;
  return `${formatTime(ms)} (${relative})`;
}

/**
 * A past or future moment given as an ISO date, as `2025-06-01 14:05 UTC (3 h ago)`, or `absent` when null.
 *
 * @example
 * ```ts
 * describeMoment(view.activity.lastUsedAt, Date.now(), 'never');
 * ```
 */
export function describeMoment(iso: string | null, now: number, absent: string): string {
  if (iso === null) return absent;
  const ms = Date.parse(iso);
  return `${formatTime(ms)} (${relativeTime(ms, now)})`;
}
