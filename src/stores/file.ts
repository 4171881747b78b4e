import { createHash } from 'node:crypto';
import {
  type BigIntStats,
  closeSync,
  existsSync,
  fdatasync as fdatasyncCallback,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { chmod, copyFile, link, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';
import { untrustedFileReason } from '../file-trust.js';
import type { LookupKey, RecordBackend } from '../store/record-backend.js';
import { RecordIndex } from '../store/record-index.js';
import { RecordTokenStore, type StoreOptions } from '../store/record-token-store.js';
import type { TokenActivity } from '../store/token-activity.js';
import type { OAuthToken, TokenLike } from '../token/oauth-token.js';
import { TOKEN_COLUMNS, type TokenRecord } from '../token/token-record.js';
import { FileLock, type HeldLock } from './file-lock.js';
import { OFFICIAL_HEADER_START } from './official-csv.js';

export { parseOfficialCsv, readOfficialTokenFile } from './official-csv.js';

/**
 * Options for {@link FileStore}.
 *
 * @example
 * ```ts
 * const options: FileStoreOptions<OAuthToken> = { path: './tokens.json', lockTimeoutMs: 5_000 };
 * const store = new FileStore(options);
 * ```
 */
export interface FileStoreOptions<T extends TokenLike> extends StoreOptions<T> {
  /** The token file, for example `./tokens.json`. Created `0600` on the first save. */
  path: string;
  /**
   * A write lock (`<path>.lock`) whose holder neither released nor renewed it for this long is
   * taken over, in ms (a dead holder's on this host at once). Default 10 000.
   */
  lockStaleMs?: number;
  /** How long a refresh-lock holder that died keeps others out, in ms. Default 30 000. */
  lockLeaseMs?: number;
  /** How long to wait for the write or refresh lock before failing with `LOCK_TIMEOUT`, in ms. Default 30 000. */
  lockTimeoutMs?: number;
  /**
   * The journal is compacted into the file once it is longer than this, in bytes. Default: the
   * file's size, at least 64 KiB, so each save costs a constant share of a rewrite.
   */
  compactAfterBytes?: number;
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
const JOURNAL_HEAD_PATTERN = /^\{"format":"zoho-token-store\/journal","version":(\d+),"base":"([0-9a-f]{64})"\}$/;
const journalHead = (base: string) => `{"format":"zoho-token-store/journal","version":${VERSION},"base":"${base}"}\n`;
/** By default the journal is compacted into the file once it is longer than the file and than this, in bytes. */
const MIN_COMPACT_BYTES = 64 * 1024;
/** Another process's write shows in reads at most this late; the refresh lock and writes always look. */
const RECHECK_MS = 1;
/** Most operations one write carries, so a batch's own lookups stay cheap. */
const MAX_BATCH = 512;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const stampOf = (info: BigIntStats) => `${info.ino}:${info.size}:${info.mtimeNs}`;
const errno = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code;
let fileCounter = 0;
// Asynchronous, so the event loop runs while the disk works; the other calls on a save's path take microseconds.
const fdatasync = promisify(fdatasyncCallback);
const lockLost = () => new Error('the write lock was taken over as stale while this write held it');
const throwError = (error: Error): never => {
  throw error;
};

/** A row of the file or a journal record as a record: an array of the columns, the id a non-empty string. */
function toRecord(row: unknown): TokenRecord | null {
  const valid =
    Array.isArray(row) &&
    row.length === FIELDS.length &&
    row.every((value) => value === null || typeof value === 'string') &&
    typeof row[0] === 'string' &&
    row[0] !== '';
  return valid ? (Object.fromEntries(FIELDS.map((field, i) => [field, row[i]])) as unknown as TokenRecord) : null;
}

const isTime = (value: unknown) => value === null || Number.isSafeInteger(value);

/** An activity entry `[id, lastUsedAt, revokedAt]` as activity. */
function toActivity(row: unknown): TokenActivity | null {
  if (!Array.isArray(row) || row.length !== 3 || typeof row[0] !== 'string' || !isTime(row[1]) || !isTime(row[2])) {
    return null;
  }
  return { id: row[0], lastUsedAt: row[1] as number | null, revokedAt: row[2] as number | null };
}

/** One queued write: applied to the batch's draft under the lock, settled once the write is durable. */
interface Operation {
  apply(draft: Draft): void;
  /** Close's request to compact the journal into the file; settled after the compaction. */
  compacts: boolean;
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

/** A batch's changes, as one journal record holds them and in the order they apply. */
interface Change {
  clear: boolean;
  put: TokenRecord[];
  remove: string[];
  activity: TokenActivity[];
  forget: string[];
}

/** How far the journal was read. */
interface JournalState {
  ino: bigint;
  /** Inode, size and mtime when last read. */
  stamp: string;
  size: number;
  /** Bytes read and applied: the head and every whole, valid record. Bytes past it are a record being written or torn. */
  end: number;
  records: number;
  /** It extends another file than the loaded one (a compaction stopped before removing it): its records are in the file. */
  stale: boolean;
}

function changeOf(draft: Draft): Change {
  const change: Change = { clear: draft.cleared, put: [], remove: [], activity: [], forget: [] };
  for (const [id, row] of draft.rows) {
    if (row) change.put.push(row);
    else change.remove.push(id);
  }
  for (const [id, entry] of draft.activity) {
    if (entry) change.activity.push(entry);
    else change.forget.push(id);
  }
  return change;
}

/** A journal record: the SHA-256 of its JSON, a space, the JSON (no raw line breaks), a line break. */
function encodeRecord(change: Change): Buffer {
  const json = JSON.stringify({
    clear: change.clear,
    put: change.put.map((record) => FIELDS.map((field) => record[field])),
    remove: change.remove,
    activity: change.activity.map((entry) => [entry.id, entry.lastUsedAt, entry.revokedAt]),
    forget: change.forget,
  });
  return Buffer.from(`${sha256(json)} ${json}\n`);
}

/** Writes all of `bytes` at `position`; writeSync may write less than asked (a full disk fails on the next call). */
function writeAll(fd: number, bytes: Buffer, position: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

class FileBackend implements RecordBackend {
  readonly #path: string;
  readonly #backup: string;
  readonly #journalPath: string;
  readonly #writeLock: FileLock;
  readonly #leaseMs: number;
  readonly #lockTimeoutMs: number;
  readonly #compactAfterBytes: number | undefined;
  readonly #index = new RecordIndex();
  readonly #activity = new Map<string, TokenActivity>();
  // Each record's serialised line, so a compaction re-encodes only the rows that changed.
  readonly #lines = new WeakMap<TokenRecord, Buffer>();
  /** What the index was loaded from: inode, size and mtime; null for no file; undefined before the first load or after a failure. */
  #stamp: string | null | undefined;
  /** The loaded file's checksum: a journal extends the file whose checksum it names. */
  #checksum = '';
  #fileSize = 0;
  #journal: JournalState | null = null;
  /** The journal kept open for appending, and its inode. */
  #appendTo: { fd: number; ino: bigint } | null = null;
  /** This store appended to the journal since the last compaction: close() compacts. */
  #appended = false;
  #checkedAt = Number.NEGATIVE_INFINITY;
  /**
   * This store holds the write lock and is writing: nobody else can change the files, and what
   * it is writing must neither show before it is durable nor be read back in under its feet.
   */
  #writing = false;
  #pending: Operation[] = [];
  #flushing: Promise<void> | null = null;
  #sweptLeftovers = false;

  constructor(options: FileStoreOptions<TokenLike>) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new TypeError('FileStore: path must be a non-empty string, such as ./tokens.json');
    }
    this.#path = options.path;
    this.#backup = `${options.path}.bak`;
    this.#journalPath = `${options.path}.journal`;
    this.#leaseMs = options.lockLeaseMs ?? 30_000;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
    const { compactAfterBytes } = options;
    if (compactAfterBytes !== undefined && !(Number.isSafeInteger(compactAfterBytes) && compactAfterBytes > 0)) {
      throw new TypeError('FileStore: compactAfterBytes must be a positive integer');
    }
    this.#compactAfterBytes = compactAfterBytes;
    this.#writeLock = new FileLock(`${options.path}.lock`, {
      staleMs: options.lockStaleMs ?? 10_000,
      timeoutMs: this.#lockTimeoutMs,
      // A live writer slower than lockStaleMs (a large compaction, a paused process) must keep
      // its lock: a second writer appending at the same offset would overwrite a resolved save.
      keepAlive: true,
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
    // Fold what this store journaled into the file, so a file closed cleanly stands alone. Only
    // tidying: every resolved save is durable in the journal already, and a failure (a damaged
    // file, the lock held elsewhere) was or will be reported by the calls that meet it.
    if (this.#appended) await this.#enqueue(() => undefined, true).catch(() => undefined);
    this.#closeJournal();
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

  /** Brings the index up to date with the file and journal; at most once per RECHECK_MS unless forced. */
  #sync(force: boolean): void {
    const now = performance.now();
    if (this.#writing || (!force && now - this.#checkedAt < RECHECK_MS)) return;
    try {
      const file = this.#stat(this.#path);
      const stamp = file ? stampOf(file) : null;
      // A forced look also reads the head's checksum: a replaced file can reuse a freed inode and
      // match the stamp (same size, same clock tick), and a writer must never extend the wrong one.
      if (stamp !== this.#stamp || (force && stamp !== null && this.#headChecksum() !== this.#checksum)) this.#load();
      else this.#follow(this.#stat(this.#journalPath));
    } catch (error) {
      // Half-applied: start again from the files next time (and fail again, if they are damaged).
      this.#stamp = undefined;
      throw error;
    }
    this.#checkedAt = now;
  }

  /** The checksum the file's head names, or null when the head is not ours or the file is gone. */
  #headChecksum(): string | null {
    let fd: number;
    try {
      fd = openSync(this.#path, 'r');
    } catch (error) {
      if (errno(error) === 'ENOENT') return null;
      throw this.#failure('could not read', error);
    }
    try {
      const bytes = Buffer.alloc(BLANK_HEAD.length);
      const read = readSync(fd, bytes, 0, bytes.length, 0);
      return HEAD_PATTERN.exec(bytes.toString('latin1', 0, read))?.[2] ?? null;
    } catch (error) {
      throw this.#failure('could not read', error);
    } finally {
      closeSync(fd);
    }
  }

  #stat(path: string): BigIntStats | undefined {
    try {
      return statSync(path, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      throw this.#failure('could not read', error, '', path);
    }
  }

  /** Reads what was appended to the journal since last time, when the file itself is unchanged. */
  #follow(info: BigIntStats | undefined): void {
    const known = this.#journal;
    if (known && info && known.ino === info.ino) {
      const unchanged = stampOf(info) === known.stamp && known.size === known.end;
      if (known.stale || unchanged) return;
      // Appends only ever add bytes past what we read: anything else was an edit or a cut, to judge afresh.
      if (Number(info.size) <= known.end) this.#load();
      else this.#readJournal(known.end);
      return;
    }
    // Gone or replaced: harmless if we had applied none of its records, else start afresh.
    if (known && !known.stale && known.records > 0) {
      this.#load();
      return;
    }
    this.#journal = null;
    if (info) this.#readJournal(0);
  }

  /** Loads the file, then its journal. */
  #load(): void {
    this.#stamp = undefined;
    // The journal we appended to, if any, was compacted away or replaced: do not hold it open.
    this.#closeJournal();
    for (;;) {
      const stamp = this.#loadFile();
      if (stamp === null) return;
      this.#journal = null;
      this.#readJournal(0);
      // A compaction between the two reads pairs the old file with the new journal (ignored as stale) or none: again.
      const now = this.#stat(this.#path);
      if (now && stampOf(now) === stamp) {
        this.#stamp = stamp;
        return;
      }
    }
  }

  /** Loads the file into the index and returns its stamp, or null when there is none. */
  #loadFile(): string | null {
    let fd: number;
    try {
      fd = openSync(this.#path, 'r');
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw this.#failure('could not read', error);
      // Compactions replace the file, never remove it: a backup or journal without it means it was deleted.
      for (const beside of [this.#backup, this.#journalPath]) {
        if (existsSync(beside)) throw this.#corrupt(`it is missing but ${beside} exists, so it was deleted or moved`);
      }
      this.#replaceIndex([], []);
      this.#checksum = '';
      this.#fileSize = 0;
      this.#journal = null;
      this.#stamp = null;
      return null;
    }
    try {
      const info = fstatSync(fd, { bigint: true });
      this.#checkTrusted(info, this.#path);
      const { tokens, activity, checksum } = this.#decode(readFileSync(fd));
      this.#replaceIndex(tokens, activity);
      this.#checksum = checksum;
      this.#fileSize = Number(info.size);
      return stampOf(info);
    } catch (error) {
      if (error instanceof TokenStoreError) throw error;
      throw this.#failure('could not read', error);
    } finally {
      closeSync(fd);
    }
  }

  /** Reads the journal from byte `from` (0: all of it, head first) and applies its whole records. */
  #readJournal(from: number): void {
    let fd: number;
    try {
      fd = openSync(this.#journalPath, 'r');
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw this.#failure('could not read', error, '', this.#journalPath);
      // Removed by a compaction since we looked: the file changed too.
      if (from > 0) this.#load();
      else this.#journal = null;
      return;
    }
    let bytes: Buffer | null = null;
    let info: BigIntStats;
    try {
      info = fstatSync(fd, { bigint: true });
      this.#checkTrusted(info, this.#journalPath);
      // Replaced since we looked: the file changed too (loaded below, with this descriptor closed).
      if (from === 0 || info.ino === this.#journal?.ino) {
        bytes = Buffer.allocUnsafe(Math.max(0, Number(info.size) - from));
        let read = 0;
        for (let n = 1; n > 0 && read < bytes.length; read += n) {
          n = readSync(fd, bytes, read, bytes.length - read, from + read);
        }
        bytes = bytes.subarray(0, read);
      }
    } catch (error) {
      throw this.#failure('could not read', error, '', this.#journalPath);
    } finally {
      closeSync(fd);
    }
    if (bytes === null) this.#load();
    else this.#applyJournal(bytes, from, info);
  }

  #applyJournal(bytes: Buffer, from: number, info: BigIntStats): void {
    let position = 0;
    let journal = this.#journal;
    if (from === 0 || journal === null) {
      const lineEnd = bytes.indexOf(10);
      const match = lineEnd < 0 ? null : JOURNAL_HEAD_PATTERN.exec(bytes.toString('latin1', 0, lineEnd));
      if (!match) throw this.#corruptJournal('it does not start as a zoho-token-store journal');
      if (match[1] !== String(VERSION)) {
        throw this.#corruptJournal(`it has format version ${match[1]}, which this one cannot read`);
      }
      position = lineEnd + 1;
      journal = { ino: info.ino, stamp: '', size: 0, end: 0, records: 0, stale: match[2] !== this.#checksum };
      this.#journal = journal;
    }
    if (!journal.stale) {
      while (position < bytes.length) {
        const lineEnd = bytes.indexOf(10, position);
        // No line break yet: a record being written, or cut short by a crash.
        if (lineEnd < 0) break;
        const change = this.#parseRecord(bytes.subarray(position, lineEnd), from + position);
        if (change === null) {
          // The last record, damaged: a crash mid-append, whose save never resolved. Anywhere else: damage.
          if (lineEnd + 1 === bytes.length) break;
          throw this.#corruptJournal(
            `its record at byte ${from + position} fails its checksum and records follow it; ` +
              `truncating the journal to ${from + position} bytes keeps every record before it`,
          );
        }
        this.#applyChange(change);
        journal.records++;
        position = lineEnd + 1;
      }
    }
    journal.end = from + position;
    journal.size = Number(info.size);
    journal.stamp = stampOf(info);
  }

  /** A record's change, or null when its checksum fails (a torn or damaged record). */
  #parseRecord(line: Buffer, at: number): Change | null {
    if (line.length < 66 || line[64] !== 0x20) return null;
    const json = line.subarray(65);
    if (sha256(json) !== line.toString('latin1', 0, 64)) return null;
    const malformed = () => this.#corruptJournal(`its record at byte ${at} is not a valid change`);
    let data: { clear?: unknown; put?: unknown; remove?: unknown; activity?: unknown; forget?: unknown };
    try {
      data = JSON.parse(json.toString('utf8')) as typeof data;
    } catch {
      throw malformed();
    }
    const { clear, put, remove, activity, forget } = data;
    const isIds = (value: unknown): value is string[] =>
      Array.isArray(value) && value.every((id) => typeof id === 'string' && id !== '');
    if (typeof clear !== 'boolean' || !Array.isArray(put) || !isIds(remove) || !Array.isArray(activity)) {
      throw malformed();
    }
    if (!isIds(forget)) throw malformed();
    return {
      clear,
      put: put.map((row: unknown) => toRecord(row) ?? throwError(malformed())),
      remove,
      activity: activity.map((row: unknown) => toActivity(row) ?? throwError(malformed())),
      forget,
    };
  }

  #applyChange(change: Change): void {
    if (change.clear) this.#replaceIndex([], []);
    for (const record of change.put) this.#index.put(record);
    for (const id of change.remove) this.#index.remove(id);
    for (const entry of change.activity) this.#activity.set(entry.id, entry);
    for (const id of change.forget) this.#activity.delete(id);
  }

  #decode(bytes: Buffer): { tokens: TokenRecord[]; activity: TokenActivity[]; checksum: string } {
    const text = bytes.toString('utf8');
    const match = HEAD_PATTERN.exec(text);
    if (!match) {
      if (text.length === 0) throw this.#corrupt('it is empty');
      if (OFFICIAL_HEADER_START.test(text)) {
        throw this.#corrupt('it is a token file of the official Zoho SDK; copy its tokens in with zoho-tokens import');
      }
      throw this.#corrupt('it does not start as a zoho-token-store token file');
    }
    if (match[1] !== String(VERSION))
      throw this.#corrupt(`it has format version ${match[1]}, which this one cannot read`);
    if (!text.endsWith('}\n')) throw this.#corrupt('it is truncated');
    const checksum = match[2] as string;
    // The head is ASCII: its length in characters is its length in bytes.
    if (sha256(bytes.subarray(match[0].length, bytes.length - TAIL.length)) !== checksum) {
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
      const record = toRecord(row);
      if (!record || ids.has(record.id)) throw this.#corrupt(`token ${n + 1} is malformed or repeats an id`);
      ids.add(record.id);
      return record;
    });
    const activity = data.activity.map((row: unknown, n: number) => {
      const entry = toActivity(row);
      if (!entry || !ids.has(entry.id)) throw this.#corrupt(`activity entry ${n + 1} is malformed`);
      return entry;
    });
    return { tokens, activity, checksum };
  }

  #replaceIndex(tokens: readonly TokenRecord[], activity: readonly TokenActivity[]): void {
    this.#index.clear();
    for (const record of tokens) this.#index.put(record);
    this.#activity.clear();
    for (const entry of activity) this.#activity.set(entry.id, entry);
  }

  #enqueue(apply: (draft: Draft) => void, compacts = false): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ apply, resolve, reject, compacts });
      this.#flushing ??= this.#flush();
    });
  }

  /**
   * Group commit: every operation queued while a write is under way goes into the next one, so
   * concurrent saves share one lock, one record and one fdatasync.
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
    const settle = (operations: readonly Operation[]) => {
      for (const operation of operations) {
        operation.resolve();
        settled.add(operation);
      }
    };
    let held: HeldLock | undefined;
    try {
      held = await this.#writeLock.acquire();
      // Another process may have written since we last looked: decide on what is on disk now.
      this.#sync(true);
      this.#writing = true;
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
      if (draft.changed) {
        if (this.#stamp === null) await this.#rewrite(draft, held);
        else await this.#append(draft, held);
      }
      settle(applied.filter((operation) => !operation.compacts));
      const closing = applied.filter((operation) => operation.compacts);
      const journal = this.#journal;
      const due =
        journal !== null &&
        !journal.stale &&
        journal.records > 0 &&
        (closing.length > 0 || journal.end > (this.#compactAfterBytes ?? Math.max(MIN_COMPACT_BYTES, this.#fileSize)));
      if (due) {
        try {
          await this.#rewrite(new Draft(this.#index, this.#activity), held);
        } catch (error) {
          if (closing.length > 0) throw error;
          // The saves are durable in the journal; the next save tries the compaction again.
          this.#stamp = undefined;
          return;
        }
      }
      settle(closing);
    } catch (error) {
      // Whatever failed, the files on disk decide what the next call sees.
      this.#stamp = undefined;
      for (const operation of batch) if (!settled.has(operation)) operation.reject(error);
    } finally {
      this.#writing = false;
      await held?.release().catch(() => undefined);
    }
  }

  /** Appends the draft as one journal record and makes it durable: the cost of one save. */
  async #append(draft: Draft, held: HeldLock): Promise<void> {
    const change = changeOf(draft);
    const record = encodeRecord(change);
    const journal = this.#journal;
    try {
      if (journal === null || journal.stale) {
        await this.#startJournal(record, held);
      } else {
        const fd = this.#openJournal(journal.ino);
        if (!(await held.stillHeld())) throw lockLost();
        try {
          // Bytes past the last whole record are one a killed writer left torn: write over them.
          if (journal.size > journal.end) ftruncateSync(fd, journal.end);
          writeAll(fd, record, journal.end);
          await fdatasync(fd);
        } catch (error) {
          // No partial record may stay behind: the next record would follow it, making it damage.
          try {
            ftruncateSync(fd, journal.end);
          } catch {
            // Then it stays the last, torn record, which loading drops.
          }
          throw error;
        }
        const info = fstatSync(fd, { bigint: true });
        journal.end += record.length;
        journal.records++;
        journal.size = Number(info.size);
        journal.stamp = stampOf(info);
      }
    } catch (error) {
      throw this.#failure('could not append to', error, '; it was left as it was', this.#journalPath);
    }
    this.#applyChange(change);
    this.#appended = true;
    this.#checkedAt = performance.now();
  }

  /** A new journal, head and first record, put in place whole: there is none, or a stale one. */
  async #startJournal(record: Buffer, held: HeldLock): Promise<void> {
    if (!this.#sweptLeftovers) await this.#sweepLeftovers();
    this.#closeJournal();
    const bytes = Buffer.concat([Buffer.from(journalHead(this.#checksum)), record]);
    const temporary = this.#temporary();
    const fd = openSync(temporary, 'wx', 0o600);
    let info: BigIntStats;
    try {
      writeAll(fd, bytes, 0);
      await fdatasync(fd);
      if (!(await held.stillHeld())) throw lockLost();
      info = fstatSync(fd, { bigint: true });
      await rename(temporary, this.#journalPath);
    } catch (error) {
      closeSync(fd);
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    this.#appendTo = { fd, ino: info.ino };
    this.#journal = {
      ino: info.ino,
      stamp: stampOf(info),
      size: bytes.length,
      end: bytes.length,
      records: 1,
      stale: false,
    };
    // A new name in the folder: durable only once the folder is.
    await fsyncPath(dirname(this.#path));
  }

  /** The journal's descriptor for appending, opened once and kept while the journal is the same file. */
  #openJournal(ino: bigint): number {
    if (this.#appendTo?.ino !== ino) {
      this.#closeJournal();
      const fd = openSync(this.#journalPath, 'r+');
      if (fstatSync(fd, { bigint: true }).ino !== ino) {
        closeSync(fd);
        throw new Error('the journal was replaced while the write lock was held');
      }
      this.#appendTo = { fd, ino };
    }
    return this.#appendTo.fd;
  }

  #closeJournal(): void {
    if (this.#appendTo) closeSync(this.#appendTo.fd);
    this.#appendTo = null;
  }

  /**
   * Compaction (and the first write): the whole state, with the draft, to a temporary file made
   * durable, the current file kept as the backup, the new one renamed into place, the folder
   * synced, and only then the journal removed. A crash before the rename leaves the old file and
   * its journal; after it, the new file and a journal that names the old one, ignored as stale.
   */
  async #rewrite(draft: Draft, held: HeldLock): Promise<void> {
    if (!this.#sweptLeftovers) await this.#sweepLeftovers();
    const { bytes, checksum } = this.#encode(draft);
    const temporary = this.#temporary();
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
        const backupLink = this.#temporary('bak');
        await link(this.#path, backupLink).catch((error) => {
          // Folders without hard links (some network and FUSE file systems) get a copy instead.
          if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(errno(error) ?? '')) throw error;
          // A copy, unlike a link, is new data: durable before the file it backs up is replaced.
          return copyFile(this.#path, backupLink).then(() => fsyncPath(backupLink));
        });
        // The file may predate us (or a copy made by hand) with a wider mode: the backup is 0600 too.
        await chmod(backupLink, 0o600);
        await rename(backupLink, this.#backup);
        // rename() does nothing when both names are already links to one file (after a crash
        // between the two renames); the extra link must not stay behind.
        await unlink(backupLink).catch(() => undefined);
      }
      if (!(await held.stillHeld())) throw lockLost();
      await rename(temporary, this.#path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw this.#failure('could not write', error, '; it was left as it was');
    }
    try {
      await fsyncPath(dirname(this.#path));
    } catch (error) {
      // The new file is in place; the next read reloads it from disk.
      throw this.#failure('could not sync the folder of', error);
    }
    this.#closeJournal();
    // Its records are in the file now; should the removal not last, the journal names the old file and is ignored.
    await unlink(this.#journalPath).catch(() => undefined);
    this.#journal = null;
    this.#appended = false;
    this.#applyChange(changeOf(draft));
    this.#checksum = checksum;
    const info = statSync(this.#path, { bigint: true });
    this.#fileSize = Number(info.size);
    this.#stamp = stampOf(info);
    this.#checkedAt = performance.now();
  }

  /**
   * The file's bytes: one token per line, so the file stays readable and diffable. Built from
   * each record's cached bytes, so a write of a large file costs copies, not re-serialisation.
   */
  #encode(draft: Draft): { bytes: Buffer; checksum: string } {
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
    const bytes = Buffer.concat([
      BLANK_HEAD,
      PAYLOAD_START,
      ...listed(rows),
      BETWEEN,
      ...listed(activity),
      PAYLOAD_END,
      TAIL,
    ]);
    const checksum = sha256(bytes.subarray(BLANK_HEAD.length, bytes.length - TAIL.length));
    bytes.write(head(checksum), 0, 'utf8');
    return { bytes, checksum };
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

  #temporary(kind: 'tmp' | 'bak' = 'tmp'): string {
    return `${this.#path}.${kind}-${process.pid}-${++fileCounter}`;
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

  /** Another user's file, or one others may write, could be theirs: its checksum proves nothing, so it is not read. */
  #checkTrusted(info: BigIntStats, path: string): void {
    const reason = untrustedFileReason(info, path);
    if (reason !== null) {
      throw new TokenStoreError(
        TokenStoreErrorCode.UNTRUSTED_FILE,
        `FileStore: the token file ${path} was not read: ${reason}. Nothing was replaced`,
      );
    }
  }

  #corrupt(reason: string): TokenStoreError {
    return new TokenStoreError(
      TokenStoreErrorCode.CORRUPT_DATA,
      `FileStore: the token file ${this.#path} failed its integrity check: ${reason}. It was left as it is; ` +
        `${this.#backup}, if present, is the last good copy before the latest compaction (see FileStore on recovery)`,
    );
  }

  #corruptJournal(reason: string): TokenStoreError {
    return new TokenStoreError(
      TokenStoreErrorCode.CORRUPT_DATA,
      `FileStore: the journal ${this.#journalPath} of the token file ${this.#path} failed its integrity check: ` +
        `${reason}. It was left as it is (see FileStore on recovery)`,
    );
  }

  #failure(what: string, cause: unknown, more = '', path = this.#path): TokenStoreError {
    if (cause instanceof TokenStoreError) return cause;
    const code = errno(cause);
    return new TokenStoreError(
      TokenStoreErrorCode.STORAGE_FAILURE,
      `FileStore: ${what} ${path}${code ? ` (${code})` : ''}${more}`,
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

/** fsync of a file or folder (a folder's entries: names created, renamed or removed in it). */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Tokens in a JSON file that cannot be lost to a crash or silently damaged: the article's file
 * store, fixed. Processes sharing the file take turns through a lock file (`<path>.lock`, renewed
 * while held; a dead holder's is taken over at once on this host, any other once it went
 * `lockStaleMs` without renewal). Reads come from an in-memory index, reloaded only when the
 * files changed. Every save is durable when it resolves; concurrent saves share one write (group
 * commit). Files are created `0600`, the backup included. Values of any content (commas, quotes,
 * newlines, unicode, very long) round-trip exactly.
 *
 * **Files.** `<path>` is the snapshot: one JSON document with a SHA-256 checksum of its payload,
 * one token per line. `<path>.journal` holds the changes made since: a head line
 * `{"format":"zoho-token-store/journal","version":1,"base":"<checksum of the snapshot it extends>"}`,
 * then one line per write, `<SHA-256 of the JSON> <JSON>`, the JSON being
 * `{"clear":bool,"put":[rows],"remove":[ids],"activity":[[id,lastUsedAt,revokedAt]],"forget":[ids]}`
 * (rows as in the snapshot, applied in that order). A save appends one record and fdatasyncs the
 * journal: no rename, no folder sync. Once the journal is longer than the snapshot (and 64 KiB,
 * or `compactAfterBytes`), and when a store that wrote to it closes, it is compacted: the whole state goes to a temporary
 * file, fsynced, the current snapshot is kept as `<path>.bak`, the new one renamed into place, the
 * folder fsynced, and then the journal removed. The first save writes the snapshot the same way.
 *
 * **Crashes.** A writer killed mid-append leaves at most its last record torn; its save never
 * resolved, so loading drops it (as a database drops an unfinished WAL record) and the next
 * writer writes over it. The rule cannot tell that from a last record damaged later, after its
 * save resolved (a disk error): that one record is dropped too, as a database would. A
 * compaction killed before its rename leaves the old snapshot and its journal; after it, the new
 * snapshot and a journal whose base is the old snapshot: its records are in the new one, so it
 * is ignored and the next save replaces it.
 *
 * **Damage.** A snapshot that is truncated, edited or not ours, a journal record that fails its
 * checksum with records after it, or a missing snapshot beside a journal or backup, fails every
 * call with `CORRUPT_DATA` naming the file; nothing is overwritten. To recover: a damaged journal
 * record's error gives its byte offset, and truncating the journal there keeps every record
 * before it. A damaged snapshot: `<path>.bak` is the snapshot before the latest compaction (a
 * `FileStore` opened on the `.bak` path reads it as is); look at both, then
 * `cp tokens.json.bak tokens.json`. The journal then names another base and is ignored, so the
 * changes since the previous compaction are lost: check the journal for them first.
 * `withRefreshLock` is a leased lock file per key.
 *
 * **Other users.** A snapshot or journal owned by another user (root excepted) or that group or
 * others may write could have been planted, checksum and all: every call fails with `UNTRUSTED_FILE`
 * naming it and the `chown`/`chmod` fix; nothing is read or replaced.
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
