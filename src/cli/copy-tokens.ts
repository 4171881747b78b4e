import {
  hasActivityTracking,
  isTokenStoreError,
  type PagedReads,
  type TokenActivity,
  type TokenLike,
  type TokenStore,
  TokenStoreErrorCode,
} from '../index.js';
import { CommandError } from './cli-errors.js';
import { NO_PROGRESS, type Progress } from './progress-bar.js';
import { plural } from './text-format.js';

/** A store that can save many tokens in one call; used when the target offers it. */
interface BulkSaving {
  saveTokens(tokens: readonly TokenLike[]): Promise<void>;
}

const hasBulkSave = (store: object): store is BulkSaving =>
  typeof (store as Partial<BulkSaving>).saveTokens === 'function';

/** Every built-in store reads a page at a time and counts without reading. */
const hasPagedReads = (store: object): store is PagedReads =>
  typeof (store as Partial<PagedReads>).getTokensPage === 'function' &&
  typeof (store as Partial<PagedReads>).countTokens === 'function';

/** Tokens per page read, and so per `saveTokens` call: the batch every built-in store writes atomically. */
const PAGE_SIZE = 1000;

/** Activity records written at once into the target. */
const ACTIVITY_CONCURRENCY = 16;

/**
 * How many tokens the store holds: `countTokens()` where it has it (every built-in store), else
 * by reading them all.
 *
 * @example
 * ```ts
 * io.stdout.write(`${await countOf(store)} tokens\n`);
 * ```
 */
export async function countOf(store: TokenStore<TokenLike>): Promise<number> {
  return hasPagedReads(store) ? store.countTokens() : (await store.getTokens()).length;
}

/**
 * A store's tokens as pages, with how many there are (counted before the first page, so it is
 * what the store held then).
 *
 * @example
 * ```ts
 * const { total, pages } = await readInPages(source);
 * for await (const page of pages) await target.saveTokens(page);
 * ```
 */
export interface TokenPages {
  readonly total: number;
  readonly pages: AsyncIterable<TokenLike[]>;
}

/**
 * Reads a store a page at a time in id order (`getTokensPage`, `countTokens`), so only one page
 * is in memory whatever the store's size. The count and the first page are read here and now, so
 * a store that cannot be read at all (down, or a key that does not decrypt it) fails this call,
 * before anything is written anywhere. A store without paged reads (a custom one) is read whole
 * with `getTokens()`, here and now, and handed out in pages of the same size.
 *
 * @example
 * ```ts
 * const { total, pages } = await readInPages(store);
 * let seen = 0;
 * for await (const page of pages) seen += page.length;
 * ```
 */
export async function readInPages(store: TokenStore<TokenLike>, pageSize = PAGE_SIZE): Promise<TokenPages> {
  if (hasPagedReads(store)) {
    const total = await store.countTokens();
    return { total, pages: walk(store, pageSize, await store.getTokensPage(null, pageSize)) };
  }
  const tokens = await store.getTokens();
  return { total: tokens.length, pages: slices(tokens, pageSize) };
}

async function* walk(store: PagedReads, pageSize: number, first: TokenLike[]): AsyncGenerator<TokenLike[]> {
  for (let page = first; page.length > 0; ) {
    // Taken before the page is handed on: saving it elsewhere may set other ids on its tokens.
    const after = page.at(-1)?.getId();
    if (after == null) throw new TypeError('getTokensPage gave a token without an id');
    yield page;
    page = await store.getTokensPage(after, pageSize);
  }
}

async function* slices(tokens: readonly TokenLike[], pageSize: number): AsyncGenerator<TokenLike[]> {
  for (let start = 0; start < tokens.length; start += pageSize) yield tokens.slice(start, start + pageSize);
}

/**
 * What {@link copyPages} did.
 *
 * @example
 * ```ts
 * const { copied, targetCount, missing } = await copyPages(await readInPages(source), target, null);
 * if (missing.length > 0) console.error(`${missing.length} of ${copied} source ids are not in the target`);
 * ```
 */
export interface CopyResult {
  /** Tokens read from the source and saved into the target. */
  copied: number;
  /** Tokens whose last use or revocation was copied; null when a store does not track activity. */
  withActivity: number | null;
  /** Tokens the target holds afterwards. */
  targetCount: number;
  /** Source ids the target does not hold after the copy. */
  missing: string[];
}

/**
 * Tuning and reporting of {@link copyPages}.
 *
 * @example
 * ```ts
 * const options: CopyOptions = { progressFor: (total) => progressBar(io.stderr, 'migrate', total), sourceName: 'sqlite:./a.db' };
 * ```
 */
