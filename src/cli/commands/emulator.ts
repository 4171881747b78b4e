import { EMULATOR_CLIENT, startZohoEmulator } from '../../emulator/index.js';
import { maskSecret } from '../../index.js';
import { ExitCode, UsageError } from '../cli-errors.js';
import { defineCommand } from '../command.js';

/** The port `zoho-tokens emulator` listens on unless told: the same as `zoho-emulator`'s. */
const DEFAULT_PORT = 8085;

/**
 * `zoho-tokens emulator`: runs the local Zoho accounts + CRM emulator until SIGINT or SIGTERM
 * (`io.untilStopped` resolves).
 *
 * @example
 * ```ts
 * await runCli(['emulator', '--port', '8085'], { ...io, untilStopped: () => once(process, 'SIGINT') });
 * ```
 */
export const emulatorCommand = defineCommand({
  name: 'emulator',
  summary: 'run the local Zoho emulator (accounts + CRM) until Ctrl-C',
  help: `Usage: zoho-tokens emulator [--port N] [--auto-approve] [--state FILE]

Runs the local Zoho emulator on 127.0.0.1: the accounts server (/oauth/v2/…) and a slice of the
CRM API (/crm/v8/…), with Zoho's limits. It prints its URL and client id and runs until Ctrl-C
(SIGINT) or SIGTERM. Point other commands at it with --accounts-url URL.

Its client secret is public (EMULATOR_CLIENT.clientSecret in zoho-token-store/emulator) but is
still printed masked, as every secret is.

Options:
  --port N         port on 127.0.0.1 (default ${DEFAULT_PORT}; 0 picks a free one)
  --auto-approve   the consent page approves at once, for scripted sign-ins
  --state FILE     keep issued tokens, revocations, used codes and the clock in FILE across
                   restarts, as Zoho does
  -v, --verbose    on failure, also print the cause chain
  -h, --help       show this help
`,
  options: { port: { type: 'string' }, 'auto-approve': { type: 'boolean' }, state: { type: 'string' } },
  async run({ values, io }) {
    const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
    if (!/^\d+$/.test(values.port ?? '0') || !Number.isInteger(port) || port > 65_535) {
      throw new UsageError('--port takes a port number, 0 to 65535');
    }
    if (values.state === '') throw new UsageError('--state takes a file');
    const emulator = await startZohoEmulator({
      port,
      autoApprove: values['auto-approve'] === true,
      ...(values.state !== undefined && { stateFile: values.state }),
    }).catch((error: unknown) => {
      if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
      throw new UsageError(`port ${port} on 127.0.0.1 is in use by another program`, {
        cause: error,
        hint: 'give --port N (0 picks a free one)',
      });
    });
    io.stdout.write(
      `Zoho emulator on ${emulator.url}\n` +
        `client id      ${EMULATOR_CLIENT.clientId}\n` +
        `client secret  ${maskSecret(EMULATOR_CLIENT.clientSecret)} (EMULATOR_CLIENT.clientSecret in zoho-token-store/emulator)\n` +
        `redirect URIs  ${EMULATOR_CLIENT.redirectUris[0]}, or any http://localhost or http://127.0.0.1 URL\n` +
        'Ctrl-C stops it.\n',
    );
    try {
      await (io.untilStopped?.() ?? new Promise<never>(() => {}));
    } finally {
      await emulator.close();
    }
    io.stdout.write('Zoho emulator stopped.\n');
    return ExitCode.OK;
  },
});
