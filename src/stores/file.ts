import { createHash } from 'node:crypto';
import { type BigIntStats, closeSync, existsSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { copyFile, link, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import type { LookupKey, RecordBackend } from '../store/record-backend.js';
import { RecordIndex } from '../store/record-index.js';
import { RecordTokenStore, type StoreOptions } from '../store/record-token-store.js';
import type { TokenActivity } from '../store/token-activity.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';
import { TOKEN_COLUMNS, type TokenRecord } from '../token/token-record.js';
import { FileLock, type HeldLock } from './file-lock.js';

export { parseOfficialCsv, readOfficialTokenFile } from './official-csv.js';

/** Options for {@link FileStore}. */
export interface FileStoreOptions<T extends TokenLike> extends StoreOptions<T> {
  /** The token file, for example `./tokens.json`. Created `0600` on the first save. */
  path: string;
  /** A write lock (`<path>.lock`) not released after this long is taken over, in ms. Default 10 000. */
  lockStaleMs?: number;
  /** How long a refresh-lock holder that died keeps others out, in ms. Default 30 000. */
  lockLeaseMs?: number;
  /** How long to wait for the write or refresh lock before failing with `LOCK_TIMEOUT`, in ms. Default 30 000. */
  lockTimeoutMs?: number;
}

const FORMAT = 'zoho-token-store/file';
const VERSION = 1;
// The checksum covers the exact payload bytes, which sit between this head and the closing `}\n`.
const head = (checksum: string) => `{"format":"${FORMAT}","version":${VERSION},"checksum":"${checksum}",\n"payload":`;
const HEAD_PATTERN = /^\{"format":"zoho-token-store\/file","version":(\d+),"checksum":"([0-9a-f]{64})",\n"payload":/;
const COLUMNS = TOKEN_COLUMNS.map((c) => c.column);
const PAYLOAD_START = Buffer.from(`{"columns":${JSON.stringify(COLUMNS)},"tokens":[\n`);
const BETWEEN = Buffer.from('\n],"activity":[\n');
const PAYLOAD_END = Buffer.from('\n]}');
const TAIL = Buffer.from('}\n');
const BLANK_HEAD = Buffer.from(head('0'.repeat(64)));
const FIELDS = TOKEN_COLUMNS.map((c) => c.field);
/** Another process's write shows in reads at most this late; the refresh lock and writes always look. */
const RECHECK_MS = 1;
/** Most operations one write carries, so a batch's own lookups stay cheap. */
const MAX_BATCH = 512;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const stampOf = (info: BigIntStats) => `${info.ino}:${info.size}:${info.mtimeNs}`;
const errno = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;
let fileCounter = 0;

/** One queued write: applied to the batch's draft under the lock, settled once the write is durable. */
interface Operation {
  apply(draft: Draft): void;
  resolve(): void;
  reject(error: unknown): void;
}

/** The changes of one batch, layered over the loaded index until they are on disk. */
class Draft {
  cleared = false;
  /** Rows written (a record) or deleted (null) by this batch. */
  readonly rows = new Map<string, TokenRecord | null>();
  readonly activity = new Map<string, TokenActivity | null>();
  // The rows this batch wrote, indexed, so lookups stay O(1) in batches of thousands of saves.
  readonly #written = new RecordIndex();

  constructor(
    readonly index: RecordIndex,
    readonly baseActivity: ReadonlyMap<string, TokenActivity>,
  ) {}

  get changed(): boolean {
    return this.cleared || this.rows.size > 0 || this.activity.size > 0;
  }

  findBy(key: LookupKey): TokenRecord[] {
    const out: TokenRecord[] = [];
    if (!this.cleared) for (const row of this.index.findBy(key)) if (!this.rows.has(row.id)) out.push(row);
    out.push(...this.#written.findBy(key));
    return out;
  }

  put(record: TokenRecord): void {
    this.rows.set(record.id, record);
    this.#written.put(record);
  }

  remove(id: string): void {
    this.rows.set(id, null);
    this.#written.remove(id);
    this.activity.set(id, null);
  }

  clear(): void {
    this.cleared = true;
    this.rows.clear();
    this.#written.clear();
    this.activity.clear();
  }

  activityOf(id: string): TokenActivity | undefined {
    if (this.activity.has(id)) return this.activity.get(id) ?? undefined;
    return this.cleared ? undefined : this.baseActivity.get(id);
  }
}

class FileBackend implements RecordBackend {
  readonly #path: string;
  readonly #backup: string;
  readonly #writeLock: FileLock;
  readonly #leaseMs: number;
  readonly #lockTimeoutMs: number;
  readonly #index = new RecordIndex();
  readonly #activity = new Map<string, TokenActivity>();
  // Each record's serialised line, so a write re-encodes only the rows it changed.
  readonly #lines = new WeakMap<TokenRecord, Buffer>();
  /** What the index was loaded from: inode, size and mtime; null for no file; undefined before the first load. */
  #stamp: string | null | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #pending: Operation[] = [];
  #flushing: Promise<void> | null = null;
  #sweptLeftovers = false;

  constructor(options: FileStoreOptions<TokenLike>) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new TypeError('FileStore: path must be a non-empty string, such as ./tokens.json');
    }
    this.#path = options.path;
    this.#backup = `${options.path}.bak`;
    this.#leaseMs = options.lockLeaseMs ?? 30_000;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
    this.#writeLock = new FileLock(`${options.path}.lock`, {
      staleMs: options.lockStaleMs ?? 10_000,
      timeoutMs: this.#lockTimeoutMs,
      what: 'FileStore write lock',
    });
  }

  findBy(key: LookupKey): readonly TokenRecord[] {
    this.#sync(false);
    return this.#index.findBy(key);
  }

  upsert(keys: readonly LookupKey[], decide: (candidates: readonly TokenRecord[]) => TokenRecord): Promise<void> {
    return this.#enqueue((draft) => {
      const candidates = new Map<string, TokenRecord>();
      for (const key of keys) for (const row of draft.findBy(key)) candidates.set(row.id, row);
      draft.put(decide([...candidates.values()]));
    });
  }

  upsertMany(
    keys: readonly LookupKey[],
    decide: (candidates: readonly TokenRecord[]) => readonly TokenRecord[],
  ): Promise<void> {
    return this.#enqueue((draft) => {
      const candidates = new Map<string, TokenRecord>();
      for (const key of keys) for (const row of draft.findBy(key)) candidates.set(row.id, row);
      for (const record of decide([...candidates.values()])) draft.put(record);
    });
  }

  delete(id: string): Promise<void> {
    return this.#enqueue((draft) => {
      if (draft.findBy({ column: 'id', value: id }).length > 0) draft.remove(id);
    });
  }

  async list(): Promise<readonly TokenRecord[]> {
    this.#sync(true);
    return [...this.#index.values()];
  }

  clear(): Promise<void> {
    return this.#enqueue((draft) => draft.clear());
  }

  touch(id: string, event: 'used' | 'revoked', at: number): Promise<void> {
    return this.#enqueue((draft) => {
      if (draft.findBy({ column: 'id', value: id }).length === 0) return;
      const { lastUsedAt = null, revokedAt = null } = draft.activityOf(id) ?? {};
      if (event === 'used' && lastUsedAt !== null && lastUsedAt >= at) return;
      if (event === 'revoked' && revokedAt !== null && revokedAt >= at) return;
      draft.activity.set(id, event === 'used' ? { id, lastUsedAt: at, revokedAt } : { id, lastUsedAt, revokedAt: at });
    });
  }

  async activity(): Promise<readonly TokenActivity[]> {
    this.#sync(true);
    return [...this.#activity.values()];
  }

  async close(): Promise<void> {
    await this.#flushing;
  }

  async withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    const lock = new FileLock(`${this.#path}.refresh-${sha256(key).slice(0, 16)}.lock`, {
      staleMs: this.#leaseMs,
      timeoutMs: this.#lockTimeoutMs,
      keepAlive: true,
      what: 'FileStore refresh lock',
    });
    const held = await lock.acquire();
    // Whoever held the lock before may have just saved a refreshed token: read it, not the cache.
    this.#checkedAt = Number.NEGATIVE_INFINITY;
    try {
      return await work();
    } finally {
      await held.release();
    }
  }

  /** Reloads the index when the file is not the one it was loaded from; at most once per RECHECK_MS unless forced. */
  #sync(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.#checkedAt < RECHECK_MS) return;
    let info: BigIntStats | undefined;
    try {
      info = statSync(this.#path, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      throw this.#failure('could not read', error);
    }
    if ((info ? stampOf(info) : null) !== this.#stamp) this.#load();
    this.#checkedAt = now;
  }

  #load(): void {
    let fd: number;
    try {
      fd = openSync(this.#path, 'r');
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw this.#failure('could not read', error);
      // Writes replace the file, never remove it: a backup without its file means someone deleted it.
      if (existsSync(this.#backup)) {
        throw this.#corrupt(`it is missing but its backup ${this.#backup} exists, so it was deleted or moved`);
      }
      this.#replaceIndex([], []);
      this.#stamp = null;
      return;
    }
    try {
      const info = fstatSync(fd, { bigint: true });
      const { tokens, activity } = this.#decode(readFileSync(fd));
      this.#replaceIndex(tokens, activity);
      this.#stamp = stampOf(info);
    } catch (error) {
      if (error instanceof TokenStoreError) throw error;
      throw this.#failure('could not read', error);
    } finally {
      closeSync(fd);
    }
  }

  #decode(bytes: Buffer): { tokens: TokenRecord[]; activity: TokenActivity[] } {
    const text = bytes.toString('utf8');
    const match = HEAD_PATTERN.exec(text);
    if (!match) {
      if (text.length === 0) throw this.#corrupt('it is empty');
      if (text.startsWith('id,user_mail,')) {
        throw this.#corrupt('it is a token file of the official Zoho SDK; copy its tokens in with zoho-tokens import');
      }
      throw this.#corrupt('it does not start as a zoho-token-store token file');
    }
    if (match[1] !== String(VERSION))
      throw this.#corrupt(`it has format version ${match[1]}, which this one cannot read`);
    if (!text.endsWith('}\n')) throw this.#corrupt('it is truncated');
    // The head is ASCII: its length in characters is its length in bytes.
    if (sha256(bytes.subarray(match[0].length, bytes.length - TAIL.length)) !== match[2]) {
      throw this.#corrupt('its checksum does not match: it was truncated or edited');
    }
    const payload = text.slice(match[0].length, -TAIL.length);
    let data: { columns?: unknown; tokens?: unknown; activity?: unknown };
    try {
      data = JSON.parse(payload) as typeof data;
    } catch {
      throw this.#corrupt('its payload is not valid JSON');
    }
    if (JSON.stringify(data.columns) !== JSON.stringify(COLUMNS))
      throw this.#corrupt('its columns are not the expected ones');
    if (!Array.isArray(data.tokens) || !Array.isArray(data.activity))
      throw this.#corrupt('it lacks tokens or activity');
    const ids = new Set<string>();
    const tokens = data.tokens.map((row: unknown, n: number) => {
      const valid =
        Array.isArray(row) &&
        row.length === FIELDS.length &&
        row.every((value) => value === null || typeof value === 'string') &&
        typeof row[0] === 'string' &&
        row[0] !== '' &&
        !ids.has(row[0]);
      if (!valid) throw this.#corrupt(`token ${n + 1} is malformed or repeats an id`);
      ids.add(row[0]);
      return Object.fromEntries(FIELDS.map((field, i) => [field, row[i]])) as unknown as TokenRecord;
    });
    const isTime = (value: unknown) => value === null || Number.isSafeInteger(value);
    const activity = data.activity.map((row: unknown, n: number) => {
      if (!Array.isArray(row) || row.length !== 3 || !ids.has(row[0]) || !isTime(row[1]) || !isTime(row[2])) {
        throw this.#corrupt(`activity entry ${n + 1} is malformed`);
      }
      return { id: row[0] as string, lastUsedAt: row[1] as number | null, revokedAt: row[2] as number | null };
    });
    return { tokens, activity };
  }

  #replaceIndex(tokens: readonly TokenRecord[], activity: readonly TokenActivity[]): void {
    this.#index.clear();
    for (const record of tokens) this.#index.put(record);
    this.#activity.clear();
    for (const entry of activity) this.#activity.set(entry.id, entry);
  }

  #enqueue(apply: (draft: Draft) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ apply, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /**
   * Group commit: every operation queued while a write is under way goes into the next one, so
   * concurrent saves share one lock, one write and one fsync.
   */
  async #flush(): Promise<void> {
    // Let the calls made in the same tick join the first batch.
    await Promise.resolve();
    try {
      while (this.#pending.length > 0) await this.#commit(this.#pending.splice(0, MAX_BATCH));
    } finally {
      this.#flushing = null;
    }
  }

  async #commit(batch: readonly Operation[]): Promise<void> {
    const settled = new Set<Operation>();
    let held: HeldLock | undefined;
    try {
      held = await this.#writeLock.acquire();
      // Another process may have written since we last looked: decide on what is on disk now.
      this.#sync(true);
      const draft = new Draft(this.#index, this.#activity);
      const applied: Operation[] = [];
      for (const operation of batch) {
        try {
          operation.apply(draft);
          applied.push(operation);
        } catch (error) {
          operation.reject(error);
          settled.add(operation);
        }
      }
      if (draft.changed) await this.#write(draft, held);
      for (const operation of applied) {
        operation.resolve();
        settled.add(operation);
      }
    } catch (error) {
      for (const operation of batch) if (!settled.has(operation)) operation.reject(error);
    } finally {
      await held?.release().catch(() => undefined);
    }
  }

  /** Writes the draft's state to a temporary file, makes it durable, keeps a backup and renames it into place. */
  async #write(draft: Draft, held: HeldLock): Promise<void> {
    if (!this.#sweptLeftovers) await this.#sweepLeftovers();
    const bytes = this.#encode(draft);
    const temporary = `${this.#path}.tmp-${process.pid}-${++fileCounter}`;
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        // writeFile, unlike writev, retries short writes: a full disk fails here, never truncates.
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (this.#stamp !== null) {
        // The file being replaced passed its checksum when loaded under this lock: it is the last good copy.
        const backupLink = `${this.#path}.bak-${process.pid}-${++fileCounter}`;
        await link(this.#path, backupLink).catch((error) => {
          // Folders without hard links (some network and FUSE file systems) get a copy instead.
          if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errno(error) ?? '')) throw error;
          return copyFile(this.#path, backupLink);
        });
        await rename(backupLink, this.#backup);
        // rename() does nothing when both names are already links to one file (after a crash
        // between the two renames); the extra link must not stay behind.
        await unlink(backupLink).catch(() => undefined);
      }
      if (!(await held.stillHeld())) throw new Error('the write lock was taken over as stale while this write held it');
      await rename(temporary, this.#path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw this.#failure('could not write', error, '; it was left as it was');
    }
    try {
      await syncFolder(dirname(this.#path));
    } catch (error) {
      // The new file is in place; the next read reloads it from disk.
      throw this.#failure('could not sync the folder of', error);
    }
    if (draft.cleared) this.#replaceIndex([], []);
    for (const [id, row] of draft.rows) {
      if (row) this.#index.put(row);
      else this.#index.remove(id);
    }
    for (const [id, entry] of draft.activity) {
      if (entry) this.#activity.set(id, entry);
      else this.#activity.delete(id);
    }
    this.#stamp = stampOf(statSync(this.#path, { bigint: true }));
    this.#checkedAt = performance.now();
  }

  /**
   * The file's bytes: one token per line, so the file stays readable and diffable. Built from
   * each record's cached bytes, so a write of a large file costs copies, not re-serialisation.
   */
  #encode(draft: Draft): Buffer {
    const rows: Buffer[] = [];
    if (!draft.cleared) {
      for (const row of this.#index.values()) if (!draft.rows.has(row.id)) rows.push(this.#lineOf(row));
    }
    for (const row of draft.rows.values()) if (row) rows.push(this.#lineOf(row));
    const activity: Buffer[] = [];
    const kept = draft.cleared ? [] : [...this.#activity.values()].filter((entry) => !draft.activity.has(entry.id));
    for (const entry of [...kept, ...draft.activity.values()]) {
      if (entry) activity.push(Buffer.from(`${JSON.stringify([entry.id, entry.lastUsedAt, entry.revokedAt])},\n`));
    }
    // One buffer, one copy: the head has a fixed length, so its checksum is written in last.
    const file = Buffer.concat([
      BLANK_HEAD,
      PAYLOAD_START,
      ...listed(rows),
      BETWEEN,
      ...listed(activity),
      PAYLOAD_END,
      TAIL,
    ]);
    file.write(head(sha256(file.subarray(BLANK_HEAD.length, file.length - TAIL.length))), 0, 'utf8');
    return file;
  }

  /** A record's line in the file, with the `,\n` that follows every line but the last. */
  #lineOf(record: TokenRecord): Buffer {
    let line = this.#lines.get(record);
    if (line === undefined) {
      line = Buffer.from(`${JSON.stringify(FIELDS.map((field) => record[field]))},\n`);
      this.#lines.set(record, line);
    }
    return line;
  }

  /** Removes temporary files a killed writer left behind; safe because we hold the write lock. */
  async #sweepLeftovers(): Promise<void> {
    this.#sweptLeftovers = true;
    const prefix = basename(this.#path);
    const folder = dirname(this.#path);
    const names = await readdir(folder).catch(() => []);
    for (const name of names) {
      if (/^\.(tmp|bak)-\d+-\d+$/.test(name.slice(prefix.length)) && name.startsWith(prefix)) {
        await unlink(join(folder, name)).catch(() => undefined);
      }
    }
  }

  #corrupt(reason: string): TokenStoreError {
    return new TokenStoreError(
      TokenStoreErrorCode.CORRUPT_DATA,
      `FileStore: the token file ${this.#path} failed its integrity check: ${reason}. It was left as it is; ` +
        `${this.#backup}, if present, is the last good copy before the latest write (see FileStore on recovery)`,
    );
  }

  #failure(what: string, cause: unknown, more = ''): TokenStoreError {
    if (cause instanceof TokenStoreError) return cause;
    const code = errno(cause);
    return new TokenStoreError(
      TokenStoreErrorCode.STORAGE_FAILURE,
      `FileStore: ${what} ${this.#path}${code ? ` (${code})` : ''}${more}`,
      { cause },
    );
  }
}

