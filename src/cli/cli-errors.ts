/**
 * Exit codes: success, the operation failed, the command line is wrong.
 *
 * @example
 * ```ts
 * if ((await runCli(['doctor'], io)) === ExitCode.FAILED) alertOperator();
 * ```
 */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/**
 * A command line the CLI cannot run: an unknown command or option, a missing or malformed argument. Exit 2.
 *
 * @example
 * ```ts
 * if (values.from === undefined) throw new UsageError('migrate needs --from URL and --to URL');
 * ```
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
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

/**
 * The one line an error prints as, and with `verbose` its cause chain beneath, one indented line
 * per cause. Our errors never quote a secret; URL passwords a driver may quote are redacted.
 *
 * @example
 * ```ts
 * io.stderr.write(describeError(error, verbose)); // 'zoho-tokens: …\n  caused by Error: …\n'
 * ```
 */
export function describeError(error: unknown, verbose: boolean): string {
  const lines = [`zoho-tokens: ${messageOf(error)}`];
  if (verbose) {
    const seen = new Set<unknown>([error]);
    for (let cause = causeOf(error); cause !== undefined && !seen.has(cause); cause = causeOf(cause)) {
      seen.add(cause);
      lines.push(`  caused by ${nameOf(cause)}: ${messageOf(cause)}`);
    }
  }
  return `${lines.map(redactUrlPasswords).join('\n')}\n`;
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const withCode = typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
  // One line per error, whatever the driver wrote.
  return withCode.replace(/\s*\n\s*/g, ' ');
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function causeOf(error: unknown): unknown {
  return error instanceof Error ? error.cause : undefined;
}
