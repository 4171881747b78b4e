// The real `zoho-tokens` entry, spawned: argv, streams, exit codes and signals reach runCli.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OAuthToken, openStore } from 'zoho-token-store';
import { EMULATOR_CLIENT, TEST_API_HEADERS } from 'zoho-token-store/emulator';
import { runCli } from '../src/cli/run-cli.js';

const ENTRY = fileURLToPath(new URL('../src/cli/index.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'zts-cli-process-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function run(args: string[], env: Record<string, string> = {}) {
  const child = start(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => (stdout += chunk));
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

describe('the zoho-tokens entry', () => {
  it('prints help and exits 0', async () => {
    const result = await run(['--help']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: zoho-tokens <command> \[options\]/);
  });

  it('exits 2 on a usage error, with one line on stderr', async () => {
    const result = await run(['frobnicate']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, 'zoho-tokens: unknown command frobnicate (see zoho-tokens --help)\n');
  });

  it('reads TOKEN_STORE_URL, lists, and exits 1 when the operation fails', async () => {
    const url = `sqlite:${join(dir, 'tokens.db')}`;
    const store = await openStore(url);
    await store.saveToken(new OAuthToken({ userName: 'ana@zylker.com', refreshToken: '1000.secret-refresh-value' }));
    await store.close();

    const listed = await run(['list', '--json'], { TOKEN_STORE_URL: url });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout)[0].userName, 'ana@zylker.com');
    assert.ok(!listed.stdout.includes('secret-refresh-value'));

    const missing = await run(['show', '1234567890'], { TOKEN_STORE_URL: url });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^zoho-tokens: no token with id 1234567890 in sqlite:/);
  });

  it('exits 0, quietly, when the reader closes the pipe early (list | head)', async () => {
    const url = `sqlite:${join(dir, 'many.db')}`;
    const store = await openStore(url);
    for (let i = 0; i < 1500; i++) {
      await store.saveToken(new OAuthToken({ userName: `student${i}@zylker.com`, refreshToken: `1000.r${i}` }));
    }
    await store.close();
    // A real pipe into `head`, which exits after one line; the shell reports the CLI's own exit code.
    const command = `"${process.execPath}" --conditions=source --import tsx "${ENTRY}" list | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`;
    const child = spawn('bash', ['-c', command], {
      env: { PATH: process.env.PATH ?? '', TOKEN_STORE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    await new Promise((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(stdout, '0\n', 'the exit code of zoho-tokens');
  });

  it('runs the emulator until SIGTERM, then exits 0', async () => {
    const child = start(['emulator', '--port', '0']);
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk) => {
        stdout += chunk;
        const match = /Zoho emulator on (http:\/\/\S+)/.exec(stdout);
        if (match && stdout.includes('Ctrl-C')) resolve(match[1] as string);
      });
      child.on('close', () => reject(new Error(`exited early: ${stdout}`)));
    });
    const answer = await fetch(`${url}/oauth/v2/token/revoke?token=unknown`, { method: 'POST' });
    assert.equal(answer.status, 400, 'the emulator answers');
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.kill('SIGTERM');
    assert.equal(await closed, 0);
    assert.match(stdout, /Zoho emulator stopped\.\n$/);
    await assert.rejects(fetch(`${url}/oauth/v2/token/revoke?token=x`, { method: 'POST' }), 'the port is closed');
  });
});

/** `zoho-tokens emulator …args` in this process, once it has printed its URL; `stop` ends it with its exit code. */
async function emulatorInProcess(args: string[]) {
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let stdout = '';
  let printed = () => {};
  const ready = new Promise<void>((resolve) => {
    printed = resolve;
  });
  const running = runCli(['emulator', '--port', '0', ...args], {
    stdout: {
      write: (text: string) => {
        stdout += text;
        if (stdout.includes('Ctrl-C')) printed();
      },
    },
    stderr: { write: (text: string) => assert.fail(`stderr: ${text}`) },
    env: {},
    isTTY: false,
    untilStopped: () => stopped,
  });
  await ready;
  const url = /^Zoho emulator on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout)?.[1] as string;
  assert.ok(url, stdout);
  return {
    url,
    stdout: () => stdout,
    stop: () => {
      stop();
      return running;
    },
  };
}

describe('zoho-tokens emulator, in process', () => {
  it('prints its URL and client id, masks the secret, serves until stopped, then closes', async () => {
    const emulator = await emulatorInProcess([]);
    const { url } = emulator;
    assert.match(emulator.stdout(), /^client id {6}1000\.EMULATORCLIENTID$/m);
    assert.match(emulator.stdout(), /^client secret {2}…\(22\)cret /m);
    assert.ok(!emulator.stdout().includes(EMULATOR_CLIENT.clientSecret), 'the secret is masked');
    assert.equal((await fetch(`${url}/oauth/v2/token/revoke?token=unknown`, { method: 'POST' })).status, 400);

    assert.equal(await emulator.stop(), 0);
    assert.match(emulator.stdout(), /Zoho emulator stopped\.\n$/);
    await assert.rejects(fetch(`${url}/oauth/v2/token/revoke?token=x`, { method: 'POST' }), 'closed after the stop');
  });

  it('keeps its state across a restart with --state', async () => {
    const state = join(dir, 'emulator-state.json');
    const clockOf = async (url: string) =>
      ((await (await fetch(`${url}/__emulator/clock`, { headers: TEST_API_HEADERS })).json()) as { now: number }).now;
    const first = await emulatorInProcess(['--state', state]);
    const answer = await fetch(`${first.url}/__emulator/clock/advance?ms=${7 * 86_400_000}`, {
      method: 'POST',
      headers: TEST_API_HEADERS,
    });
    const advanced = ((await answer.json()) as { now: number }).now;
    assert.equal(await first.stop(), 0);
    assert.ok(advanced > Date.now() + 6 * 86_400_000, 'advanced a week');
    assert.ok(existsSync(state), 'the state file is written');

    const second = await emulatorInProcess(['--state', state]);
    try {
      assert.ok((await clockOf(second.url)) >= advanced, 'the clock came back from the state file');
    } finally {
      assert.equal(await second.stop(), 0);
    }
  });
});
