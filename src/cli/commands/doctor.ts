import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { untrustedFileReason } from '../../file-trust.js';
import { type OpenedStore, openStore, type TokenLike } from '../../index.js';
import { EncryptedStore } from '../../stores/encrypted.js';
import { type RedisPersistence, RedisStore } from '../../stores/redis.js';
import { CommandError, describeError, ExitCode, isKeyError, UsageError } from '../cli-errors.js';
import type { CliIo } from '../cli-io.js';
import { defineCommand } from '../command.js';
import { isSealed } from '../sealed-tokens.js';
import { keyringOf, maskStoreUrl, openCliStore, STORE_OPTION, storeFileOf, storeUrlOf } from '../store-url.js';
import { plural } from '../text-format.js';

type Outcome = 'ok' | 'warn' | 'fail';
type Line = (outcome: Outcome, text: string) => void;
const MARK: Readonly<Record<Outcome, string>> = { ok: '✓', warn: '!', fail: '✗' };

/** Files a store keeps beside its main file that hold tokens too, by URL scheme. */
const COMPANIONS: Readonly<Record<string, readonly string[]>> = {
  sqlite: ['-wal', '-shm', '-journal'],
  file: ['.bak', '.journal'],
};

/**
 * `zoho-tokens doctor`: checks the store, its files' permissions and the encryption key, one line each.
 *
 * @example
 * ```ts
 * const code = await runCli(['doctor', '--store', 'sqlite:./zohooauth.db'], io); // 0 when every check passed
 * ```
 */
export const doctorCommand = defineCommand({
  name: 'doctor',
  summary: 'check that the store opens and answers, its file permissions and the encryption key',
  help: `Usage: zoho-tokens doctor [--store URL]

Checks, one line each (✓ passed, ! warning, ✗ failed):
  - for sqlite: and file: stores, that the file exists, is yours (or root's) and only its owner
    can read it (0600), the same of the files beside it that hold tokens too (-wal, -shm, .bak,
    .journal), and that no one else owns or can write in its folder (and so replace it);
  - the store opens and answers (connectivity), and how many tokens it holds;
  - its schema is usable: a token is read back by its id;
  - for redis: stores, that the server persists writes (appendonly yes): a warning when it keeps
    none or only RDB snapshots (a restart loses tokens), or when it cannot be checked;
  - when ZOHO_TOKEN_KEY is set, that it is a valid keyring and decrypts every stored token
    (a warning when some are still plain or under an older key: run zoho-tokens rekey);
    when it is not set, that the store holds no encrypted tokens it could not read.
Exits 1 when a check fails; warnings alone exit 0. It never creates a missing store file.

Options:
  --store URL   the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  -v, --verbose also print the cause chain of a failed check
  -h, --help    show this help
`,
  options: STORE_OPTION,
  async run({ values, io }) {
    const url = storeUrlOf(values.store, io);
    const verbose = values.verbose === true;
    let failed = false;
    const line: Line = (outcome, text) => {
      io.stdout.write(`${MARK[outcome]} ${text}\n`);
      if (outcome === 'fail') failed = true;
    };
    const file = storeFileOf(url);
    if (file !== null) {
      if (!(await checkFile(file, 'store file', line))) return ExitCode.FAILED;
      await checkFolder(dirname(file), line);
      for (const suffix of COMPANIONS[url.split(':')[0]?.toLowerCase() ?? ''] ?? []) {
        await checkFile(`${file}${suffix}`, 'file', line, true);
      }
    }
    const where = maskStoreUrl(url);
    let store: OpenedStore;
    try {
      store = await openCliStore(url, io, { showSealed: true });
    } catch (error) {
      if (error instanceof UsageError) throw error;
      if (isKeyError(error)) line('fail', `key: ZOHO_TOKEN_KEY is not usable: ${detail(error, verbose)}`);
      // A storage failure already names the store.
      else if (error instanceof CommandError) line('fail', `store does not open: ${detail(error, verbose)}`);
      else line('fail', `store does not open: ${where}: ${detail(error, verbose)}`);
      return ExitCode.FAILED;
    }
    try {
      await checkStore(store, where, line, verbose, io);
      if (/^rediss?:/i.test(url)) await checkPersistence(url, line, verbose);
    } finally {
      await store.close();
    }
    return failed ? ExitCode.FAILED : ExitCode.OK;
  },
});

/**
 * The file exists (a check must not create it) and is private to its owner. A missing `optional`
 * file passes silently; a missing store file fails.
 */
async function checkFile(file: string, what: string, line: Line, optional = false): Promise<boolean> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch {
    if (!optional) line('fail', `${what} ${file} does not exist (or cannot be read)`);
    return false;
  }
  const mode = info.mode & 0o777;
  const octal = mode.toString(8).padStart(4, '0');
  const untrusted = untrustedFileReason(info, file);
  if (untrusted !== null) line('warn', `${what} ${file}: ${untrusted}`);
  else if ((mode & 0o077) === 0) line('ok', `${what} ${file} is readable by its owner only (${octal})`);
  else line('warn', `${what} ${file} has mode ${octal}, so others can read tokens: run chmod 600 ${file}`);
  return true;
}

/**
 * Whoever may write in the folder may replace the store file with one of their own (a rename needs
 * no access to the file), unless the sticky bit keeps them to their own files, as in /tmp.
 */
