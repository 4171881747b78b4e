import { spawn } from 'node:child_process';
import { startPrivatePostgres } from './fixtures/private-servers.js';
import { startZohoEmulator, EMULATOR_CLIENT } from 'zoho-token-store/emulator';
import { customEnvironment, TokenManager } from 'zoho-token-store';
import { openTestStore } from './fixtures/test-stores.js';
const s = await startPrivatePostgres();
const emu = await startZohoEmulator({ users: [{ email: 'r0@zylker.com', firstName: 'a', lastName: 'b' }] });
const options = { url: s.url, table: 'tt', connectTimeoutMs: 1000, queryTimeoutMs: 2000, lockTimeoutMs: 2000, lockLeaseMs: 3000 };
const store = await openTestStore('postgres', options);
await new TokenManager({ environment: customEnvironment({ apiBaseUrl: emu.url, accountsUrl: emu.url }), store: store as never, client: { clientId: EMULATOR_CLIENT.clientId, clientSecret: EMULATOR_CLIENT.clientSecret, redirectUri: EMULATOR_CLIENT.redirectUris[0] }, token: { grantToken: emu.issueGrantCode({ userEmail: 'r0@zylker.com' }) }, refreshWindowMs: 7200000 }).getAccessToken();
console.log('signed in');
const c = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'test/fixtures/crash-load-child.ts'], {
  env: { ...process.env, STORE_KIND: 'postgres', STORE_OPTIONS: JSON.stringify(options), EMULATOR_URL: emu.url, SAVE_WORKERS: '2', REFRESH_USERS: '["r0@zylker.com"]' },
  stdio: ['pipe', 'pipe', 'inherit'],
});
let out = '';
c.stdout.on('data', (d) => { out += d; });
await new Promise((r) => setTimeout(r, 4000));
c.stdin.end('stop\n');
await new Promise((r) => c.on('exit', r));
console.log(out.slice(0, 300), out.slice(-1500));
await s.stop(); await emu.close(); await store.close();
