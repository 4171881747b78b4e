import { isTokenStoreError, TokenStoreErrorCode } from '../index.js';

/**
 * Exit codes: success, the operation failed, the command line is wrong.
 *
 * @example
 * ```ts
 * if ((await runCli(['doctor'], io)) === ExitCode.FAILED) alertOperator();
 * ```
 */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/** What every CLI error may add: the error behind it, and the fix when it is obvious. */
export interface CliErrorOptions {
  cause?: unknown;
  /** What to do about it, printed after the message on the same line. */
  hint?: string;
}

/**
 * A command line the CLI cannot run: an unknown command or option, a missing or malformed argument,
 * or a configuration (store URL, key) it cannot use. Exit 2.
 *
 * @example
 * ```ts
 * if (values.from === undefined) throw new UsageError('migrate needs --from URL and --to URL');
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly hint: string | undefined;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }
}

/**
 * An operation that failed, with a message that says what and where. Exit 1.
 *
 * @example
 * ```ts
 * if (!refreshToken) throw new CommandError(`token ${id} has no refresh token for Zoho to revoke`);
 * ```
 */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly hint: string | undefined;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.hint = options.hint;
  }
}

const KEY_ERRORS: ReadonlySet<string> = new Set([
  TokenStoreErrorCode.NO_KEY,
  TokenStoreErrorCode.UNKNOWN_KEY,
  TokenStoreErrorCode.WRONG_KEY,
]);

/**
 * Whether the error is about the encryption key: none, a malformed one, or not the store's.
 *
 * @example
 * ```ts
 * if (isKeyError(error)) line('fail', `key: ZOHO_TOKEN_KEY is not usable: ${error.message}`);
 * ```
 */
export function isKeyError(error: unknown): boolean {
  return isTokenStoreError(error) && KEY_ERRORS.has(error.code);
}

// Drivers sometimes quote their connection URL; its password must never reach the terminal. The
// password runs to the last `@` before the path, as URL parsers read it, so an `@` in it hides nothing.
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:)[^\s/]*@/gi;

/**
 * Text with the password of every URL in it replaced by `***`.
 *
 * @example
 * ```ts
 * redactUrlPasswords('connect to mysql://root:p@ss@db failed'); // 'connect to mysql://root:***@db failed'
 * ```
 */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, '$1***@');
}

/** System error codes in plain words; the code itself follows in parentheses. */
const PLAIN_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  EADDRINUSE: 'address already in use',
};

/** Fixes obvious from the root cause alone; an error's own hint wins. */
const HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'is the server running, at that host and port?',
  ENOTFOUND: 'check the host name',
  ER_BAD_DB_ERROR: 'create the database, or name another in the URL',
  '3D000': 'create the database, or name another in the URL',
  ER_ACCESS_DENIED_ERROR: 'check the user and password in the URL',
  '28P01': 'check the user and password in the URL',
  NO_KEY: 'set ZOHO_TOKEN_KEY to the keyring, id:base64key (zoho-tokens keygen makes a key)',
  UNKNOWN_KEY: 'add the key the store names to ZOHO_TOKEN_KEY',
  WRONG_KEY: "set ZOHO_TOKEN_KEY to the store's keyring",
};

/**
 * The one line an error prints as: its message, the root cause in plain words (the driver's
 * message), one error code (the root cause's, else the error's own) and a hint when the fix is
 * obvious. With `verbose`, the causes follow, one indented line each, leaving out any the lines
 * above already say. Our errors never quote a secret; URL passwords a driver may quote are redacted.
 *
 * @example
 * ```ts
 * io.stderr.write(describeError(error, verbose));
 * // 'zoho-tokens: mysql://root@db/app: getTokens failed in the storage backend: Unknown database 'app' (ER_BAD_DB_ERROR) — create the database, or name another in the URL\n'
 * ```
 */
export function describeError(error: unknown, verbose: boolean): string {
  const chain = chainOf(error);
  const root = chain.at(-1);
  const code = codeOf(root) ?? chain.map(codeOf).find((found) => found !== undefined);
  let line = oneLine(error instanceof Error ? error.message : String(error));
  const rootText = root === error || chain.some(explainsItself) ? '' : plainWordsOf(root);
  if (rootText !== '' && !line.includes(rootText)) {
    // The code goes last, after the words it stands for.
    if (code !== undefined) line = line.replace(` (${code})`, '');
    line += `${line === '' ? '' : ': '}${rootText}`;
  }
  if (code !== undefined && !line.includes(code)) line += ` (${code})`;
  const hint = chain.map(hintOf).find((found) => found !== undefined) ?? (code === undefined ? undefined : HINTS[code]);
  if (hint !== undefined) line += ` — ${hint}`;
  const lines = [`zoho-tokens: ${line}`];
  if (verbose) {
    for (const cause of chain.slice(1)) {
      const message = messageOf(cause);
      if (lines.some((shown) => shown.includes(oneLine(cause instanceof Error ? cause.message : String(cause)))))
        continue;
      lines.push(`  caused by ${nameOf(cause)}: ${message}`);
    }
  }
  return `${lines.map(redactUrlPasswords).join('\n')}\n`;
}

/** Errors of ours whose message says all there is: the cause behind them (a cipher's) adds nothing. */
const SELF_EXPLAINED: ReadonlySet<string> = new Set([
  ...KEY_ERRORS,
  TokenStoreErrorCode.CORRUPT_DATA,
  TokenStoreErrorCode.UNTRUSTED_FILE,
]);

function explainsItself(error: unknown): boolean {
  return isTokenStoreError(error) && SELF_EXPLAINED.has(error.code);
}

/** The error and its causes, each once. */
function chainOf(error: unknown): unknown[] {
  const chain = [error];
  for (let cause = causeOf(error); cause !== undefined && !chain.includes(cause); cause = causeOf(cause)) {
    chain.push(cause);
  }
  return chain;
}

/** A system error (`connect ECONNREFUSED 127.0.0.1:6390`) as `connection refused at 127.0.0.1:6390`; else its message. */
function plainWordsOf(error: unknown): string {
  const code = codeOf(error);
  const words = code === undefined ? undefined : PLAIN_WORDS[code];
  if (words === undefined) return oneLine(error instanceof Error ? error.message : String(error));
  // A connection to `localhost` tries each address: Node reports them together.
  const first = error instanceof AggregateError ? error.errors[0] : error;
  const { address, port } = (first ?? {}) as { address?: unknown; port?: unknown };
  return typeof address === 'string' ? `${words} at ${address}${typeof port === 'number' ? `:${port}` : ''}` : words;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

function hintOf(error: unknown): string | undefined {
  return error instanceof UsageError || error instanceof CommandError ? error.hint : undefined;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = codeOf(error);
  return oneLine(code !== undefined && !message.includes(code) ? `${message} (${code})` : message);
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function causeOf(error: unknown): unknown {
  return error instanceof Error ? error.cause : undefined;
}
