// Every official Zoho CRM SDK on npm, pinned in test/official-sdks/, against the emulator with our
// stores through the documented adapters (zoho-token-store/sdk). Each SDK runs in its own child
// process: its singletons are global, and its clock is moved with the emulator's.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OAuthToken } from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { dropTestStore, freshOptions, openTestStore, serverAnswers } from './fixtures/test-stores.js';

const CHILD = resolve(import.meta.dirname, 'fixtures', 'official-sdk-child.ts');
const SDKS_DIR = resolve(import.meta.dirname, 'official-sdks');
const USER = 'ana.lopez@zylker.com';
const HOUR = 3_600_000;

/** Each SDK, the CRM API version it calls, and whether it can start from a stored token's id. */
const SDKS = [
  { name: '@zohocrm/typescript-sdk-8.0', crm: 'v8', byId: true },
  { name: '@zohocrm/nodejs-sdk-8.0', crm: 'v8', byId: true },
  { name: '@zohocrm/typescript-sdk-7.0', crm: 'v7', byId: true },
  { name: '@zohocrm/nodejs-sdk-7.0', crm: 'v7', byId: true },
  { name: '@zohocrm/typescript-sdk-6.0', crm: 'v6', byId: true },
  {
    name: '@zohocrm/typescript-sdk-2.0',
    crm: 'v2',
    byId: true,
    // It names its field cache (resources/<b64>.json) after the token's refresh token: an id-only
    // token has none before its first call and one after, so in a fresh resource folder the first
    // getRecords reads a file it wrote under the other name (ENOENT; with autoRefreshFields, "Cannot
    // set properties of null"), whatever the store: its own FileStore fails alike. A restarted app
    // keeps its resource folder, which holds the file under the refreshed name.
    byIdKeepsResources: true,
  },
  { name: '@zohocrm/nodejs-sdk-2.0', crm: 'v2', byId: true },
  // zcrmsdk 1.x has no ids: its store interface has no getTokenById.
  { name: 'zcrmsdk', crm: 'v2', byId: false },
] as const;
const STORES = ['sqlite', 'postgres'] as const;

