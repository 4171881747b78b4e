import { describeError, ExitCode, isKeyError, UsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';
import type { Command } from './command.js';
import { deleteCommand } from './commands/delete.js';
import { doctorCommand } from './commands/doctor.js';
import { emulatorCommand } from './commands/emulator.js';
import { importCommand } from './commands/import.js';
import { keygenCommand } from './commands/keygen.js';
import { listCommand } from './commands/list.js';
import { migrateCommand } from './commands/migrate.js';
import { purgeCommand } from './commands/purge.js';
import { rekeyCommand } from './commands/rekey.js';
import { revokeCommand } from './commands/revoke.js';
import { showCommand } from './commands/show.js';
import { printable } from './text-format.js';

const COMMANDS: readonly Command[] = [
  listCommand,
  showCommand,
  revokeCommand,
  deleteCommand,
  purgeCommand,
  migrateCommand,
  importCommand,
  rekeyCommand,
  keygenCommand,
  doctorCommand,
  emulatorCommand,
];

const HELP = `Usage: zoho-tokens <command> [options]

Manages the Zoho OAuth tokens of a zoho-token-store store. Secrets are always masked.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(10)}${command.summary}`).join('\n')}

A command that uses a store takes --store URL (default: $TOKEN_STORE_URL, else
sqlite:./zohooauth.db): sqlite:PATH, file:PATH, memory:, mysql://…, postgres://…, redis://…
The file of a sqlite: or file: store must exist, except for import and migrate --to, which fill it.
With ZOHO_TOKEN_KEY set (a keyring id:base64key[,…]), stores are opened encrypted with it.
Exit codes: 0 done, 1 the operation failed, 2 a usage or configuration error (an option, a
store URL, ZOHO_TOKEN_KEY). Errors are one line; --verbose adds the causes behind them.
Run \`zoho-tokens <command> --help\` for a command's options.
`;

/**
 * Runs `zoho-tokens` with these arguments (without `node` and the script) and returns the exit
 * code: 0 success, 1 the operation failed, 2 a usage error. Errors are one line on stderr, their
 * cause chain too with `--verbose`. Never throws.
 *
 * @example
 * ```ts
 * import { runCli } from './run-cli.js';
 * const code = await runCli(['list', '--store', 'sqlite:./zohooauth.db'], {
 *   stdout: process.stdout,
 *   stderr: process.stderr,
 *   env: process.env,
 *   isTTY: process.stderr.isTTY === true,
 * });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(HELP);
    return ExitCode.USAGE;
  }
  if (first === '--help' || first === '-h' || (first === 'help' && rest.length === 0)) {
    io.stdout.write(HELP);
    return ExitCode.OK;
  }
  // `help list` reads as `list --help`.
  const [name, args] = first === 'help' ? [rest[0] as string, ['--help']] : [first, rest];
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    const what = name.startsWith('-')
      ? `put the command before options such as ${printable(name)}`
      : `unknown command ${printable(name)}`;
    io.stderr.write(describeError(new UsageError(`${what} (see zoho-tokens --help)`), false));
    return ExitCode.USAGE;
  }
  let verbose = args.includes('--verbose') || args.includes('-v');
  try {
    const parsed = command.parse(args);
    verbose = parsed.verbose;
    if (parsed.help) {
      io.stdout.write(command.help);
      return ExitCode.OK;
    }
    return await parsed.run(io);
  } catch (error) {
    io.stderr.write(describeError(error, verbose));
    return exitCodeOf(error);
  }
}

/** A key that is missing, malformed or not the store's is configuration to fix, as a bad option is. */
function exitCodeOf(error: unknown): number {
  return error instanceof UsageError || isKeyError(error) ? ExitCode.USAGE : ExitCode.FAILED;
}
