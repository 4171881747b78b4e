import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { link, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';

/**
 * How a {@link FileLock} behaves.
 *
 * @example
 * ```ts
 * const options: FileLockOptions = { staleMs: 30_000, timeoutMs: 30_000, keepAlive: true, what: 'refresh lock' };
 * ```
 */
export interface FileLockOptions {
  /** A lock whose file was not renewed for this long is taken over, in ms. */
  staleMs: number;
  /** How long `acquire` waits before failing with `LOCK_TIMEOUT`, in ms. */
  timeoutMs: number;
  /** Renews the lock file's time every `staleMs / 3` while held, for long holds. Default false. */
  keepAlive?: boolean;
  /** Names the lock in errors. */
  what: string;
}

/**
 * A lock that is held: check it before committing, release it after.
 *
 * @example
 * ```ts
 * const held: HeldLock = await lock.acquire();
 * try {
 *   if (await held.stillHeld()) await commit();
 * } finally {
 *   await held.release();
 * }
 * ```
 */
export interface HeldLock {
  /** True while the lock file is still this holder's (nobody took it over as stale). */
  stillHeld(): Promise<boolean>;
  /** Removes the lock file if it is still this holder's. */
  release(): Promise<void>;
}

const HOST = hostname();
let takeovers = 0;

/**
 * A lock between processes: a file created with O_EXCL, holding the owner's pid, host and a
 * random nonce. A lock whose owner is a dead process on this host is taken over at once; any
 * other after `staleMs` without renewal. Processes that find it stale take turns through
 * `<path>.break` to remove it, each looking again in its turn, so none can remove the fresh
 * lock another has just taken.
 *
 * @example
 * ```ts
 * const lock = new FileLock('/var/lib/app/tokens.json.lock', { staleMs: 10_000, timeoutMs: 30_000, what: 'write lock' });
 * const held = await lock.acquire();
 * try { await work(); } finally { await held.release(); }
 * ```
 */
export class FileLock {
  readonly #path: string;
  readonly #options: FileLockOptions;

  constructor(path: string, options: FileLockOptions) {
    this.#path = path;
    this.#options = options;
  }

  /** Waits for the lock, taking it over when stale. @throws TokenStoreError LOCK_TIMEOUT */
  async acquire(): Promise<HeldLock> {
    const content = JSON.stringify({ pid: process.pid, host: HOST, nonce: randomUUID(), at: Date.now() });
    const deadline = Date.now() + this.#options.timeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 25)) {
      try {
        if (this.#tryCreate(this.#path, content)) return this.#held(content);
        if (await this.#takeOverIfStale(content)) continue;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new TokenStoreError(
          TokenStoreErrorCode.STORAGE_FAILURE,
          `${this.#options.what} ${this.#path} could not be taken${code ? ` (${code})` : ''}`,
          { cause: error },
        );
      }
      if (Date.now() > deadline) {
        throw new TokenStoreError(
          TokenStoreErrorCode.LOCK_TIMEOUT,
          `${this.#options.what} ${this.#path} not acquired within ${this.#options.timeoutMs} ms`,
        );
      }
      await sleep(wait * (0.5 + Math.random()));
    }
  }

  // Taking and releasing the lock use the synchronous calls: each is a few microseconds, while a
  // round trip through libuv's thread pool costs tens, and a save takes and releases it every time.
  #tryCreate(path: string, content: string): boolean {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      writeSync(fd, content);
    } catch (error) {
      // An empty lock (a full disk) would keep everyone out until it is stale: remove it.
      closeSync(fd);
      unlinkSync(path);
      throw error;
    }
    closeSync(fd);
    return true;
  }

  /** A lock file's inode, mtime and content now, or null when there is none. */
  #look(path = this.#path): { ino: bigint; mtimeMs: number; content: string } | null {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      const info = fstatSync(fd, { bigint: true });
      return { ino: info.ino, mtimeMs: Number(info.mtimeMs), content: readFileSync(fd, 'utf8') };
    } finally {
      closeSync(fd);
    }
  }

  /**
   * True when the lock is free to try again (released, or a stale one removed). Breakers take
   * turns through `<path>.break`, and the one whose turn it is looks again: without that, one
   * could move aside the fresh lock another breaker had just created.
   */
  async #takeOverIfStale(content: string): Promise<boolean> {
    const judged = this.#look();
    if (judged === null) return true;
    if (!this.#isStale(judged.content, judged.mtimeMs)) return false;
    const breaker = `${this.#path}.break`;
    if (!this.#tryCreate(breaker, content)) {
      // Another breaker is at work for a moment; one that died there is judged like a holder,
      // and removed the same careful way: two may judge it at once, and a third start afresh.
      const other = this.#look(breaker);
      if (other && this.#isStale(other.content, other.mtimeMs)) {
        await this.#removeIfSame(breaker, other.ino).catch((error) => {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        });
      }
      return false;
    }
    try {
      const now = this.#look();
      if (now === null) return true;
      if (now.ino !== judged.ino || now.content !== judged.content) return false;
      await this.#removeIfSame(this.#path, judged.ino);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    } finally {
      await unlink(breaker).catch(() => undefined);
    }
  }

  /**
   * Removes the file at `path` if it is still the one judged stale (inode `ino`): moved aside
   * first, and put back if it turns out to be another, taken since the look.
   */
  async #removeIfSame(path: string, ino: bigint): Promise<void> {
    const aside = `${path}.stale-${process.pid}-${++takeovers}`;
    await rename(path, aside);
    const moved = await stat(aside, { bigint: true });
    if (moved.ino !== ino) await link(aside, path).catch(() => undefined);
    await unlink(aside);
  }

  #isStale(content: string, mtimeMs: number): boolean {
    if (Date.now() - mtimeMs > this.#options.staleMs) return true;
    let owner: { pid?: unknown; host?: unknown };
    try {
      owner = JSON.parse(content) as typeof owner;
    } catch {
      return false; // being written right now, or foreign: only its age can free it
    }
    return owner.host === HOST && typeof owner.pid === 'number' && !isAlive(owner.pid);
  }

  #held(content: string): HeldLock {
    const path = this.#path;
    const ours = () => {
      try {
        return readFileSync(path, 'utf8') === content;
      } catch {
        return false;
      }
    };
    let keepAlive: NodeJS.Timeout | undefined;
    if (this.#options.keepAlive) {
      keepAlive = setInterval(() => {
        const now = new Date();
        void utimes(path, now, now).catch(() => undefined);
      }, this.#options.staleMs / 3);
      keepAlive.unref();
    }
    return {
      stillHeld: async () => ours(),
      async release() {
        clearInterval(keepAlive);
        if (!ours()) return;
        try {
          unlinkSync(path);
        } catch {
          // Already gone: taken over as stale and released by its new holder.
        }
      },
    };
  }
}

/** Whether a process with this id runs on this machine (under any user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