export interface CopyOptions {
  /** Called with the total when the copy starts; its display is updated as pages are saved. */
  progressFor?: ((total: number) => Progress) | null;
  /** How a failure to read the source names it (a masked URL). Default `the source`. */
  sourceName?: string;
  /** How a failure to save into the target names it (a masked URL). Default `the target`. */
  targetName?: string;
}

/**
 * Saves every page into the target (`saveEvery`: ids kept, users matched, atomic batches), then
 * checks that the target holds every source id by reading it in pages too, and copies the
 * source's activity for the ids it holds. Only the source ids are kept across pages, so memory
 * stays a page plus one id per token. A failure says how far the copy got; what was saved stays
 * saved, and running it again updates instead of duplicating.
 *
 * @example
 * ```ts
 * const source = await readInPages(from);
 * const activity = hasActivityTracking(from) ? await from.getActivity() : null;
 * const { copied, missing } = await copyPages(source, to, activity);
 * ```
 */
export async function copyPages(
  source: TokenPages,
  target: TokenStore<TokenLike>,
  activity: readonly TokenActivity[] | null,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const progress = options.progressFor?.(source.total) ?? NO_PROGRESS;
  const sourceIds = new Set<string>();
  let copied = 0;
  let reading = true;
  try {
    for await (const page of source.pages) {
      reading = false;
      for (const token of page) {
        const id = token.getId();
        if (id !== null) sourceIds.add(id);
      }
      const before = copied;
      await saveEvery(target, page, (saved) => {
        copied = before + saved;
        progress.update(copied);
      });
      reading = true;
    }
  } catch (error) {
    const then = reading
      ? `reading ${options.sourceName ?? 'the source'} failed`
      : `saving into ${options.targetName ?? 'the target'} failed`;
    throw stoppedPartWay(`copied ${copied} of ${plural(source.total, 'token')}, then ${then}`, error, {
      idConflict:
        'a source id belongs to a token of another user in the target: delete that token there, then run migrate again',
      command: 'migrate',
    });
  } finally {
    progress.finish(copied);
  }
  // Source ids are struck off as the target's pages show them: what remains is missing.
  const missing = new Set(sourceIds);
  let targetCount = 0;
  for await (const page of (await readInPages(target)).pages) {
    targetCount += page.length;
    for (const token of page) missing.delete(token.getId() as string);
  }
  for (const id of missing) sourceIds.delete(id);
  const withActivity = activity === null ? null : await copyActivity(activity, target, sourceIds);
  return { copied, withActivity, targetCount, missing: [...missing] };
}

/**
 * The failure of a copy that stopped part way: how far it got and what failed (the store's error
 * is its cause), with what to do as its hint: for `ID_CONFLICT` the `idConflict` advice (a re-run alone would
 * stop there again), else running the command again, which picks up where it stopped.
 *
 * @example
 * ```ts
 * throw stoppedPartWay('imported 10 of 25 tokens, then saving failed', error, { idConflict: 'run import --new-ids', command: 'import' });
 * ```
 */
export function stoppedPartWay(
  what: string,
  error: unknown,
  advice: { idConflict: string; command: string },
): CommandError {
  const conflict = isTokenStoreError(error) && error.code === TokenStoreErrorCode.ID_CONFLICT;
  const hint = conflict ? advice.idConflict : `running ${advice.command} again resumes it`;
  return new CommandError(what, { cause: error, hint });
}

/**
 * Saves every token, in order, into the store with its own rules (match, upsert, keep ids): by
 * `saveTokens` in batches of 1,000, or one `saveToken` at a time on a store without it (a custom
 * one). `onProgress` is called after each batch (or token) with how many are saved so far.
 * Stops at the first failure and rethrows it; the batches saved before stay saved, so running it
 * again completes the job without duplicates.
 *
 * @returns how many tokens were saved.
 *
 * @example
 * ```ts
 * const saved = await saveEvery(target, await source.getTokens(), (n) => progress.update(n));
 * ```
 */
export async function saveEvery(
  store: TokenStore<TokenLike>,
  tokens: readonly TokenLike[],
  onProgress?: (saved: number) => void,
): Promise<number> {
  const batchSize = hasBulkSave(store) ? PAGE_SIZE : 1;
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
 * Records in the target the last use and revocation read from the source store, for every token
 * the target holds under the same id, so cleanup by idleness works the same after a move. Times
 * only move forward in a store, so copying again changes nothing. Returns how many tokens' activity
 * was copied, or null when the target does not track activity.
 */
async function copyActivity(
  activity: readonly TokenActivity[],
  target: object,
  heldIds: ReadonlySet<string | null>,
): Promise<number | null> {
  if (!hasActivityTracking(target)) return null;
  const entries = activity.filter((entry) => heldIds.has(entry.id));
  await eachBounded(entries, ACTIVITY_CONCURRENCY, async ({ id, lastUsedAt, revokedAt }) => {
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
