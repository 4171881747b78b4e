import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  type AccountsRequestOptions,
  authorizationUrl,
  customEnvironment,
  type Environment,
  environmentFor,
  exchangeAuthorizationCode,
  isOAuthError,
  MAX_RETRY_AFTER_MS,
  type OAuthError,
  OAuthErrorCode,
  RATE_LIMIT_RETRY_AFTER_MS,
  refreshAccessToken,
  requestClientCredentialsToken,
  revokeRefreshToken,
} from 'zoho-token-store';
import { EMULATOR_CLIENT, startZohoEmulator } from 'zoho-token-store/emulator';

// Zoho's bodies, verbatim from ZOHO-FACTS.md.
const ACCESS_DENIED = {
  error_description: 'You have made too many requests continuously. Please try again after some time.',
  error: 'Access Denied',
  status: 'failure',
};
const SECRET = 'client-secret-9f8e7d';
const CODE = '1000.grantcode.abc123';
const REFRESH = '1000.refresh.def456';
const ACCESS = '1000.access.ghi789';
const client = { clientId: '1000.CLIENTID', clientSecret: SECRET, redirectUri: 'https://app.example.com/callback' };

interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  form: URLSearchParams;
}
/** One canned answer: JSON for an object, raw text for a string; `hang` never answers. */
type Reply = { status?: number; body?: unknown; headers?: Record<string, string> } | 'hang';

