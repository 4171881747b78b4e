import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { customEnvironment, type Environment, fetchCurrentUserEmail, OAuthToken } from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import { type AccessTokenSource, CrmErrorCode, createCrmClient, isCrmError } from '../src/crm/crm-client.js';

const ACCESS_TOKEN = '1000.secretaccesstokenvalue.0123456789';

/** The custom environment of a local server: tokens may go to it. */
const localEnvironment = (url: string): Environment => customEnvironment({ apiBaseUrl: url, accountsUrl: url });

/** A token source that always hands out `accessToken` for `apiDomain`, in that server's environment. */
function fixedTokens(apiDomain: string, accessToken = ACCESS_TOKEN): AccessTokenSource {
  return {
    getAccessToken: async () => accessToken,
    getToken: async () => new OAuthToken({ accessToken, apiDomain }),
    invalidate: () => undefined,
    environment: localEnvironment(apiDomain),
  };
}

/** Asserts a CrmError with `code` and `status`, a cause of the given name, and no token in its message. */
async function rejectsWithCrm(promise: Promise<unknown>, code: string, status: number, causeName?: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isCrmError(error), String(error));
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    if (causeName) assert.equal((error.cause as Error | undefined)?.name, causeName);
    assert.ok(!error.message.includes(ACCESS_TOKEN), 'no token in the message');
    return true;
  });
}

