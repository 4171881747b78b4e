#!/usr/bin/env node
// Runs the Zoho emulator by hand: `zoho-emulator [--port 8085] [--auto-approve]`.
import { parseArgs } from 'node:util';
import { EMULATOR_CLIENT, startZohoEmulator } from './index.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '8085' }, 'auto-approve': { type: 'boolean', default: false } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error('--port must be a port number');
  process.exit(2);
}

const emulator = await startZohoEmulator({ port, autoApprove: values['auto-approve'] });
console.log(`Zoho emulator on ${emulator.url}`);
console.log(`client id ${EMULATOR_CLIENT.clientId} (secret: EMULATOR_CLIENT's documented secret)`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0));
  });
}
