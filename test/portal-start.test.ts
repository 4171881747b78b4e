// `npm start` (examples/portal/start.ts) as a process: a configuration it cannot run with is one
// clean line and exit 2, a busy port names the server and the variable that moves it, and a
// setting with no effect is a warning.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnPortal } from './fixtures/portal-process.js';

const START = fileURLToPath(new URL('../examples/portal/start.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const dir = mkdtempSync(join(tmpdir(), 'zts-portal-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs start.ts to its exit (it must exit within 30 s). */
async function runStart(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', TSX, START], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', TOKEN_STORE_URL: 'memory:', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** A port another program holds, for as long as the test runs. */
async function busyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('npm start with a configuration it cannot run with', () => {
  it('SESSION_SECRET too short: one line naming it, exit 2', async () => {
    const run = await runStart({ SESSION_SECRET: 'short', PORT: '0' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^portal: SESSION_SECRET must be at least 43 characters [^\n]*openssl rand -base64 32\n$/);
    assert.doesNotMatch(run.stderr, /could not start|Error:/);
  });

  it('a busy portal port: one line naming the portal and PORT, exit 2', async () => {
    const { port, server } = await busyPort();
    try {
      const run = await runStart({ PORT: String(port), EMULATOR_PORT: '0' });
      assert.equal(run.code, 2);
      assert.equal(
        run.stderr,
        `portal: the portal cannot listen on 127.0.0.1:${port}, another program uses that port: set PORT to a free port\n`,
      );
    } finally {
      server.close();
    }
  });

  it('a busy emulator port: one line naming the emulator and EMULATOR_PORT, exit 2', async () => {
    const { port, server } = await busyPort();
    try {
      const run = await runStart({ PORT: '0', EMULATOR_PORT: String(port) });
      assert.equal(run.code, 2);
      assert.equal(
        run.stderr,
        `portal: the Zoho emulator cannot listen on 127.0.0.1:${port}, another program uses that port: set EMULATOR_PORT (default: PORT + 1) to a free port\n`,
      );
    } finally {
      server.close();
    }
  });

  it('ZOHO_DC without a Zoho client: starts on the emulator, warning that ZOHO_DC is ignored', async () => {
    const portal = await spawnPortal({ TOKEN_STORE_URL: 'memory:', PORT: '0', EMULATOR_PORT: '0', ZOHO_DC: 'EU' }, dir);
    try {
      assert.match(
        portal.output(),
        /^portal: warning: ZOHO_DC is ignored: the portal runs on the Zoho emulator; for a Zoho data center set ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET$/m,
      );
    } finally {
      assert.equal(await portal.stop(), 0);
    }
  });
});