const installed = existsSync(join(SDKS_DIR, 'node_modules', '@zohocrm', 'nodejs-sdk-8.0', 'package.json'));
if (!installed) {
  const message = 'test/official-sdks is not installed: run `npm ci --prefix test/official-sdks` (.ci/run does)';
  // CI installs it: missing there is a failure, not a skip.
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING the official SDK tests: ${message}\n`);
}

let emulator: ZohoEmulator;
const dir = mkdtempSync(join(tmpdir(), 'zts-official-sdks-'));
before(async () => {
  emulator = await startZohoEmulator();
});
after(async () => {
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One SDK in a child process, answering one command at a time. */
class SdkProcess {
  readonly #child: ChildProcess;
  #replies: ((reply: { result?: unknown; error?: string }) => void)[] = [];
  readonly ready: Promise<unknown>;

  readonly resourceDir: string;

  constructor(sdk: string, kind: string, options: Record<string, unknown>, clockOffsetMs: number, resources?: string) {
    const resourceDir = resources ?? join(dir, `resources-${Math.random().toString(36).slice(2)}`);
    if (!resources) mkdirSync(resourceDir);
    this.resourceDir = resourceDir;
    this.#child = fork(CHILD, [], {
      cwd: resourceDir,
      // tsx by path: the child runs in its own folder, where the SDK writes its files.
      execArgv: ['--conditions=source', '--import', import.meta.resolve('tsx')],
      env: {
        ...process.env,
        SDK: sdk,
        STORE_KIND: kind,
        STORE_OPTIONS: JSON.stringify(options),
        EMULATOR_URL: emulator.url,
        CLIENT_ID: EMULATOR_CLIENT.clientId,
        CLIENT_SECRET: EMULATOR_CLIENT.clientSecret,
        REDIRECT_URL: EMULATOR_CLIENT.redirectUris[0],
        RESOURCE_DIR: resourceDir,
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.#child.on('message', (reply) => this.#replies.shift()?.(reply as { result?: unknown; error?: string }));
    this.#child.on('exit', (code) => {
      for (const reply of this.#replies.splice(0)) reply({ error: `the SDK process exited (${code})` });
    });
    this.ready = this.#reply().then(() => this.send({ op: 'shift', ms: clockOffsetMs }));
  }

  #reply(): Promise<unknown> {
    return new Promise((resolveReply, reject) => {
      this.#replies.push((reply) => (reply.error ? reject(new Error(reply.error)) : resolveReply(reply.result)));
    });
  }

  send(command: Record<string, unknown>): Promise<unknown> {
    const reply = this.#reply();
    this.#child.send(command);
    return reply;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolveExit) => this.#child.once('exit', resolveExit));
    if (this.#child.connected) this.#child.send({ op: 'close' });
    else this.#child.kill();
    await exited;
  }
}

const count = (name: string) => emulator.counters()[name] ?? 0;

for (const sdk of SDKS) {
  describe(`${sdk.name} (CRM ${sdk.crm}) through the documented adapter`, { skip: !installed }, () => {
    for (const kind of STORES) {
      it(`on ${kind}: starts from a grant, refreshes once after expiry, restarts by user${sdk.byId ? ' and by id' : ''} with no exchange`, async (t) => {
        if (!(await serverAnswers(kind))) {
          if (process.env.CI === 'true') throw new Error(`${kind} does not answer, and CI=true`);
          return t.skip(`${kind} is not running`);
        }
        const options = freshOptions(kind, dir);
        const ours = await openTestStore(kind, options);
        let clock = 0;
        const processes: SdkProcess[] = [];
        const run = async (resources?: string) => {
          const child = new SdkProcess(sdk.name, kind, options, clock, resources);
          processes.push(child);
          await child.ready;
          return child;
        };
        try {
          const exchanges = count('token.authorization_code');
          const refreshes = count('token.refresh_token');

          const first = await run();
          await first.send({ op: 'start', how: { grant: emulator.issueGrantCode({ userEmail: USER }), user: USER } });
          const names = (await first.send({ op: 'leads' })) as string[];
          assert.ok(names.length > 0, 'Leads came back');
          assert.equal(count('token.authorization_code'), exchanges + 1);
          const [saved, ...others] = await ours.getTokens();
          assert.ok(saved, 'the SDK saved its token in our store');
          assert.equal(others.length, 0, 'one row for the user');
          const userName = saved.getUserSignature()?.getName() ?? '';
          assert.ok(userName.startsWith(USER), `stored user ${userName}`);
          const firstAccessToken = saved.getAccessToken();

          // Past expiry on both clocks: the SDK refreshes on its own, exactly once.
          clock += 2 * HOUR;
          emulator.clock.advance(2 * HOUR);
          await first.send({ op: 'shift', ms: 2 * HOUR });
          assert.deepEqual(await first.send({ op: 'leads' }), names);
          assert.deepEqual(await first.send({ op: 'leads' }), names);
          assert.equal(count('token.refresh_token'), refreshes + 1, 'exactly one refresh at the emulator');
          const refreshed = await ours.findToken(new OAuthToken({ userName }));
          assert.ok(refreshed);
          assert.notEqual(refreshed.getAccessToken(), firstAccessToken);
          assert.equal(refreshed.getId(), saved.getId(), 'the row kept its id');
          await first.close();

          // Fresh processes: by user, then by id, find the stored token and exchange nothing.
          const byUser = await run();
          await byUser.send({ op: 'start', how: { user: userName, refreshToken: refreshed.getRefreshToken() } });
          assert.deepEqual(await byUser.send({ op: 'leads' }), names);
          await byUser.close();
          if (sdk.byId) {
            const byId = await run('byIdKeepsResources' in sdk ? first.resourceDir : undefined);
            await byId.send({ op: 'start', how: { id: saved.getId(), user: USER } });
            assert.deepEqual(await byId.send({ op: 'leads' }), names);
            await byId.close();
          }
          assert.equal(count('token.authorization_code'), exchanges + 1, 'no new code exchange');
          assert.equal(count('token.refresh_token'), refreshes + 1, 'no new refresh');
          assert.equal((await ours.getTokens()).length, 1, 'still one row for the user');
        } finally {
          for (const child of processes) await child.close().catch(() => {});
          await ours.close();
          await dropTestStore(kind, options);
        }
      });
    }
  });
}
