import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, linkSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { untrustedFileReason } from 'zoho-token-store';

const KEY_BYTES = 32;
const KEY_FILE = 'portal-session.key';
/** 32 random bytes in base64, as `openssl rand -base64 32` gives (44 with its padding). */
const MIN_SECRET_CHARS = 43;
/** Random text that long has far more different characters; fewer is a pattern or a word. */
const MIN_DISTINCT_CHARS = 12;

/**
 * Refuses a `SESSION_SECRET` too short or too regular to be 32 random bytes: whoever guesses it
 * signs in as anyone. (A hex or base64 encoding of 32 random bytes passes.)
 *
 * @throws Error naming SESSION_SECRET and how to make a good one.
 * @example
 * ```ts
 * checkSessionSecret(process.env.SESSION_SECRET ?? '');
 * ```
 */
export function checkSessionSecret(secret: string): void {
  if (secret.length < MIN_SECRET_CHARS || new Set(secret).size < MIN_DISTINCT_CHARS) {
    throw new Error(
      `SESSION_SECRET must be at least ${MIN_SECRET_CHARS} characters of random text (32 random bytes), ` +
        'such as the output of openssl rand -base64 32',
    );
  }
}

/**
 * Where the session key lives when none is configured: beside the token database for `sqlite:` and
 * `file:` store URLs (the secrets that matter live there too), else in the working directory.
 *
 * @example
 * ```ts
 * sessionKeyPath('sqlite:./data/zohooauth.db'); // 'data/portal-session.key'
 * ```
 */
export function sessionKeyPath(storeUrl: string): string {
  const local = /^(?:sqlite|file):(?:\/\/(?=\/))?(.+)$/i.exec(storeUrl)?.[1];
  return local && local !== ':memory:' ? join(dirname(local), KEY_FILE) : KEY_FILE;
}

/**
 * The key that signs session cookies. It must outlive restarts, or every user is signed out:
 * `SESSION_SECRET` when set (see {@link checkSessionSecret}), else a random key created once in a
 * 0600 file and read back on every later start.
 *
 * @throws Error when the configured secret is too short or regular, or the key file is not a key or is another
 * user's (or others may write it).
 * @example
 * ```ts
 * const key = loadSessionKey({ secret: process.env.SESSION_SECRET, file: sessionKeyPath(storeUrl) });
 * ```
 */
export function loadSessionKey(options: { secret?: string | undefined; file: string }): Buffer {
  if (options.secret !== undefined && options.secret !== '') {
    checkSessionSecret(options.secret);
    return Buffer.from(options.secret, 'utf8');
  }
  if (!existsSync(options.file)) createKeyFileOnce(options.file);
  const key = Buffer.from(readTrustedFile(options.file).trim(), 'base64url');
  if (key.length < KEY_BYTES) throw new Error(`${options.file} holds no session key; delete it to have a new one made`);
  return key;
}

/** Whoever planted or may write the key file can forge any session: another user's file is not read. */
function readTrustedFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const untrusted = untrustedFileReason(fstatSync(fd), file);
    if (untrusted !== null) throw new Error(`the session key file ${file} was not read: ${untrusted}`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a new key to a private temporary file, then links it into place: the link fails when the
 * file exists, so two portals starting together share one key, and no one reads a half-written file.
 */
function createKeyFileOnce(file: string): void {
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, `${randomBytes(KEY_BYTES).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(draft, { force: true });
  }
}