async function checkFolder(folder: string, line: Line): Promise<void> {
  const info = await stat(folder);
  // Its owner only: who else may write in it is judged below, where the sticky bit counts.
  const untrusted = untrustedFileReason({ uid: info.uid, mode: 0 }, folder);
  if (untrusted !== null) line('warn', `folder ${folder}: ${untrusted}`);
  const mode = info.mode & 0o7777;
  const octal = mode.toString(8).padStart(4, '0');
  if ((mode & 0o022) === 0 || (mode & 0o1000) !== 0)
    line('ok', `folder ${folder} lets no one else replace the store file (${octal})`);
  else
    line('warn', `folder ${folder} has mode ${octal}, so others can replace the store file: run chmod go-w ${folder}`);
}

async function checkStore(store: OpenedStore, where: string, line: Line, verbose: boolean, io: CliIo): Promise<void> {
  let tokens: TokenLike[];
  try {
    tokens = await store.getTokens();
  } catch (error) {
    if (!isKeyError(error)) {
      line('fail', `store does not answer: ${where}: ${detail(error, verbose)}`);
      return;
    }
    // The rows were read; they did not decrypt.
    line('ok', `store answers: ${where}`);
    line('fail', `key: ZOHO_TOKEN_KEY does not decrypt the stored tokens: ${detail(error, verbose)}`);
    return;
  }
  const ids = tokens.map((token) => token.getId()).filter((id): id is string => id !== null);
  line('ok', `store answers: ${where} holds ${plural(ids.length, 'token')}`);
  try {
    const probe = ids[0];
    if (probe === undefined) {
      if ((await store.findTokenById('0000000000')) !== null) throw new Error('an empty store returned a token');
      line('ok', 'schema usable: a read by id answers (the store is empty)');
    } else {
      const token = await store.findTokenById(probe);
      if (token?.getId() !== probe) throw new Error(`token ${probe} was listed but not found by its id`);
      line('ok', `schema usable: token ${probe} read back by its id`);
    }
  } catch (error) {
    line('fail', `schema not usable: ${detail(error, verbose)}`);
  }
  // With ZOHO_TOKEN_KEY set, the CLI opens every store encrypted.
  if (keyringOf(io) === undefined || !(store instanceof EncryptedStore)) {
    const sealed = tokens.filter(isSealed).length;
    if (sealed > 0) {
      line('fail', `key: ZOHO_TOKEN_KEY is not set, yet the store holds ${plural(sealed, 'encrypted token')}`);
    }
    return;
  }
  try {
    const { checked, stale } = await store.verifyKey();
    line('ok', `key: ZOHO_TOKEN_KEY decrypts every stored token (${plural(checked, 'token')} checked)`);
    if (stale > 0) {
      line('warn', `key: run zoho-tokens rekey: ${plural(stale, 'token')} not yet under key ${store.primaryKeyId}`);
    }
  } catch (error) {
    line('fail', `key: ZOHO_TOKEN_KEY does not decrypt the stored tokens: ${detail(error, verbose)}`);
  }
}

/**
 * A Redis store needs the append-only file: without it a restart of Redis loses every token saved
 * since the last snapshot, and refresh tokens lost that way mean users signing in again. Read
 * through a plain store (no key needed: no token is read).
 */
async function checkPersistence(url: string, line: Line, verbose: boolean): Promise<void> {
  const plain = await openStore(url);
  let settings: RedisPersistence;
  try {
    if (!(plain instanceof RedisStore)) return;
    settings = await plain.persistence();
  } catch (error) {
    line('warn', `persistence: could not check: ${detail(error, verbose)}`);
    return;
  } finally {
    await plain.close();
  }
  const { appendOnly, appendFsync, snapshots } = settings;
  const fix = 'set appendonly yes and appendfsync everysec (or always) in redis.conf';
  if (appendOnly === true) {
    if (appendFsync === 'always' || appendFsync === 'everysec')
      line('ok', `persistence: appendonly yes, appendfsync ${appendFsync}`);
    else if (appendFsync === null)
      line('ok', 'persistence: appendonly yes (appendfsync could not be checked: CONFIG is not allowed)');
    else
      line(
        'warn',
        `persistence: appendonly yes, appendfsync ${appendFsync}: a crash of the machine loses the saves the OS had not yet written; set appendfsync everysec`,
      );
  } else if (appendOnly === false && snapshots === '')
    line('warn', `persistence: none (appendonly no, no save schedule): a restart of Redis loses every token; ${fix}`);
  else if (appendOnly === false && snapshots !== null)
    line(
      'warn',
      `persistence: RDB snapshots only (save ${snapshots}): a restart of Redis loses the tokens saved since the last snapshot; ${fix}`,
    );
  else
    line(
      'warn',
      `persistence: could not check (CONFIG is not allowed${appendOnly === false ? ', and INFO says appendonly is off' : appendOnly === null ? ', nor INFO' : ''}); a token store needs appendonly yes`,
    );
}

/** An error's message for a check line; with `verbose`, its causes follow on the next lines. */
function detail(error: unknown, verbose: boolean): string {
  return describeError(error, verbose)
    .trimEnd()
    .replace(/^zoho-tokens: /, '');
}
