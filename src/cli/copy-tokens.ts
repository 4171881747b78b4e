import { hasActivityTracking, type TokenActivity, type TokenLike, type TokenStore } from '../index.js';

/** A store that can save many tokens in one call; used when the target offers it. */
interface BulkSaving {
  saveTokens(tokens: readonly TokenLike[]): Promise<void>;
}

const hasBulkSave = (store: object): store is BulkSaving =>
  typeof (store as Partial<BulkSaving>).saveTokens === 'function';

/**
 * Tuning of {@link saveEvery}.
 *
 * @example
 * ```ts
 * const options: SaveOptions = { batchSize: 500, onProgress: (saved) => progress.update(saved) };
 * ```
 */
export interface SaveOptions {
  /** Tokens per `saveTokens` call. Default 1000, the batch every built-in store writes atomically. */
  batchSize?: number;
  /** Called after each batch (or token) with how many are saved so far. */
  onProgress?: (saved: number) => void;
}

/**
 * Saves every token, in order, into the store with its own rules (match, upsert, keep ids): by
 * `saveTokens` in batches, or one `saveToken` at a time on a store without it (a custom one).
 * Stops at the first failure and rethrows it; the batches saved before stay saved, so running it
 * again completes the job without duplicates.
 *
 * @returns how many tokens were saved.
 *
 * @example
 * ```ts
 * const saved = await saveEvery(target, await source.getTokens(), { onProgress: (n) => progress.update(n) });
 * ```
 */
export async function saveEvery(
  store: TokenStore<TokenLike>,
  tokens: readonly TokenLike[],
  options: SaveOptions = {},
): Promise<number> {
  const { onProgress } = options;
  const batchSize = hasBulkSave(store) ? (options.batchSize ?? 1000) : 1;
  let saved = 0;
  for (let start = 0; start < tokens.length; start += batchSize) {
    const batch = tokens.slice(start, start + batchSize);
    if (hasBulkSave(store)) await store.saveTokens(batch);
    else await store.saveToken(batch[0] as TokenLike);
    saved += batch.length;
    onProgress?.(saved);
  }
  return saved;
}

/**
 * Records in the target the last use and revocation read from the source store (its
 * `getActivity()`), for every token the target holds under the same id; cleanup by idleness then
 * works the same after a move. Times only move forward in a store, so copying again changes nothing.
 *
 * @returns how many tokens' activity was copied, or null when the target does not track activity.
 *
 * @example
 * ```ts
 * const activity = hasActivityTracking(source) ? await source.getActivity() : [];
 * await saveEvery(target, tokens);
 * await copyActivity(activity, target, new Set(tokens.map((token) => token.getId())));
 * ```
 */
export async function copyActivity(
  activity: readonly TokenActivity[],
  target: object,
  heldIds: ReadonlySet<string | null>,
  concurrency = 16,
): Promise<number | null> {
  if (!hasActivityTracking(target)) return null;
  const entries = activity.filter((entry) => heldIds.has(entry.id));
  await eachBounded(entries, concurrency, async ({ id, lastUsedAt, revokedAt }) => {
    if (lastUsedAt !== null) await target.recordUse(id, lastUsedAt);
    if (revokedAt !== null) await target.recordRevoked(id, revokedAt);
  });
  return entries.length;
}

/**
 * Runs `work` on every item with at most `concurrency` in flight. Stops starting new work at the
 * first failure, lets the work in flight settle, then rethrows that failure.
 */
async function eachBounded<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      try {
        await work(items[next++] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