/** A real HTTP server on 127.0.0.1 that records each request and answers from a queue; the last reply repeats. */
async function startAccountsServer() {
  const received: Received[] = [];
  let replies: Reply[] = [];
  const server = createServer((request, response) => {
    let raw = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      raw += chunk;
    });
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      received.push({
        method: request.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: request.headers,
        form: new URLSearchParams(raw),
      });
      const reply = replies.length > 1 ? (replies.shift() as Reply) : replies[0];
      if (reply === undefined || reply === 'hang') return;
      const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
      response.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    respond(...next: Reply[]) {
      replies = next;
    },
    reset() {
      received.length = 0;
      replies = [];
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let server: Awaited<ReturnType<typeof startAccountsServer>>;
let env: Environment;
const options: AccountsRequestOptions = { backoffMs: 1, timeoutMs: 2_000 };

before(async () => {
  server = await startAccountsServer();
  env = customEnvironment({ accountsUrl: server.url, apiBaseUrl: server.url });
});
after(() => server.close());
beforeEach(() => server.reset());

/** The OAuthError a promise rejects with. */
async function failureOf(promise: Promise<unknown>): Promise<OAuthError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isOAuthError(error), `not an OAuthError: ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

/** Nothing secret in anything a logger would print, causes included. */
function assertNoSecrets(error: Error) {
  for (const text of [error.message, String(error), JSON.stringify(error), inspect(error, { depth: 10 })]) {
    for (const secret of [SECRET, CODE, REFRESH, ACCESS]) assert.ok(!text.includes(secret), `leaks ${secret}: ${text}`);
  }
}

const success = {
  access_token: ACCESS,
  refresh_token: REFRESH,
  api_domain: 'https://www.zohoapis.com',
  token_type: 'Bearer',
  expires_in: 3600,
};

describe('exchangeAuthorizationCode', () => {
  it('POSTs the code grant as a form body, nothing in the query, and returns the grant', async () => {
    server.respond({ body: success });
    const grant = await exchangeAuthorizationCode(env, client, CODE, { ...options, now: () => 1_000_000 });
    assert.deepEqual(grant, {
      accessToken: ACCESS,
      refreshToken: REFRESH,
      apiDomain: 'https://www.zohoapis.com',
      tokenType: 'Bearer',
      expiresInMs: 3_600_000,
      expiresAt: 1_000_000 + 3_600_000,
    });
    const [request] = server.received as [Received];
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/oauth/v2/token');
    assert.equal([...request.query].length, 0);
    assert.equal(request.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.deepEqual(Object.fromEntries(request.form), {
      grant_type: 'authorization_code',
      code: CODE,
      client_id: client.clientId,
      client_secret: SECRET,
      redirect_uri: client.redirectUri,
    });
  });

  it('sends no redirect_uri for a client without one (self client)', async () => {
    server.respond({ body: success });
    await exchangeAuthorizationCode(env, { clientId: 'c', clientSecret: SECRET }, CODE, options);
    assert.equal(server.received[0]?.form.has('redirect_uri'), false);
  });
});

describe('requestClientCredentialsToken', () => {
  const orgAnswer = {
    access_token: ACCESS,
    scope: 'ZohoCRM.modules.ALL ZohoCRM.org.READ',
    api_domain: 'https://www.zohoapis.com',
    token_type: 'Bearer',
    expires_in: 3600,
  };

  it('POSTs grant_type=client_credentials with scope and soid=ZohoCRM.<org id>; no refresh token comes back', async () => {
    server.respond({ body: orgAnswer });
    const grant = await requestClientCredentialsToken(
      env,
      client,
      { scope: ['ZohoCRM.modules.ALL', 'ZohoCRM.org.READ'], orgId: '600000434' },
      { ...options, now: () => 7_000 },
    );
    assert.deepEqual(grant, {
      accessToken: ACCESS,
      refreshToken: null,
      apiDomain: 'https://www.zohoapis.com',
      tokenType: 'Bearer',
      expiresInMs: 3_600_000,
      expiresAt: 7_000 + 3_600_000,
    });
    const [request] = server.received as [Received];
    assert.deepEqual([request.method, request.path, [...request.query].length], ['POST', '/oauth/v2/token', 0]);
    assert.deepEqual(Object.fromEntries(request.form), {
      grant_type: 'client_credentials',
      scope: 'ZohoCRM.modules.ALL,ZohoCRM.org.READ',
      soid: 'ZohoCRM.600000434',
      client_id: client.clientId,
      client_secret: SECRET,
    });
  });

  it('refuses an empty scope or an org id that is not digits, before sending anything', async () => {
    for (const grant of [
      { scope: '', orgId: '1' },
      { scope: [], orgId: '1' },
      { scope: 'ZohoCRM.org.READ', orgId: 'ZohoCRM.1' },
      { scope: 'ZohoCRM.org.READ', orgId: '' },
    ]) {
      await assert.rejects(requestClientCredentialsToken(env, client, grant, options), TypeError);
    }
    assert.equal(server.received.length, 0);
  });

  it('against the emulator: a token for the org, MISSING_ORG_INFO for an unknown org', async () => {
    const emulator = await startZohoEmulator();
    try {
      const emulatorEnv = customEnvironment({ accountsUrl: emulator.url, apiBaseUrl: emulator.url });
      const emulatorClient = { clientId: EMULATOR_CLIENT.clientId, clientSecret: EMULATOR_CLIENT.clientSecret };
      // A self client's code goes without redirect URI; the first org's id comes from /crm/v8/org.
      const code = emulator.issueGrantCode({ selfClient: true });
      const signedIn = await exchangeAuthorizationCode(emulatorEnv, emulatorClient, code, options);
      const org = await fetch(`${emulator.url}/crm/v8/org`, {
        headers: { authorization: `Zoho-oauthtoken ${signedIn.accessToken}` },
      });
      const orgId = ((await org.json()) as { org: { id: string }[] }).org[0]?.id as string;
      const grant = await requestClientCredentialsToken(
        emulatorEnv,
        emulatorClient,
        { scope: 'ZohoCRM.org.READ', orgId },
        options,
      );
      assert.deepEqual([grant.refreshToken, grant.apiDomain, grant.expiresInMs], [null, emulator.url, 3_600_000]);
      const error = await failureOf(
        requestClientCredentialsToken(emulatorEnv, emulatorClient, { scope: 'ZohoCRM.org.READ', orgId: '1' }, options),
      );
      assert.deepEqual(
        [error.code, error.zohoError, error.retryable],
        [OAuthErrorCode.MISSING_ORG_INFO, 'missing_org_info', false],
      );
      // A web code still needs its redirect URI.
      const web = await failureOf(
        exchangeAuthorizationCode(emulatorEnv, emulatorClient, emulator.issueGrantCode(), options),
      );
      assert.equal(web.code, OAuthErrorCode.INVALID_REDIRECT_URI);
    } finally {
      await emulator.close();
    }
  });
});

describe('refreshAccessToken', () => {
  it('POSTs the refresh grant; a refresh answer carries no refresh token', async () => {
    const { refresh_token: _, ...refreshed } = success;
    server.respond({ body: refreshed });
    const grant = await refreshAccessToken(env, client, REFRESH, { ...options, now: () => 5_000 });
    assert.equal(grant.refreshToken, null);
    assert.equal(grant.accessToken, ACCESS);
    assert.equal(grant.expiresAt, 5_000 + 3_600_000);
    assert.deepEqual(Object.fromEntries(server.received[0]?.form ?? []), {
      grant_type: 'refresh_token',
      refresh_token: REFRESH,
      client_id: client.clientId,
      client_secret: SECRET,
    });
  });

  it('reads the older shape: expires_in_sec in seconds, expires_in in ms', async () => {
    server.respond({
      body: {
        access_token: ACCESS,
        api_domain: 'https://www.zohoapis.eu',
        expires_in_sec: 3600,
        expires_in: 3_600_000,
      },
    });
    const grant = await refreshAccessToken(env, client, REFRESH, { ...options, now: () => 0 });
    assert.equal(grant.expiresInMs, 3_600_000);
    assert.equal(grant.expiresAt, 3_600_000);
    assert.equal(grant.tokenType, 'Bearer');
  });

  it('uses the injected fetch', async () => {
    const calls: [string, RequestInit | undefined][] = [];
    const fakeFetch: typeof fetch = async (input, init) => {
      calls.push([String(input), init]);
      return Response.json(success);
    };
    const grant = await refreshAccessToken(environmentFor('EU'), client, REFRESH, { fetch: fakeFetch });
    assert.equal(grant.accessToken, ACCESS);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.[0], 'https://accounts.zoho.eu/oauth/v2/token');
    assert.equal(calls[0]?.[1]?.method, 'POST');
    assert.equal(calls[0]?.[1]?.redirect, 'manual');
  });
});

describe('errors from the token endpoint', () => {
  const cases: [string, number, string][] = [
    ['invalid_code', 200, OAuthErrorCode.INVALID_GRANT],
    ['invalid_code', 400, OAuthErrorCode.INVALID_GRANT],
    ['invalid_client', 200, OAuthErrorCode.INVALID_CLIENT],
    ['invalid_client_secret', 200, OAuthErrorCode.INVALID_CLIENT_SECRET],
    ['invalid_redirect_uri', 200, OAuthErrorCode.INVALID_REDIRECT_URI],
    ['invalid_redirect_uri', 400, OAuthErrorCode.INVALID_REDIRECT_URI],
    ['missing_org_info', 200, OAuthErrorCode.MISSING_ORG_INFO],
    ['unsupported_grant_type', 200, OAuthErrorCode.UNEXPECTED_RESPONSE],
  ];
  for (const [zohoError, status, code] of cases) {
    it(`{"error":"${zohoError}"} with HTTP ${status} → ${code}, not retried`, async () => {
      server.respond({ status, body: { error: zohoError } });
      const error = await failureOf(exchangeAuthorizationCode(env, client, CODE, options));
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.equal(error.zohoError, zohoError);
      assert.equal(error.retryable, false);
      assert.equal(server.received.length, 1);
      assertNoSecrets(error);
    });
  }

  for (const status of [200, 400]) {
    it(`"Access Denied" with HTTP ${status} → RATE_LIMITED after exactly one request`, async () => {
      server.respond({ status, body: ACCESS_DENIED });
      const error = await failureOf(refreshAccessToken(env, client, REFRESH, { ...options, retries: 5 }));
      assert.equal(error.code, OAuthErrorCode.RATE_LIMITED);
      assert.equal(error.retryable, true);
      assert.equal(error.retryAfterMs, RATE_LIMIT_RETRY_AFTER_MS);
      assert.equal(error.zohoError, 'Access Denied');
      assert.equal(server.received.length, 1);
    });
  }

  it('a 429 from a proxy → RATE_LIMITED with its Retry-After, not retried', async () => {
    server.respond({ status: 429, body: 'slow down', headers: { 'retry-after': '120' } });
    const error = await failureOf(refreshAccessToken(env, client, REFRESH, options));
    assert.equal(error.code, OAuthErrorCode.RATE_LIMITED);
    assert.equal(error.retryAfterMs, 120_000);
    assert.equal(server.received.length, 1);
  });

  it('caps a Retry-After at 10 minutes, Zoho’s window', async () => {
    const inAYear = new Date(Date.now() + 365 * 86_400_000).toUTCString();
    for (const retryAfter of ['1000000000', inAYear]) {
      server.respond({ status: 429, body: 'slow down', headers: { 'retry-after': retryAfter } });
      const error = await failureOf(refreshAccessToken(env, client, REFRESH, options));
      assert.equal(error.code, OAuthErrorCode.RATE_LIMITED);
      assert.equal(error.retryAfterMs, MAX_RETRY_AFTER_MS);
      assert.equal(MAX_RETRY_AFTER_MS, 600_000);
    }
  });

  it('retries a 5xx and returns the grant that follows', async () => {
    server.respond({ status: 503, body: 'busy' }, { status: 500, body: {} }, { body: success });
    const grant = await refreshAccessToken(env, client, REFRESH, { ...options, retries: 2 });
    assert.equal(grant.accessToken, ACCESS);
    assert.equal(server.received.length, 3);
  });

  it('gives up on 5xx after retries + 1 attempts with SERVER_ERROR', async () => {
    server.respond({ status: 503, body: 'busy' });
    const error = await failureOf(refreshAccessToken(env, client, REFRESH, { ...options, retries: 3 }));
    assert.equal(error.code, OAuthErrorCode.SERVER_ERROR);
    assert.equal(error.status, 503);
    assert.equal(error.retryable, true);
    assert.equal(server.received.length, 4);
  });

  it('times out each attempt of a server that never answers → TIMEOUT', async () => {
    server.respond('hang');
    const started = performance.now();
    const error = await failureOf(refreshAccessToken(env, client, REFRESH, { ...options, timeoutMs: 50, retries: 1 }));
    assert.equal(error.code, OAuthErrorCode.TIMEOUT);
    assert.equal(error.retryable, true);
    assert.ok(error.cause);
    assert.equal(server.received.length, 2);
    assert.ok(performance.now() - started < 1_500);
  });

  it('a refused connection → NETWORK_ERROR with the cause, for every call', async () => {
    const closed = await startAccountsServer();
    await closed.close();
    const nowhere = customEnvironment({ accountsUrl: closed.url, apiBaseUrl: closed.url });
    for (const call of [
      () => refreshAccessToken(nowhere, client, REFRESH, { ...options, retries: 1 }),
      () => exchangeAuthorizationCode(nowhere, client, CODE, { ...options, retries: 0 }),
      () => revokeRefreshToken(nowhere, REFRESH, { ...options, retries: 0 }),
    ]) {
      const error = await failureOf(call());
      assert.equal(error.code, OAuthErrorCode.NETWORK_ERROR);
      assert.equal(error.retryable, true);
      assert.ok(error.cause instanceof Error);
      assertNoSecrets(error);
    }
  });

  it('rejects with the caller’s abort reason, and stops retrying', async () => {
    server.respond('hang');
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 30);
    await assert.rejects(
      refreshAccessToken(env, client, REFRESH, { ...options, signal: controller.signal, retries: 3 }),
      (error) => error === reason,
    );
    assert.equal(server.received.length, 1);
  });

  const unexpected: [string, Reply][] = [
    ['an HTML page', { body: '<html>Service Unavailable</html>' }],
    ['JSON without access_token', { body: { api_domain: 'https://www.zohoapis.com', expires_in: 3600 } }],
    ['JSON without expiry', { body: { access_token: ACCESS } }],
    ['a JSON array', { body: '[]' }],
    ['an empty body', { body: '' }],
    ['a redirect (not followed)', { status: 302, headers: { location: '/elsewhere' } }],
  ];
  for (const [what, reply] of unexpected) {
    it(`${what} → UNEXPECTED_RESPONSE, not retried`, async () => {
      server.respond(reply);
      const error = await failureOf(exchangeAuthorizationCode(env, client, CODE, options));
      assert.equal(error.code, OAuthErrorCode.UNEXPECTED_RESPONSE);
      assert.equal(error.retryable, false);
      assert.equal(server.received.length, 1);
    });
  }

  it('never puts a token or secret in a message, even when the server echoes them', async () => {
    const echoes: Reply[] = [
      { body: `not json ${SECRET} ${REFRESH}` },
      { body: { error: REFRESH } },
      { body: { error: 'invalid_code', error_description: `code ${CODE} used` } },
      { status: 400, body: { ...ACCESS_DENIED, token: ACCESS } },
      { status: 500, body: { client_secret: SECRET } },
    ];
    for (const reply of echoes) {
      server.respond(reply);
      const error = await failureOf(exchangeAuthorizationCode(env, client, CODE, { ...options, retries: 0 }));
      assertNoSecrets(error);
    }
  });
});

describe('revokeRefreshToken', () => {
  it('POSTs to /oauth/v2/token/revoke?token=… and resolves on {"status":"success"}', async () => {
    server.respond({ body: { status: 'success' } });
    await revokeRefreshToken(env, REFRESH, options);
    const [request] = server.received as [Received];
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/oauth/v2/token/revoke');
    assert.equal(request.query.get('token'), REFRESH);
  });

  it('an unknown token (HTTP 400) → INVALID_TOKEN, whatever the body', async () => {
    for (const body of [{ status: 'failure' }, '<html>Bad Request</html>']) {
      server.respond({ status: 400, body });
      const error = await failureOf(revokeRefreshToken(env, REFRESH, options));
      assert.equal(error.code, OAuthErrorCode.INVALID_TOKEN);
      assert.equal(error.status, 400);
      assertNoSecrets(error);
    }
  });

  it('"Access Denied" → RATE_LIMITED, not retried', async () => {
    server.respond({ status: 400, body: ACCESS_DENIED });
    const error = await failureOf(revokeRefreshToken(env, REFRESH, options));
    assert.equal(error.code, OAuthErrorCode.RATE_LIMITED);
    assert.equal(server.received.length, 1);
  });
});

describe('authorizationUrl', () => {
  it('builds the consent URL at the environment’s accounts server, offline by default', () => {
    const url = new URL(
      authorizationUrl(environmentFor('EU'), {
        clientId: client.clientId,
        redirectUri: client.redirectUri,
        scope: ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ'],
        prompt: 'consent',
        state: 'st-1',
        loginHint: 'ana.lopez@zylker.com',
      }),
    );
    assert.equal(`${url.origin}${url.pathname}`, 'https://accounts.zoho.eu/oauth/v2/auth');
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      client_id: client.clientId,
      response_type: 'code',
      redirect_uri: client.redirectUri,
      scope: 'ZohoCRM.modules.ALL,ZohoCRM.users.READ',
      access_type: 'offline',
      prompt: 'consent',
      state: 'st-1',
      login_hint: 'ana.lopez@zylker.com',
    });
  });

  it('takes a scope string and online access; requires a state', () => {
    const base = { clientId: 'c', redirectUri: 'https://app.example.com/cb', scope: 'ZohoCRM.org.READ' };
    const url = new URL(authorizationUrl(environmentFor('US'), { ...base, accessType: 'online', state: 's' }));
    assert.equal(url.searchParams.get('scope'), 'ZohoCRM.org.READ');
    assert.equal(url.searchParams.get('access_type'), 'online');
    assert.equal(url.searchParams.has('prompt'), false);
    assert.throws(() => authorizationUrl(environmentFor('US'), { ...base, state: '' }), TypeError);
  });
});

describe('answers too large to be Zoho’s', () => {
  it('a body over 1 MiB → RESPONSE_TOO_LARGE, not retried', async () => {
    server.respond({ body: { ...success, padding: 'x'.repeat(1_100_000) } });
    const error = await failureOf(exchangeAuthorizationCode(env, client, CODE, options));
    assert.equal(error.code, OAuthErrorCode.RESPONSE_TOO_LARGE);
    assert.equal(error.retryable, false);
    assert.equal(server.received.length, 1);
  });

  it('stops reading a body that never ends once past the limit, long before the timeout', async () => {
    const endless = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = () => {
        while (!response.destroyed && response.write(chunk)) {}
        if (!response.destroyed) response.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
    try {
      const started = Date.now();
      const error = await failureOf(
        refreshAccessToken(customEnvironment({ accountsUrl: url, apiBaseUrl: url }), client, REFRESH, {
          ...options,
          timeoutMs: 20_000,
          retries: 0,
        }),
      );
      assert.equal(error.code, OAuthErrorCode.RESPONSE_TOO_LARGE);
      assert.ok(Date.now() - started < 10_000, 'did not wait for the timeout');
    } finally {
      endless.closeAllConnections();
      await new Promise((resolve) => endless.close(resolve));
    }
  });
});

describe('a token or secret goes only to the accounts server of its environment', () => {
  /** Hand-built environments (configuration mistakes or tampering) that point at `url`. */
  const forged = (url: string): [string, Environment][] => [
    ['a Zoho data center with another accounts server', { ...environmentFor('US'), accountsUrl: url }],
    ['a lookalike host', { ...environmentFor('US'), accountsUrl: 'https://accounts.zoho.com.evil.example' }],
    [
      'userinfo in front of another host',
      { ...environmentFor('US'), accountsUrl: `https://accounts.zoho.com@${new URL(url).host}` },
    ],
    ['another port', { ...environmentFor('US'), accountsUrl: 'https://accounts.zoho.com:8443' }],
    ['plain http to Zoho', { ...environmentFor('EU'), accountsUrl: 'http://accounts.zoho.eu' }],
    ['another data center’s server', { ...environmentFor('EU'), accountsUrl: 'https://accounts.zoho.com' }],
    ['an unknown data center', { ...environmentFor('US'), dataCenter: 'XX' as 'US' }],
    ['a custom one on plain http off loopback', { ...env, accountsUrl: 'http://accounts.evil.example' }],
    ['a custom one with credentials', { ...env, accountsUrl: url.replace('://', '://user:pass@') }],
  ];

  it('refuses each with UNTRUSTED_ACCOUNTS_SERVER, and the listener gets no request', async () => {
    for (const [what, environment] of forged(server.url)) {
      server.respond({ body: success });
      for (const call of [
        () => exchangeAuthorizationCode(environment, client, CODE, options),
        () => refreshAccessToken(environment, client, REFRESH, options),
        () => requestClientCredentialsToken(environment, client, { scope: 'ZohoCRM.org.READ', orgId: '1' }, options),
        () => revokeRefreshToken(environment, REFRESH, options),
      ]) {
        const error = await failureOf(call());
        assert.equal(error.code, OAuthErrorCode.UNTRUSTED_ACCOUNTS_SERVER, what);
        assert.equal(error.retryable, false);
        assertNoSecrets(error);
      }
      assert.throws(
        () =>
          authorizationUrl(environment, {
            clientId: client.clientId,
            redirectUri: client.redirectUri,
            scope: 'x',
            state: 's',
          }),
        (error: unknown) => isOAuthError(error) && error.code === OAuthErrorCode.UNTRUSTED_ACCOUNTS_SERVER,
        what,
      );
      assert.equal(server.received.length, 0, `${what}: the listener got no request`);
    }
  });

  it('still takes a Zoho data center’s own server, and a custom one’s loopback http', async () => {
    server.respond({ body: success });
    assert.equal((await refreshAccessToken(env, client, REFRESH, options)).accessToken, ACCESS);
    const lan = customEnvironment({
      accountsUrl: 'http://emulator.lan:4010',
      apiBaseUrl: server.url,
      allowInsecureHttp: true,
    });
    assert.match(
      authorizationUrl(lan, { clientId: 'id', redirectUri: 'https://a/cb', scope: 'x', state: 's' }),
      /^http:\/\/emulator\.lan:4010\//,
    );
    assert.match(
      authorizationUrl(environmentFor('CA'), { clientId: 'id', redirectUri: 'https://a/cb', scope: 'x', state: 's' }),
      /^https:\/\/accounts\.zohocloud\.ca\//,
    );
  });
});
