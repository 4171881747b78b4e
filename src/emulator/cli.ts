#!/usr/bin/env node
// Runs the Zoho emulator by hand: `zoho-emulator [--port 8085] [--auto-approve] [--state FILE]`.
import { parseArgs } from 'node:util';
import { EMULATOR_CLIENT, startZohoEmulator } from './index.js';

const HELP = `Usage: zoho-emulator [--port 8085] [--auto-approve] [--state FILE]

Runs the local Zoho accounts server and CRM API emulator.
  --port N          port to listen on (default 8085; 0 picks a free one)
  --auto-approve    approve the consent page without showing it
  --state FILE      keep issued tokens, used codes and the clock in FILE across restarts
`;

let values: { port: string; 'auto-approve': boolean; state?: string; help: boolean };
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string', default: '8085' },
      'auto-approve': { type: 'boolean', default: false },
      // Keeps issued tokens across restarts of this command, as Zoho would.
      state: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  console.error(`zoho-emulator: ${(error as Error).message} (see --help)`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error('--port must be a port number');
  process.exit(2);
}
if (values.state === '') {
  console.error('--state needs a file');
  process.exit(2);
}

let emulator: Awaited<ReturnType<typeof startZohoEmulator>>;
try {
  emulator = await startZohoEmulator({ port, autoApprove: values['auto-approve'], stateFile: values.state });
} catch (error) {
  // One line: a state file error names the file and what to do, never its content.
  console.error(`zoho-emulator: ${(error as Error).message}`);
  process.exit(1);
}
console.log(`Zoho emulator on ${emulator.url}`);
console.log(`client id ${EMULATOR_CLIENT.clientId} (secret: EMULATOR_CLIENT's documented secret)`);
if (values.state) console.log(`state kept in ${values.state}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`zoho-emulator: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  });
}