/** A server that answers what the emulator cannot: non-JSON bodies, cut bodies, bodies that never end. */
let odd: Server;
let oddUrl: string;
before(async () => {
  odd = createServer((req, res) => {
    switch (req.url?.split('?')[0]) {
      case '/html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
        return;
      case '/html-502':
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
        return;
      case '/cut':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"data":[');
        setTimeout(() => res.destroy(), 10);
        return;
      case '/huge':
        // A JSON answer a little over the default limit of 8 MiB.
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"data":"${'x'.repeat(8.5 * 1024 * 1024)}"}`);
        return;
      case '/endless': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) {}
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
        return;
      }
      case '/stall':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"data":[');
        return;
      default:
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    }
  });
  await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve));
  oddUrl = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
});
after(async () => {
  odd.closeAllConnections();
  await new Promise((resolve) => odd.close(resolve));
});

describe('CRM client failures', () => {
  let emulator: ZohoEmulator;
  let tokens: AccessTokenSource;
  before(async () => {
    emulator = await startZohoEmulator();
    const answer = await fetch(`${emulator.url}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: emulator.issueGrantCode(),
        redirect_uri: EMULATOR_CLIENT.redirectUris[0],
        client_id: EMULATOR_CLIENT.clientId,
        client_secret: EMULATOR_CLIENT.clientSecret,
      }),
    });
    tokens = fixedTokens(emulator.url, ((await answer.json()) as { access_token: string }).access_token);
  });
  after(() => emulator.close());

  it('answers normally when nothing goes wrong', async () => {
    const crm = createCrmClient({ tokens });
    const org = await crm.request<{ org: { id: string }[] }>('GET', '/crm/v8/org');
    assert.match(org.org[0]?.id ?? '', /^\d+$/);
    assert.deepEqual(await createCrmClient({ tokens: fixedTokens(oddUrl) }).request('GET', '/json'), { ok: true });
  });

  it('NETWORK_ERROR when the connection is refused or dropped, with the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const refusedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    await rejectsWithCrm(
      createCrmClient({ tokens: fixedTokens(refusedUrl) }).request('GET', '/crm/v8/org'),
      CrmErrorCode.NETWORK_ERROR,
      0,
      'TypeError',
    );

    emulator.injectFault({ path: '/crm', kind: 'drop' });
    await rejectsWithCrm(
      createCrmClient({ tokens }).request('GET', '/crm/v8/org'),
      CrmErrorCode.NETWORK_ERROR,
      0,
      'TypeError',
    );
  });

  it('NETWORK_ERROR when the body is cut off', async () => {
    await rejectsWithCrm(
      createCrmClient({ tokens: fixedTokens(oddUrl) }).request('GET', '/cut'),
      CrmErrorCode.NETWORK_ERROR,
      0,
    );
  });

  it('TIMEOUT when no answer, or no whole body, comes within timeoutMs', async () => {
    emulator.injectFault({ path: '/crm', kind: 'latency', latencyMs: 5_000 });
    const started = performance.now();
    await rejectsWithCrm(
      createCrmClient({ tokens, timeoutMs: 200 }).request('GET', '/crm/v8/org'),
      CrmErrorCode.TIMEOUT,
      0,
      'TimeoutError',
    );
    assert.ok(performance.now() - started < 2_000);
    emulator.clearFaults();

    await rejectsWithCrm(
      createCrmClient({ tokens: fixedTokens(oddUrl), timeoutMs: 200 }).request('GET', '/stall'),
      CrmErrorCode.TIMEOUT,
      0,
    );
  });

  it('RESPONSE_TOO_LARGE past maxResponseBytes (8 MiB by default), without reading the rest', async () => {
    await rejectsWithCrm(
      createCrmClient({ tokens: fixedTokens(oddUrl) }).request('GET', '/huge'),
      CrmErrorCode.RESPONSE_TOO_LARGE,
      200,
    );
    const started = performance.now();
    await rejectsWithCrm(
      createCrmClient({ tokens: fixedTokens(oddUrl), timeoutMs: 20_000 }).request('GET', '/endless'),
      CrmErrorCode.RESPONSE_TOO_LARGE,
      200,
    );
    await rejectsWithCrm(
      createCrmClient({ tokens: fixedTokens(oddUrl), maxResponseBytes: 10 }).request('GET', '/json'),
      CrmErrorCode.RESPONSE_TOO_LARGE,
      200,
    );
    await rejectsWithCrm(
      fetchCurrentUserEmail(oddUrl, ACCESS_TOKEN, {
        environment: localEnvironment(oddUrl),
        fetch: (_url, init) => fetch(`${oddUrl}/endless`, init),
        timeoutMs: 20_000,
      }),
      CrmErrorCode.RESPONSE_TOO_LARGE,
      200,
    );
    assert.ok(performance.now() - started < 10_000, 'did not wait for the timeout');
  });

  it('passes the caller’s own abort through unchanged', async () => {
    emulator.injectFault({ path: '/crm', kind: 'latency', latencyMs: 5_000 });
    const controller = new AbortController();
    const pending = createCrmClient({ tokens }).request('GET', '/crm/v8/org', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, (error: unknown) => !isCrmError(error) && (error as Error).name === 'AbortError');
    emulator.clearFaults();
  });

  it('UNEXPECTED_RESPONSE for a success that is not JSON; HTTP_ERROR for an error page', async () => {
    const crm = createCrmClient({ tokens: fixedTokens(oddUrl) });
    await rejectsWithCrm(crm.request('GET', '/html'), CrmErrorCode.UNEXPECTED_RESPONSE, 200, 'SyntaxError');
    await rejectsWithCrm(crm.request('GET', '/html-502'), CrmErrorCode.HTTP_ERROR, 502);
  });

  it('keeps Zoho’s own error code and status', async () => {
    emulator.injectFault({ path: '/crm', kind: 'status', status: 503 });
    await rejectsWithCrm(createCrmClient({ tokens }).request('GET', '/crm/v8/org'), 'INTERNAL_ERROR', 503);
  });

  it('fetchCurrentUserEmail: the email, null for an error status, and typed errors like the client', async () => {
    const accessToken = await tokens.getAccessToken();
    const environment = localEnvironment(emulator.url);
    assert.match((await fetchCurrentUserEmail(emulator.url, accessToken, { environment })) ?? '', /@/);
    assert.equal(await fetchCurrentUserEmail(emulator.url, '1000.not-a-token', { environment }), null);
    // The same odd answers as above, whatever path the function asks for.
    const answering = (path: string) => ({
      fetch: (_url: string | URL | Request, init?: RequestInit) => fetch(`${oddUrl}${path}`, init),
    });
    assert.equal(await fetchCurrentUserEmail(emulator.url, accessToken, { environment, ...answering('/json') }), null);
    await rejectsWithCrm(
      fetchCurrentUserEmail(emulator.url, accessToken, { environment, ...answering('/html') }),
      CrmErrorCode.UNEXPECTED_RESPONSE,
      200,
      'SyntaxError',
    );
    await rejectsWithCrm(
      fetchCurrentUserEmail(emulator.url, accessToken, { environment, ...answering('/cut') }),
      CrmErrorCode.NETWORK_ERROR,
      0,
    );
    await rejectsWithCrm(
      fetchCurrentUserEmail(emulator.url, accessToken, { environment, ...answering('/stall'), timeoutMs: 200 }),
      CrmErrorCode.TIMEOUT,
      0,
    );
    emulator.injectFault({ path: '/crm', kind: 'drop' });
    await rejectsWithCrm(
      fetchCurrentUserEmail(emulator.url, accessToken, { environment }),
      CrmErrorCode.NETWORK_ERROR,
      0,
      'TypeError',
    );
    // A token no header can carry: fetch's own error would quote it, so the cause does not.
    const broken = `${ACCESS_TOKEN}\nX-Injected: 1`;
    await assert.rejects(fetchCurrentUserEmail(emulator.url, broken, { environment }), (error: unknown) => {
      assert.ok(isCrmError(error));
      assert.ok(!inspect(error).includes(ACCESS_TOKEN), 'no token in the error or its cause');
      return true;
    });
  });
});
