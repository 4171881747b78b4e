import { randomUUID } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { TokenStoreError, TokenStoreErrorCode } from '../errors.js';

/** How a {@link FileLock} behaves. */
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

/** A lock that is held: check it before committing, release it after. */
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
 * other after `staleMs` without renewal. Taking over renames the stale file aside and checks it
 * was the one judged stale, so two processes breaking the same lock cannot both win.
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
      if (await this.#tryCreate(content)) return this.#held(content);
      if (await this.#takeOverIfStale()) continue;
      if (Date.now() > deadline) {
        throw new TokenStoreError(
          TokenStoreErrorCode.LOCK_TIMEOUT,
          `${this.#options.what} ${this.#path} not acquired within ${this.#options.timeoutMs} ms`,
        );
      }
      await sleep(wait * (0.5 + Math.random()));
    }
  }

  async #tryCreate(content: string): Promise<boolean> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    return true;
  }

  /** True when a stale lock was moved aside (the caller then tries again at once). */
  async #takeOverIfStale(): Promise<boolean> {
    let judged: { ino: bigint; content: string };
    try {
      const [info, content] = await Promise.all([stat(this.#path, { bigint: true }), readFile(this.#path, 'utf8')]);
      if (!this.#isStale(content, Number(info.mtimeMs))) return false;
      judged = { ino: info.ino, content };
    } catch (error) {
      // Released between our create and our look: try again at once.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    }
    const aside = `${this.#path}.stale-${process.pid}-${++takeovers}`;
    try {
      await rename(this.#path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw error;
    }
    const moved = await stat(aside, { bigint: true });
    const movedContent = await readFile(aside, 'utf8');
    if (moved.ino !== judged.ino || movedContent !== judged.content) {
      // Another process took over first and we moved its fresh lock: put it back.
      await link(aside, this.#path).catch(() => undefined);
    }
    await unlink(aside).catch(() => undefined);
    return true;
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
    const ours = async () => (await readFile(path, 'utf8').catch(() => null)) === content;
    let keepAlive: NodeJS.Timeout | undefined;
    if (this.#options.keepAlive) {
      keepAlive = setInterval(() => {
        const now = new Date();
        void utimes(path, now, now).catch(() => undefined);
      }, this.#options.staleMs / 3);
      keepAlive.unref();
    }
    return {
      stillHeld: ours,
      async release() {
        clearInterval(keepAlive);
        if (await ours()) await unlink(path).catch(() => undefined);
      },
    };
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
