// `npm start`: the Zylker Academy "Login with Zoho" portal. With nothing configured it runs on the
// local Zoho emulator (started in this process, its state in ./zoho-emulator-state.json) and keeps
// tokens in SQLite ./zohooauth.db. See docs/portal.md for every variable.
import { type PortalConfig, PortalConfigError, portalConfigFromEnv } from './portal-config.js';
import { startPortal } from './portal-server.js';

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

let config: PortalConfig;
try {
  config = portalConfigFromEnv(process.env);
} catch (error) {
  console.error(`portal: ${(error as Error).message}`);
  process.exit(2);
}
for (const warning of config.warnings ?? []) console.error(`portal: warning: ${warning}`);

try {
  const portal = await startPortal(config, { log, keys: process.env.ZOHO_TOKEN_KEY });
  // Handlers first: until one is installed a SIGTERM kills the process outright, and whoever
  // waits for the line below may send one as soon as they read it.
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    portal.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`portal: could not close cleanly: ${(error as Error).name}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  console.log(`Zylker Academy portal on ${portal.url}`);
  console.log(`  Zoho: ${portal.context.zoho.label}`);
  console.log(`  tokens: ${portal.storeLabel}`);
  const stateFile = portal.context.zoho.emulatorStateFile;
  if (stateFile !== null) {
    console.log(`  emulator state: ${stateFile} (users stay signed in across restarts; delete it to start afresh)`);
  }
  console.log('  Ctrl-C stops it.');
} catch (error) {
  // One line, no stack: the message of a config, key or store error names what to fix, never a secret.
  // A configuration to fix (a busy port) exits 2, as a bad variable does; anything else 1.
  if (error instanceof PortalConfigError) {
    console.error(`portal: ${error.message}`);
    process.exit(2);
  }
  const { name, message, code } = error as { name?: string; message?: string; code?: string };
  console.error(`portal: could not start: ${code ?? name ?? 'Error'}: ${message ?? String(error)}`);
  process.exit(1);
}