/** Lines that each end in `,\n`, as JSON array items: the last one without it. */
function listed(lines: Buffer[]): Buffer[] {
  const last = lines.at(-1);
  if (last) lines[lines.length - 1] = last.subarray(0, last.length - 2);
  return lines;
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Tokens in one JSON file that cannot be lost to a crash or silently damaged: the article's
 * file store, fixed. Every write goes to a temporary file (mode `0600`), is fsynced and renamed
 * over the file, and the folder is fsynced. Processes sharing the file take turns through a
 * lock file (`<path>.lock`; a dead holder's lock is taken over at once, a stuck one after
 * `lockStaleMs`). Reads come from an in-memory index, reloaded only when the file changed.
 * Concurrent saves share one write (group commit); each resolves once its data is on disk.
 *
 * The file holds a SHA-256 checksum of its contents. A file that is truncated, edited or not
 * ours fails every call with `CORRUPT_DATA` naming it, and is never replaced. Before each write,
 * the previous file is kept as `<path>.bak`: the last good copy, which lacks only the latest
 * write. To recover, look at both, then `cp tokens.json.bak tokens.json` (a `FileStore` opened on
 * the `.bak` path reads it as is). Values of any content (commas, quotes, newlines, unicode, very
 * long) round-trip exactly. `withRefreshLock` is a leased lock file per key.
 *
 * @example
 * ```ts
 * import { OAuthToken } from 'zoho-token-store';
 * import { FileStore } from 'zoho-token-store/stores/file';
 * const store = new FileStore({ path: './tokens.json' });
 * await store.saveToken(new OAuthToken({ userName: 'ana@zylker.com', refreshToken: '1000.r…', accessToken: '1000.a…' }));
 * const found = await store.findToken(new OAuthToken({ userName: 'ana@zylker.com' }));
 * await store.close();
 * ```
 */
export class FileStore<T extends TokenLike = OAuthToken> extends RecordTokenStore<T> {
  readonly #backend: FileBackend;

  constructor(options: FileStoreOptions<T>) {
    const backend = new FileBackend(options as FileStoreOptions<TokenLike>);
    super(backend, options);
    this.#backend = backend;
    this.path = options.path;
  }

  /** The token file this store reads and writes. */
  readonly path: string;

  /**
   * Runs `work` while holding a named lock shared by every process using this file, so a
   * TokenManager refreshes once across them. A holder that dies frees it at once on this host,
   * and after `lockLeaseMs` elsewhere; a live holder renews its lease while it works.
   *
   * @example
   * ```ts
   * await store.withRefreshLock('ana@zylker.com', async () => refreshAndSave());
   * ```
   */
  withRefreshLock<R>(key: string, work: () => Promise<R>): Promise<R> {
    return this.#backend.withRefreshLock(key, work);
  }
}
