import { generateKey } from '../../stores/token-cipher.js';
import { ExitCode, UsageError } from '../cli-errors.js';
import { defineCommand } from '../command.js';

/**
 * `zoho-tokens keygen [id]`: prints a new encryption key, `id:base64key`, for `ZOHO_TOKEN_KEY`.
 *
 * @example
 * ```ts
 * await runCli(['keygen', 'k2'], io); // 'k2:…' on stdout, the hint on stderr
 * ```
 */
export const keygenCommand = defineCommand({
  name: 'keygen',
  summary: 'print a new encryption key for ZOHO_TOKEN_KEY',
  help: `Usage: zoho-tokens keygen [id]

Prints a new random 256-bit key as id:base64key on stdout, and on stderr how to use it: put it
in ZOHO_TOKEN_KEY (first, before the keys it replaces, then run zoho-tokens rekey; a store not yet
encrypted is taken in with zoho-tokens rekey --migrate). The id names
the key in what it encrypts (default: k and today's date, such as k20250601-1a2b3c); 1 to 64
letters, digits, ".", "_" or "-". Keep the key secret and safe: tokens encrypted under it cannot
be read without it. It is not stored anywhere.

Options:
  -h, --help    show this help
`,
  options: {},
  positionals: { min: 0, max: 1, names: 'a key id' },
  async run({ positionals, io }) {
    let key: string;
    try {
      key = generateKey(...(positionals[0] === undefined ? [] : [positionals[0]]));
    } catch (error) {
      throw new UsageError((error as Error).message.replace(/^generateKey: /, 'keygen: '));
    }
    io.stdout.write(`${key}\n`);
    io.stderr.write(
      'Put it in ZOHO_TOKEN_KEY (first, before any key it replaces; then run zoho-tokens rekey, or rekey --migrate for a store not yet encrypted); keep it secret.\n',
    );
    return ExitCode.OK;
  },
});
