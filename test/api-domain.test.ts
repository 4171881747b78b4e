// Issue 13, item 2: someone who can write the token table rewrites `api_domain` to steal access
// tokens. Each test plays the attack against a real listener on another port and checks that it
// never sees a request.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  type AccessTokenSource,
  CrmErrorCode,
  createCrmClient,
  customEnvironment,
  type Environment,
  environmentFor,
  fetchCurrentUserEmail,
  isCrmError,
  OAuthToken,
  TokenManager,
} from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';

const client = {
  clientId: EMULATOR_CLIENT.clientId,
  clientSecret: EMULATOR_CLIENT.clientSecret,
  redirectUri: EMULATOR_CLIENT.redirectUris[0],
};

/** The attacker's server: answers every request like the CRM would, and records what it was sent. */
let attacker: Server;
let attackerUrl: string;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
let emulator: ZohoEmulator;
let environment: Environment;
let dir: string;

before(async () => {
  attacker = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"Last_Name":"Forged"}]}');
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  emulator = await startZohoEmulator();
  environment = customEnvironment({ apiBaseUrl: emulator.url, accountsUrl: emulator.url });
  dir = mkdtempSync(join(tmpdir(), 'zts-api-domain-'));
});
after(async () => {
  attacker.closeAllConnections();
  await new Promise((resolve) => attacker.close(resolve));
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  seen.length = 0;
});

/** Asserts a CrmError `UNTRUSTED_API_DOMAIN` that names no token, and that the attacker saw nothing. */
async function refused(promise: Promise<unknown>, accessToken: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isCrmError(error), String(error));
    assert.equal(error.code, CrmErrorCode.UNTRUSTED_API_DOMAIN);
    assert.equal(error.status, 0);
    assert.ok(!error.message.includes(accessToken), 'no token in the message');
    return true;
  });
  assert.deepEqual(seen, [], 'the attacker got no request');
}

/** A token source handing out one token for `apiDomain`, in `environment` when given. */
function fixedTokens(apiDomain: string, accessToken: string, env?: Environment): AccessTokenSource {
  return {
    getAccessToken: async () => accessToken,
    getToken: async () => new OAuthToken({ accessToken, apiDomain }),
    invalidate: () => undefined,
    ...(env ? { environment: env } : {}),
  };
}

describe('a token goes only to an API domain of its own environment', () => {
  it('refuses a stored api_domain rewritten with raw SQL, and sends the attacker nothing', async () => {
    const path = join(dir, 'tokens.db');
    const store = new SQLiteStore({ path });
    const userEmail = 'ana.lopez@zylker.com';
    const signIn = new TokenManager({
      environment,
      store,
      client,
      token: { grantToken: emulator.issueGrantCode({ userEmail, accessType: 'offline' }) },
    });
    const accessToken = await signIn.getAccessToken();
    const crm = (manager: TokenManager) => createCrmClient({ tokens: manager }).request('GET', '/crm/v8/org');
    await crm(signIn); // the genuine domain works

    const db = new Database(path);
    db.prepare('UPDATE oauthtoken SET api_domain = ?').run(`${attackerUrl}/`);
    db.close();
    const victim = new TokenManager({ environment, store, client, token: { userName: userEmail } });
    await refused(crm(victim), accessToken);

    // The genuine host as userinfo in front of the attacker's: the request would go to the attacker.
    const db2 = new Database(path);
    db2
      .prepare('UPDATE oauthtoken SET api_domain = ?')
      .run(`http://${new URL(emulator.url).host}@${new URL(attackerUrl).host}`);
    db2.close();
    const again = new TokenManager({ environment, store, client, token: { userName: userEmail } });
    await refused(crm(again), accessToken);
    await store.close();
  });

  it('refuses plain http, another port or another data center for a Zoho environment', async () => {
    const accessToken = '1000.zohoaccesstoken.0123';
    const us = environmentFor('US');
    // Zoho's hosts are not called for real: this fetch records the request as the attacker would.
    const recording = async (url: string | URL | Request, init?: RequestInit) => {
      seen.push({ url: String(url), headers: Object.fromEntries(new Headers(init?.headers)) });
      return Response.json({ data: [] });
    };
    const attackerHost = new URL(attackerUrl).host;
    for (const domain of [
      attackerUrl,
      'http://www.zohoapis.com',
      'https://www.zohoapis.eu',
      'https://zohoapis.com',
      'https://www.zohoapis.com.evil.example',
      'https://www.zohoapis.com:8443',
      `http://www.zohoapis.com@${attackerHost}`,
      `https://www.zohoapis.com@${attackerHost}`,
    ]) {
      const tokens = fixedTokens(domain, accessToken, us);
      await refused(createCrmClient({ tokens, fetch: recording }).request('GET', '/crm/v8/org'), accessToken);
    }
  });

  it('without an environment, refuses anything but a Zoho API domain', async () => {
    const accessToken = '1000.noenvironment.0123';
    await refused(createCrmClient({ tokens: fixedTokens(attackerUrl, accessToken) }).request('GET', '/x'), accessToken);
  });

  it('refuses a path that leaves the API domain', async () => {
    const accessToken = '1000.pathescape.0123';
    const tokens = fixedTokens(emulator.url, accessToken, environment);
    const attackerHost = new URL(attackerUrl).host;
    for (const path of [`//${attackerHost}/steal`, `${attackerUrl}/steal`]) {
      await refused(createCrmClient({ tokens }).request('GET', path), accessToken);
    }
  });

  it('fetchCurrentUserEmail refuses a domain outside its environment (any Zoho one without)', async () => {
    const accessToken = '1000.currentuser.0123';
    await refused(fetchCurrentUserEmail(attackerUrl, accessToken), accessToken);
    await refused(fetchCurrentUserEmail(attackerUrl, accessToken, { environment }), accessToken);
  });

  it('the manager does not ask a foreign api_domain an accounts server names for the user', async () => {
    // An accounts server of a custom environment (a mistaken proxy) that names the attacker as API domain.
    const accounts = createServer((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: '1000.fresh.0123', expires_in: 3600, api_domain: attackerUrl }));
    });
    await new Promise<void>((resolve) => accounts.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(accounts.address() as AddressInfo).port}`;
    try {
      const warnings: string[] = [];
      const manager = new TokenManager({
        environment: customEnvironment({ apiBaseUrl: url, accountsUrl: url }),
        store: new SQLiteStore({ path: ':memory:' }),
        client,
        token: { grantToken: '1000.grant.0123' },
        logger: { warn: (message) => warnings.push(message) },
      });
      assert.equal(await manager.getAccessToken(), '1000.fresh.0123');
      assert.deepEqual(seen, [], 'the attacker got no request');
      assert.deepEqual(warnings, ['could not resolve the token’s user']);
    } finally {
      await new Promise((resolve) => accounts.close(resolve));
    }
  });
});
