import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CRM_VERSIONS,
  EMULATOR_CLIENT,
  EmulatorStateError,
  EmulatorStateErrorCode,
  type GrantCodeOptions,
  startZohoEmulator,
  TEST_API_HEADERS,
  type ZohoEmulator,
  type ZohoEmulatorOptions,
} from 'zoho-token-store/emulator';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ANA = 'ana.lopez@zylker.com';
const BEN = 'ben.carter@zylker.com';
const KENJI = 'kenji.sato@zylkeracademy.com';
const REDIRECT = EMULATOR_CLIENT.redirectUris[0];
const TOKEN = /^1000\.[0-9a-f]{32}\.[0-9a-f]{32}$/;
const JSON_TYPE = 'application/json;charset=UTF-8';
const ACCESS_DENIED = {
  error_description: 'You have made too many requests continuously. Please try again after some time.',
  error: 'Access Denied',
  status: 'failure',
};
const INVALID_TOKEN = { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' };

interface Answer {
  status: number;
  type: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  body: any;
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), body: text ? JSON.parse(text) : null };
}

type Via = 'query' | 'urlencoded' | 'multipart';

/** POST /oauth/v2/token with the parameters in the query string, a urlencoded body or a multipart body. */
async function tokenRequest(em: ZohoEmulator, params: Record<string, string>, via: Via = 'urlencoded') {
  const url = new URL('/oauth/v2/token', em.url);
  const init: RequestInit = { method: 'POST' };
  if (via === 'query') for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  else if (via === 'urlencoded') init.body = new URLSearchParams(params);
  else {
    const form = new FormData();
    for (const [k, v] of Object.entries(params)) form.append(k, v);
    init.body = form;
  }
  return answerOf(await fetch(url, init));
}

const credentials = { client_id: EMULATOR_CLIENT.clientId, client_secret: EMULATOR_CLIENT.clientSecret };

const exchange = (em: ZohoEmulator, code: string, extra: Record<string, string> = {}, via: Via = 'urlencoded') =>
  tokenRequest(em, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...credentials, ...extra }, via);

const refresh = (em: ZohoEmulator, refreshToken: string, extra: Record<string, string> = {}) =>
  tokenRequest(em, { grant_type: 'refresh_token', refresh_token: refreshToken, ...credentials, ...extra });

/** A signed-in user's tokens, through issueGrantCode and the code grant. */
async function signIn(em: ZohoEmulator, options: GrantCodeOptions = {}) {
  const answer = await exchange(em, em.issueGrantCode({ userEmail: ANA, ...options }));
  assert.equal(answer.status, 200);
  assert.match(answer.body.access_token, TOKEN, JSON.stringify(answer.body));
  return { accessToken: answer.body.access_token as string, refreshToken: answer.body.refresh_token as string };
}

async function refreshed(em: ZohoEmulator, refreshToken: string): Promise<string> {
  const answer = await refresh(em, refreshToken);
  assert.match(answer.body.access_token ?? '', TOKEN, JSON.stringify(answer.body));
  return answer.body.access_token;
}

async function crm(em: ZohoEmulator, path: string, token?: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Zoho-oauthtoken ${token}`);
  return answerOf(await fetch(new URL(path, em.url), { ...init, headers }));
}

const currentUser = async (em: ZohoEmulator, token: string) =>
  (await crm(em, '/crm/v8/users?type=CurrentUser', token)).body.users?.[0]?.email;

/** Runs `fn` against an emulator of its own, closed afterwards. */
async function withEmulator(options: ZohoEmulatorOptions, fn: (em: ZohoEmulator) => Promise<void>) {
  const em = await startZohoEmulator(options);
  try {
    await fn(em);
  } finally {
    await em.close();
  }
}

let emulator: ZohoEmulator;
before(async () => {
  emulator = await startZohoEmulator();
});
after(() => emulator.close());
beforeEach(() => {
  emulator.clearFaults();
  emulator.resetCounters();
  // Every 10-minute rate window of earlier tests closes.
  emulator.clock.advance(11 * MINUTE);
});

describe('token endpoint: authorization code grant', () => {
  for (const via of ['query', 'urlencoded', 'multipart'] as const) {
    it(`exchanges a code sent as ${via}`, async () => {
      const answer = await exchange(emulator, emulator.issueGrantCode({ userEmail: ANA }), {}, via);
      assert.equal(answer.status, 200);
      assert.equal(answer.type, JSON_TYPE);
      assert.deepEqual(Object.keys(answer.body), [
        'access_token',
        'refresh_token',
        'api_domain',
        'token_type',
        'expires_in',
      ]);
      assert.match(answer.body.access_token, TOKEN);
      assert.match(answer.body.refresh_token, TOKEN);
      assert.notEqual(answer.body.access_token, answer.body.refresh_token);
      assert.equal(answer.body.api_domain, emulator.url);
      assert.equal(answer.body.token_type, 'Bearer');
      assert.equal(answer.body.expires_in, 3600);
      assert.equal(await currentUser(emulator, answer.body.access_token), ANA);
      assert.deepEqual(emulator.counters(), { 'token.authorization_code': 1, 'crm.users': 1 });
    });
  }

  it('accepts a code once', async () => {
    const code = emulator.issueGrantCode({ userEmail: ANA });
    assert.equal((await exchange(emulator, code)).status, 200);
    assert.deepEqual(await exchange(emulator, code), { status: 200, type: JSON_TYPE, body: { error: 'invalid_code' } });
  });

  it('refuses a code after 3 minutes of the emulator clock', async () => {
    const fresh = emulator.issueGrantCode({ userEmail: ANA });
    const stale = emulator.issueGrantCode({ userEmail: ANA });
    emulator.clock.advance(3 * MINUTE - 1);
    assert.match((await exchange(emulator, fresh)).body.access_token, TOKEN);
    emulator.clock.advance(1);
    assert.deepEqual((await exchange(emulator, stale)).body, { error: 'invalid_code' });
  });

  it('gives no refresh token for an online code', async () => {
    const answer = await exchange(emulator, emulator.issueGrantCode({ userEmail: ANA, accessType: 'online' }));
    assert.deepEqual(Object.keys(answer.body), ['access_token', 'api_domain', 'token_type', 'expires_in']);
    assert.equal(await currentUser(emulator, answer.body.access_token), ANA);
  });

  it('answers every client and code error with HTTP 200 and Zoho’s error', async () => {
    const code = emulator.issueGrantCode({ userEmail: ANA });
    const cases: [Record<string, string>, string][] = [
      [{ client_id: '1000.UNKNOWN' }, 'invalid_client'],
      [{ client_secret: 'wrong' }, 'invalid_client_secret'],
      [{ redirect_uri: 'http://localhost:3000/elsewhere' }, 'invalid_redirect_uri'],
      [{ code: `1000.${'0'.repeat(32)}.${'0'.repeat(32)}` }, 'invalid_code'],
      [{ grant_type: 'password' }, 'unsupported_grant_type'],
    ];
    for (const [extra, error] of cases) {
      assert.deepEqual(await exchange(emulator, code, extra), { status: 200, type: JSON_TYPE, body: { error } });
    }
    // None of the refusals spent the code.
    assert.match((await exchange(emulator, code)).body.access_token, TOKEN);
    assert.deepEqual(emulator.counters(), { 'token.authorization_code': 5, 'token.other': 1 });
  });

  it('takes only POST', async () => {
    const answer = await answerOf(await fetch(`${emulator.url}/oauth/v2/token`));
    assert.equal(answer.status, 405);
    assert.equal(answer.body.error, 'invalid_request');
  });

  it('issues random, Zoho-shaped codes', () => {
    const codes = new Set(Array.from({ length: 5 }, () => emulator.issueGrantCode({ userEmail: ANA })));
    assert.equal(codes.size, 5);
    for (const code of codes) assert.match(code, TOKEN);
  });

  it('refuses to issue codes for unknown clients, users or redirect URIs', () => {
    assert.throws(() => emulator.issueGrantCode({ clientId: '1000.NOPE' }), /unknown clientId/);
    assert.throws(() => emulator.issueGrantCode({ userEmail: 'nobody@zylker.com' }), /unknown userEmail/);
    assert.throws(() => emulator.issueGrantCode({ redirectUri: 'https://evil.example/cb' }), /redirectUri/);
    assert.throws(() => emulator.issueGrantCode({ scope: ' , ' }), /no scope/);
  });
});

describe('token endpoint: refresh grant', () => {
  it('mints a new access token and no refresh token; the old access token keeps working', async () => {
    const { accessToken, refreshToken } = await signIn(emulator);
    const answer = await refresh(emulator, refreshToken);
    assert.equal(answer.status, 200);
    assert.deepEqual(Object.keys(answer.body), ['access_token', 'api_domain', 'token_type', 'expires_in']);
    assert.notEqual(answer.body.access_token, accessToken);
    assert.equal(await currentUser(emulator, answer.body.access_token), ANA);
    assert.equal(await currentUser(emulator, accessToken), ANA);
    assert.equal(emulator.counters()['token.refresh_token'], 1);
  });

  it('refuses unknown refresh tokens and bad client credentials', async () => {
    const { refreshToken } = await signIn(emulator);
    assert.deepEqual((await refresh(emulator, `1000.${'a'.repeat(32)}.${'b'.repeat(32)}`)).body, {
      error: 'invalid_code',
    });
    assert.deepEqual((await refresh(emulator, refreshToken, { client_secret: 'x' })).body, {
      error: 'invalid_client_secret',
    });
    assert.deepEqual((await refresh(emulator, refreshToken, { client_id: 'x' })).body, { error: 'invalid_client' });
  });

  it('says Access Denied after 10 refreshes within 10 minutes, and refreshes again 10 minutes later', async () => {
    const { refreshToken } = await signIn(emulator);
    for (let i = 0; i < 10; i++) await refreshed(emulator, refreshToken);
    assert.deepEqual(await refresh(emulator, refreshToken), { status: 200, type: JSON_TYPE, body: ACCESS_DENIED });
    // Another user's refresh token has its own allowance.
    await refreshed(emulator, (await signIn(emulator, { userEmail: KENJI })).refreshToken);
    emulator.clock.advance(10 * MINUTE - 1);
    assert.deepEqual((await refresh(emulator, refreshToken)).body, ACCESS_DENIED);
    emulator.clock.advance(1);
    await refreshed(emulator, refreshToken);
    assert.equal(emulator.counters()['token.refresh_token'], 14);
  });

  it('keeps 15 access tokens per refresh token alive: the 16th invalidates the oldest', async () => {
    const { accessToken: first, refreshToken } = await signIn(emulator);
    const tokens = [first];
    for (let i = 0; i < 9; i++) tokens.push(await refreshed(emulator, refreshToken));
    emulator.clock.advance(10 * MINUTE);
    for (let i = 0; i < 5; i++) tokens.push(await refreshed(emulator, refreshToken));
    assert.equal(tokens.length, 15);
    assert.equal(await currentUser(emulator, first), ANA);
    tokens.push(await refreshed(emulator, refreshToken));
    const oldest = await crm(emulator, '/crm/v8/users?type=CurrentUser', first);
    assert.deepEqual(oldest, { status: 401, type: JSON_TYPE, body: INVALID_TOKEN });
    for (const token of tokens.slice(1)) assert.equal(await currentUser(emulator, token), ANA);
  });

  it('issues at most 10 refresh tokens per user and client in 10 minutes', async () => {
    await withEmulator({}, async (em) => {
      for (let i = 0; i < 10; i++) await signIn(em, { userEmail: BEN });
      const code = em.issueGrantCode({ userEmail: BEN });
      assert.deepEqual(await exchange(em, code), { status: 200, type: JSON_TYPE, body: ACCESS_DENIED });
      // Online codes make no refresh token, and other users are not affected.
      const online = await exchange(em, em.issueGrantCode({ userEmail: BEN, accessType: 'online' }));
      assert.match(online.body.access_token, TOKEN);
      await signIn(em, { userEmail: KENJI });
      em.clock.advance(10 * MINUTE);
      assert.match((await exchange(em, em.issueGrantCode({ userEmail: BEN }))).body.refresh_token, TOKEN);
    });
  });

  it('keeps 20 refresh tokens per user and client: the 21st deletes the oldest and its access tokens', async () => {
    await withEmulator({}, async (em) => {
      const sessions = [];
      for (let i = 0; i < 21; i++) {
        if (i % 10 === 0) em.clock.advance(10 * MINUTE);
        sessions.push(await signIn(em, { userEmail: BEN }));
      }
      const [oldest, second] = sessions as [(typeof sessions)[0], (typeof sessions)[0]];
      assert.deepEqual((await refresh(em, oldest.refreshToken)).body, { error: 'invalid_code' });
      assert.equal((await crm(em, '/crm/v8/org', oldest.accessToken)).status, 401);
      assert.equal(await currentUser(em, second.accessToken), BEN);
      await refreshed(em, second.refreshToken);
    });
  });

  it('expires access tokens after an hour of the emulator clock', async () => {
    const { accessToken, refreshToken } = await signIn(emulator);
    emulator.clock.advance(HOUR - 1);
    assert.equal(await currentUser(emulator, accessToken), ANA);
    emulator.clock.advance(1);
    assert.deepEqual(await crm(emulator, '/crm/v8/users?type=CurrentUser', accessToken), {
      status: 401,
      type: JSON_TYPE,
      body: INVALID_TOKEN,
    });
    // Refresh tokens do not expire.
    emulator.clock.advance(1_000 * HOUR);
    await refreshed(emulator, refreshToken);
  });
});

describe('revoke', () => {
  const revoke = async (token: string) =>
    answerOf(
      await fetch(`${emulator.url}/oauth/v2/token/revoke?${new URLSearchParams({ token })}`, { method: 'POST' }),
    );

  it('revokes a refresh token and every access token made from it', async () => {
    const { accessToken, refreshToken } = await signIn(emulator);
    const second = await refreshed(emulator, refreshToken);
    const other = await signIn(emulator);
    assert.deepEqual(await revoke(refreshToken), { status: 200, type: JSON_TYPE, body: { status: 'success' } });
    for (const token of [accessToken, second]) {
      assert.deepEqual((await crm(emulator, '/crm/v8/users?type=CurrentUser', token)).body, INVALID_TOKEN);
    }
    assert.deepEqual((await refresh(emulator, refreshToken)).body, { error: 'invalid_code' });
    assert.equal(await currentUser(emulator, other.accessToken), ANA, 'another sign-in of the user survives');
  });

  it('answers 400 for an unknown token, and takes only POST', async () => {
    assert.deepEqual(await revoke('1000.nope'), {
      status: 400,
      type: JSON_TYPE,
      body: { error: 'invalid_token', status: 'failure' },
    });
    assert.equal((await fetch(`${emulator.url}/oauth/v2/token/revoke?token=x`)).status, 405);
    assert.equal(emulator.counters().revoke, 2);
  });
});

describe('CRM API', () => {
  let ana: string;
  let ben: string;
  let kenji: string;
  beforeEach(async () => {
    ana = (await signIn(emulator)).accessToken;
    ben = (await signIn(emulator, { userEmail: BEN })).accessToken;
    kenji = (await signIn(emulator, { userEmail: KENJI })).accessToken;
  });

  it('answers 401 AUTHENTICATION_FAILURE without a Zoho-oauthtoken header', async () => {
    for (const headers of [{}, { authorization: `Bearer ${ana}` }] as Record<string, string>[]) {
      const answer = await crm(emulator, '/crm/v8/org', undefined, { headers });
      assert.equal(answer.status, 401);
      assert.equal(answer.type, JSON_TYPE);
      assert.equal(answer.body.code, 'AUTHENTICATION_FAILURE');
      assert.equal(answer.body.status, 'error');
    }
  });

  it('answers 401 INVALID_TOKEN, exactly, for an unknown token', async () => {
    assert.deepEqual(await crm(emulator, '/crm/v8/Leads?fields=Email', `1000.${'f'.repeat(32)}.${'f'.repeat(32)}`), {
      status: 401,
      type: JSON_TYPE,
      body: INVALID_TOKEN,
    });
  });

  it('answers 401 OAUTH_SCOPE_MISMATCH when the token’s scope does not cover the call', async () => {
    const usersOnly = (await signIn(emulator, { scope: 'ZohoCRM.users.READ' })).accessToken;
    assert.equal(await currentUser(emulator, usersOnly), ANA);
    for (const path of ['/crm/v8/org', '/crm/v8/Leads?fields=Email', '/crm/v8/settings/fields?module=Leads']) {
      const answer = await crm(emulator, path, usersOnly);
      assert.equal(answer.status, 401, path);
      assert.equal(answer.body.code, 'OAUTH_SCOPE_MISMATCH', path);
    }
    const readLeads = (await signIn(emulator, { scope: 'ZohoCRM.modules.leads.READ,ZohoCRM.settings.READ' }))
      .accessToken;
    assert.equal((await crm(emulator, '/crm/v8/Leads?fields=Email', readLeads)).status, 200);
    assert.equal((await crm(emulator, '/crm/v8/settings/fields?module=Leads', readLeads)).status, 200);
    const insert = await crm(emulator, '/crm/v8/Leads', readLeads, {
      method: 'POST',
      body: JSON.stringify({ data: [{ Last_Name: 'Nope' }] }),
    });
    assert.equal(insert.status, 401);
    assert.equal(insert.body.code, 'OAUTH_SCOPE_MISMATCH');
  });

  it('GET /crm/v8/users?type=CurrentUser describes the token’s user', async () => {
    const answer = await crm(emulator, '/crm/v8/users?type=CurrentUser', ana);
    assert.equal(answer.status, 200);
    assert.equal(answer.type, JSON_TYPE);
    const [user] = answer.body.users;
    assert.equal(answer.body.users.length, 1);
    assert.equal(user.email, ANA);
    assert.equal(user.first_name, 'Ana');
    assert.equal(user.last_name, 'López');
    assert.equal(user.full_name, 'Ana López');
    assert.equal(user.status, 'active');
    assert.match(user.id, /^\d{19}$/);
    assert.match(user.zuid, /^\d+$/);
    assert.equal(user.profile.name, 'Administrator');
    assert.ok(user.role.name && user.role.id);
    assert.deepEqual(answer.body.info, { per_page: 200, count: 1, page: 1, more_records: false });
    assert.equal(await currentUser(emulator, kenji), KENJI);
    const all = await crm(emulator, '/crm/v8/users?type=AllUsers', ben);
    assert.deepEqual(
      all.body.users.map((u: { email: string }) => u.email),
      [ANA, BEN],
    );
  });

  it('GET /crm/v8/org describes the user’s org', async () => {
    const answer = await crm(emulator, '/crm/v8/org', ben);
    assert.equal(answer.status, 200);
    const [org] = answer.body.org;
    assert.equal(org.company_name, 'Zylker');
    assert.equal(org.primary_email, ANA);
    assert.match(org.zgid, /^\d+$/);
    assert.equal(org.domain_name, `org${org.zgid}`);
    assert.ok(org.id && org.time_zone);
    const other = (await crm(emulator, '/crm/v8/org', kenji)).body.org[0];
    assert.equal(other.company_name, 'Zylkeracademy');
    assert.notEqual(other.zgid, org.zgid);
  });

  it('GET /crm/v8/settings/modules and /settings/fields describe Leads', async () => {
    const modules = await crm(emulator, '/crm/v8/settings/modules', ana);
    assert.equal(modules.status, 200);
    assert.deepEqual(
      modules.body.modules.map((m: Record<string, unknown>) => [
        m.api_name,
        m.module_name,
        m.api_supported,
        m.generated_type,
        typeof m.id,
      ]),
      [['Leads', 'Leads', true, 'default', 'string']],
    );
    const fields = await crm(emulator, '/crm/v8/settings/fields?module=Leads', ana);
    assert.equal(fields.status, 200);
    const byName = new Map(fields.body.fields.map((f: { api_name: string }) => [f.api_name, f]));
    for (const name of ['Last_Name', 'Email', 'Owner', 'Company']) assert.ok(byName.has(name), name);
    for (const field of fields.body.fields) {
      for (const key of ['api_name', 'data_type', 'json_type', 'id', 'field_label', 'system_mandatory']) {
        assert.ok(key in field, `${field.api_name} lacks ${key}`);
      }
    }
    assert.equal((byName.get('Last_Name') as { system_mandatory: boolean }).system_mandatory, true);
    assert.equal((byName.get('Email') as { data_type: string }).data_type, 'email');
    const missing = await crm(emulator, '/crm/v8/settings/fields', ana);
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body.details, { param: 'module' });
    assert.equal((await crm(emulator, '/crm/v8/settings/fields?module=Deals', ana)).body.code, 'INVALID_MODULE');
  });

  it('GET /crm/v8/Leads needs fields and returns only those, plus id, of the user’s org', async () => {
    assert.deepEqual(await crm(emulator, '/crm/v8/Leads', ana), {
      status: 400,
      type: JSON_TYPE,
      body: {
        code: 'REQUIRED_PARAM_MISSING',
        details: { param: 'fields' },
        message: 'One of the expected parameter is missing',
        status: 'error',
      },
    });
    const answer = await crm(emulator, '/crm/v8/Leads?fields=Last_Name,Email,Owner', ana);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.data.length, 6, 'three seeded leads for each of the two zylker.com users');
    for (const lead of answer.body.data) {
      assert.deepEqual(Object.keys(lead), ['id', 'Last_Name', 'Email', 'Owner']);
      assert.match(lead.id, /^\d{19}$/);
      assert.ok([ANA, BEN].includes(lead.Owner.email));
    }
    assert.deepEqual(answer.body.info, {
      per_page: 200,
      count: 6,
      page: 1,
      sort_by: 'id',
      sort_order: 'desc',
      more_records: false,
      next_page_token: null,
      previous_page_token: null,
      page_token_expiry: null,
    });
    const theirs = (await crm(emulator, '/crm/v8/Leads?fields=Last_Name', kenji)).body.data;
    assert.equal(theirs.length, 3);
    const ours = new Set(answer.body.data.map((l: { id: string }) => l.id));
    assert.ok(theirs.every((l: { id: string }) => !ours.has(l.id)));
  });

  it('pages Leads with page and per_page, and answers 204 past the last page', async () => {
    const first = await crm(emulator, '/crm/v8/Leads?fields=Last_Name&per_page=4', ana);
    assert.equal(first.body.data.length, 4);
    assert.equal(first.body.info.more_records, true);
    const second = await crm(emulator, '/crm/v8/Leads?fields=Last_Name&per_page=4&page=2', ana);
    assert.equal(second.body.data.length, 2);
    assert.deepEqual([second.body.info.count, second.body.info.page, second.body.info.more_records], [2, 2, false]);
    const all = (await crm(emulator, '/crm/v8/Leads?fields=Last_Name', ana)).body.data;
    assert.deepEqual([...first.body.data, ...second.body.data], all);
    assert.deepEqual(await crm(emulator, '/crm/v8/Leads?fields=Last_Name&per_page=4&page=3', ana), {
      status: 204,
      type: null,
      body: null,
    });
    for (const bad of ['per_page=0', 'per_page=201', 'page=x']) {
      const answer = await crm(emulator, `/crm/v8/Leads?fields=Last_Name&${bad}`, ana);
      assert.equal(answer.status, 400, bad);
      assert.equal(answer.body.code, 'INVALID_DATA', bad);
    }
  });

  it('POST /crm/v8/Leads inserts records the whole org then sees', async () => {
    const post = (body: string) => crm(emulator, '/crm/v8/Leads', ana, { method: 'POST', body });
    const answer = await post(
      JSON.stringify({ data: [{ Last_Name: 'Doe', First_Name: 'Jane', Email: 'jane@doe.example', Bogus: 1 }] }),
    );
    assert.equal(answer.status, 201);
    assert.equal(answer.type, JSON_TYPE);
    const [result] = answer.body.data;
    assert.deepEqual([result.code, result.message, result.status], ['SUCCESS', 'record added', 'success']);
    assert.deepEqual(Object.keys(result.details), ['Modified_Time', 'Modified_By', 'Created_Time', 'id', 'Created_By']);
    assert.match(result.details.id, /^\d{19}$/);
    assert.match(result.details.Created_Time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    const me = (await crm(emulator, '/crm/v8/users?type=CurrentUser', ana)).body.users[0];
    assert.deepEqual(result.details.Created_By, { name: 'Ana López', id: me.id });

    const seenByBen = (await crm(emulator, '/crm/v8/Leads?fields=Last_Name,Email,Bogus', ben)).body.data[0];
    assert.deepEqual(seenByBen, { id: result.details.id, Last_Name: 'Doe', Email: 'jane@doe.example' });
    const seenByKenji = (await crm(emulator, '/crm/v8/Leads?fields=Last_Name', kenji)).body.data;
    assert.ok(!seenByKenji.some((l: { id: string }) => l.id === result.details.id));

    const mixed = await post(JSON.stringify({ data: [{ Last_Name: 'Roe' }, { First_Name: 'NoLast' }] }));
    assert.equal(mixed.status, 207);
    assert.equal(mixed.body.data[0].code, 'SUCCESS');
    assert.deepEqual(mixed.body.data[1], {
      code: 'MANDATORY_NOT_FOUND',
      details: { api_name: 'Last_Name', json_path: '$.data[1].Last_Name' },
      message: 'required field not found',
      status: 'error',
    });
    const badEmail = await post(JSON.stringify({ data: [{ Last_Name: 'X', Email: 'not-an-email' }] }));
    assert.equal(badEmail.status, 400);
    assert.equal(badEmail.body.data[0].code, 'INVALID_DATA');
    assert.equal(badEmail.body.data[0].details.api_name, 'Email');
    assert.equal((await post('{not json')).body.code, 'INVALID_DATA');
    assert.deepEqual((await post('{}')).body.details, { param: 'data' });
  });

  it('answers unknown modules, paths and methods as Zoho does', async () => {
    const module = await crm(emulator, '/crm/v8/Deals?fields=Deal_Name', ana);
    assert.deepEqual([module.status, module.body.code], [400, 'INVALID_MODULE']);
    const path = await crm(emulator, '/crm/v9/Leads?fields=Email', ana);
    assert.deepEqual([path.status, path.body.code], [404, 'INVALID_URL_PATTERN']);
    const method = await crm(emulator, '/crm/v8/Leads', ana, { method: 'DELETE' });
    assert.deepEqual([method.status, method.body.code], [405, 'INVALID_REQUEST_METHOD']);
  });

  it('counts requests per endpoint', async () => {
    emulator.resetCounters();
    await crm(emulator, '/crm/v8/users?type=CurrentUser', ana);
    await crm(emulator, '/crm/v8/org', ana);
    await crm(emulator, '/crm/v8/settings/modules', ana);
    await crm(emulator, '/crm/v8/settings/fields?module=Leads', ana);
    await crm(emulator, '/crm/v8/Leads?fields=Email', ana);
    await crm(emulator, '/crm/v8/Leads', ana, { method: 'POST', body: '{"data":[{"Last_Name":"C"}]}' });
    await crm(emulator, '/crm/v8/Deals', ana);
    await fetch(`${emulator.url}/oauth/v2/auth`);
    assert.deepEqual(emulator.counters(), {
      'crm.users': 1,
      'crm.org': 1,
      'crm.settings.modules': 1,
      'crm.settings.fields': 1,
      'crm.leads': 2,
      'crm.other': 1,
      auth: 1,
    });
    emulator.resetCounters();
    assert.deepEqual(emulator.counters(), {});
  });
});

describe('CRM API versions', () => {
  const VERSIONS = ['v2', 'v2.1', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8'];
  const LEGACY = new Set(['v2', 'v2.1']);
  const LEGACY_INFO = ['per_page', 'count', 'page', 'more_records'];
  const CURRENT_INFO = [
    'per_page',
    'count',
    'page',
    'sort_by',
    'sort_order',
    'more_records',
    'next_page_token',
    'previous_page_token',
    'page_token_expiry',
  ];
  let ana: string;
  beforeEach(async () => {
    ana = (await signIn(emulator)).accessToken;
  });

  it('serves exactly v2, v2.1 and v3 to v8', () => {
    assert.deepEqual(Object.keys(CRM_VERSIONS), VERSIONS);
  });

  for (const version of VERSIONS) {
    it(`/crm/${version}: users, org, modules, fields and Leads in that version’s shape`, async () => {
      const get = (path: string) => crm(emulator, `/crm/${version}${path}`, ana);
      const user = await get('/users?type=CurrentUser');
      assert.equal(user.status, 200);
      assert.equal(user.body.users[0].email, ANA);
      assert.deepEqual(user.body.info, { per_page: 200, count: 1, page: 1, more_records: false });
      const org = await get('/org');
      assert.equal(org.body.org[0].primary_email, ANA);
      assert.match(org.body.org[0].zgid, /^\d+$/);
      assert.equal((await get('/settings/modules')).body.modules[0].api_name, 'Leads');
      assert.ok(
        (await get('/settings/fields?module=Leads')).body.fields.some(
          (f: { api_name: string }) => f.api_name === 'Email',
        ),
      );

      const leads = await get('/leads?fields=Last_Name,Email&per_page=4');
      assert.equal(leads.status, 200);
      assert.deepEqual(Object.keys(leads.body.data[0]), ['id', 'Last_Name', 'Email']);
      assert.deepEqual(Object.keys(leads.body.info), LEGACY.has(version) ? LEGACY_INFO : CURRENT_INFO);
      assert.deepEqual([leads.body.info.count, leads.body.info.more_records], [4, true]);

      const all = await get('/Leads');
      if (LEGACY.has(version)) {
        // v2 and v2.1 answer every field when `fields` is left out.
        assert.equal(all.status, 200);
        assert.deepEqual(Object.keys(all.body.data[0]).slice(0, 4), ['id', 'Owner', 'First_Name', 'Last_Name']);
        assert.ok(Object.keys(all.body.data[0]).includes('Modified_Time'));
      } else {
        assert.deepEqual(
          [all.status, all.body.code, all.body.details],
          [400, 'REQUIRED_PARAM_MISSING', { param: 'fields' }],
        );
      }
      const insert = await crm(emulator, `/crm/${version}/Leads`, ana, {
        method: 'POST',
        body: JSON.stringify({ data: [{ Last_Name: `Version ${version}` }] }),
      });
      assert.deepEqual([insert.status, insert.body.data[0].code], [201, 'SUCCESS']);
      assert.equal((await crm(emulator, `/crm/${version}/org`)).body.code, 'AUTHENTICATION_FAILURE');
      assert.equal((await get('/Deals?fields=Deal_Name')).body.code, 'INVALID_MODULE');
    });
  }

  it('answers any other version, and paths outside a version, with 404 INVALID_URL_PATTERN', async () => {
    for (const path of [
      '/crm/v1/org',
      '/crm/v9/org',
      '/crm/v2.2/org',
      '/crm/v8.0/org',
      '/crm/V8/org',
      '/crm/org',
      '/crm/v8',
    ]) {
      const answer = await crm(emulator, path, ana);
      assert.deepEqual([answer.status, answer.body.code], [404, 'INVALID_URL_PATTERN'], path);
    }
  });

  it('counts requests per endpoint over every version', async () => {
    emulator.resetCounters();
    for (const version of VERSIONS) await crm(emulator, `/crm/${version}/org`, ana);
    await crm(emulator, '/crm/v2/Leads', ana);
    await crm(emulator, '/crm/v9/org', ana);
    assert.deepEqual(emulator.counters(), { 'crm.org': VERSIONS.length, 'crm.leads': 1, 'crm.other': 1 });
  });
});

describe('self client', () => {
  it('exchanges a self-client code without redirect_uri, as query, urlencoded or multipart', async () => {
    for (const via of ['query', 'urlencoded', 'multipart'] as const) {
      const code = emulator.issueGrantCode({ userEmail: BEN, selfClient: true });
      const answer = await tokenRequest(emulator, { grant_type: 'authorization_code', code, ...credentials }, via);
      assert.match(answer.body.refresh_token ?? '', TOKEN, JSON.stringify(answer.body));
      assert.equal(await currentUser(emulator, answer.body.access_token), BEN);
    }
    // One sent anyway is ignored: the code is tied to none.
    const code = emulator.issueGrantCode({ selfClient: true });
    assert.match(
      (await exchange(emulator, code, { redirect_uri: 'https://elsewhere.example/cb' })).body.access_token,
      TOKEN,
    );
  });

  it('refuses a web code exchanged without its redirect_uri, and takes it with it afterwards', async () => {
    const code = emulator.issueGrantCode({ userEmail: ANA });
    const without = await tokenRequest(emulator, { grant_type: 'authorization_code', code, ...credentials });
    assert.deepEqual([without.status, without.body], [200, { error: 'invalid_redirect_uri' }]);
    assert.match((await exchange(emulator, code)).body.access_token, TOKEN);
  });

  it('issues self-client codes over the test API, never with a redirectUri', async () => {
    const headers = { ...TEST_API_HEADERS, host: new URL(emulator.url).host };
    const issue = (body: object) =>
      fetch(`${emulator.url}/__emulator/grant-codes`, { method: 'POST', headers, body: JSON.stringify(body) });
    const answer = await issue({ userEmail: KENJI, selfClient: true });
    assert.equal(answer.status, 201);
    const { code } = (await answer.json()) as { code: string };
    const tokens = await tokenRequest(emulator, { grant_type: 'authorization_code', code, ...credentials });
    assert.equal(await currentUser(emulator, tokens.body.access_token), KENJI);
    assert.equal((await issue({ selfClient: true, redirectUri: REDIRECT })).status, 400);
    assert.equal((await issue({ selfClient: 'yes' })).status, 400);
    assert.throws(() => emulator.issueGrantCode({ selfClient: true, redirectUri: REDIRECT }), /no redirectUri/);
  });
});

describe('client credentials grant', () => {
  let zylker: string;
  let academy: string;
  before(async () => {
    zylker = (await crm(emulator, '/crm/v8/org', (await signIn(emulator)).accessToken)).body.org[0].id;
    const kenji = (await signIn(emulator, { userEmail: KENJI })).accessToken;
    academy = (await crm(emulator, '/crm/v8/org', kenji)).body.org[0].id;
  });
  const grant = (extra: Record<string, string> = {}, via: Via = 'urlencoded') =>
    tokenRequest(
      emulator,
      {
        grant_type: 'client_credentials',
        ...credentials,
        scope: 'ZohoCRM.org.READ,ZohoCRM.users.READ',
        soid: `ZohoCRM.${zylker}`,
        ...extra,
      },
      via,
    );

  for (const via of ['query', 'urlencoded', 'multipart'] as const) {
    it(`answers an access token for the org’s admin and no refresh token, sent as ${via}`, async () => {
      const answer = await grant({}, via);
      assert.equal(answer.status, 200);
      assert.deepEqual(Object.keys(answer.body), ['access_token', 'scope', 'api_domain', 'token_type', 'expires_in']);
      assert.match(answer.body.access_token, TOKEN);
      assert.equal(answer.body.scope, 'ZohoCRM.org.READ ZohoCRM.users.READ');
      assert.deepEqual(
        [answer.body.api_domain, answer.body.token_type, answer.body.expires_in],
        [emulator.url, 'Bearer', 3600],
      );
      assert.equal(await currentUser(emulator, answer.body.access_token), ANA);
      assert.equal(
        (await crm(emulator, '/crm/v8/Leads?fields=Email', answer.body.access_token)).body.code,
        'OAUTH_SCOPE_MISMATCH',
      );
      assert.deepEqual(emulator.counters(), { 'token.client_credentials': 1, 'crm.users': 1, 'crm.leads': 1 });
    });
  }

  it('names the org by soid: another org’s admin, and missing_org_info without a known org', async () => {
    const other = await grant({ soid: `ZohoCRM.${academy}` });
    assert.equal(await currentUser(emulator, other.body.access_token), KENJI);
    for (const soid of ['', zylker, `ZohoRecruit.${zylker}`, 'ZohoCRM.1', `ZohoCRM.${zylker}x`]) {
      assert.deepEqual(
        await grant({ soid }),
        { status: 200, type: JSON_TYPE, body: { error: 'missing_org_info' } },
        soid,
      );
    }
    assert.deepEqual((await grant({ scope: '' })).body, { error: 'invalid_scope' });
    assert.deepEqual((await grant({ client_secret: 'wrong' })).body, { error: 'invalid_client_secret' });
    assert.deepEqual((await grant({ client_id: '1000.NOBODY' })).body, { error: 'invalid_client' });
  });

  it('is also taken at POST /oauth/v2/auth, where Zoho’s CRM docs send it', async () => {
    const params = {
      grant_type: 'client_credentials',
      ...credentials,
      scope: 'ZohoCRM.users.READ',
      soid: `ZohoCRM.${zylker}`,
    };
    const answer = await answerOf(
      await fetch(`${emulator.url}/oauth/v2/auth?${new URLSearchParams(params)}`, { method: 'POST' }),
    );
    assert.equal(await currentUser(emulator, answer.body.access_token), ANA);
    assert.equal(emulator.counters()['token.client_credentials'], 1);
  });

  it('says Access Denied after 10 grants within 10 minutes per client and org, and grants again 10 minutes later', async () => {
    for (let i = 0; i < 10; i++) assert.match((await grant()).body.access_token, TOKEN);
    assert.deepEqual((await grant()).body, ACCESS_DENIED);
    assert.match(
      (await grant({ soid: `ZohoCRM.${academy}` })).body.access_token,
      TOKEN,
      'another org has its own window',
    );
    emulator.clock.advance(10 * MINUTE);
    assert.match((await grant()).body.access_token, TOKEN);
  });

  it('expires its access token after an hour of the emulator clock; the legacy shape applies too', async () => {
    const { access_token: token } = (await grant()).body;
    emulator.clock.advance(HOUR);
    assert.deepEqual((await crm(emulator, '/crm/v8/org', token)).body, INVALID_TOKEN);
    await withEmulator({ legacyExpiresShape: true }, async (em) => {
      const orgId = (await crm(em, '/crm/v8/org', (await signIn(em)).accessToken)).body.org[0].id;
      const answer = await tokenRequest(em, {
        grant_type: 'client_credentials',
        ...credentials,
        scope: 'ZohoCRM.org.READ',
        soid: `ZohoCRM.${orgId}`,
      });
      assert.deepEqual(
        [answer.body.expires_in, answer.body.expires_in_sec, answer.body.refresh_token],
        [3_600_000, 3600, undefined],
      );
    });
  });
});

describe('faults', () => {
  it('status: answers that status once (503 by default), then normally, only on its path', async () => {
    const { accessToken, refreshToken } = await signIn(emulator);
    emulator.injectFault({ path: '/oauth/v2/token', kind: 'status' });
    assert.equal((await crm(emulator, '/crm/v8/org', accessToken)).status, 200, 'another path is not affected');
    const failed = await refresh(emulator, refreshToken);
    assert.equal(failed.status, 503);
    assert.equal(failed.type, JSON_TYPE);
    await refreshed(emulator, refreshToken);
    emulator.injectFault({ kind: 'status', status: 500, times: 2 });
    assert.equal((await crm(emulator, '/crm/v8/org', accessToken)).status, 500);
    assert.equal((await refresh(emulator, refreshToken)).status, 500);
    assert.equal((await crm(emulator, '/crm/v8/org', accessToken)).status, 200);
    assert.equal(emulator.counters()['token.refresh_token'], 3, 'faulted requests are counted');
  });

  it('latency: delays, then answers normally', async () => {
    const { accessToken } = await signIn(emulator);
    emulator.injectFault({ path: '/crm', kind: 'latency', latencyMs: 200 });
    const started = performance.now();
    assert.equal(await currentUser(emulator, accessToken), ANA);
    assert.ok(performance.now() - started >= 190, 'the answer came early');
  });

  it('drop: closes the connection without an answer', async () => {
    const { accessToken } = await signIn(emulator);
    emulator.injectFault({ path: '/crm/v8/users', kind: 'drop' });
    await assert.rejects(fetch(`${emulator.url}/crm/v8/users?type=CurrentUser`), TypeError);
    assert.equal(await currentUser(emulator, accessToken), ANA);
  });

  it('access-denied: answers Zoho’s throttled body, until cleared when times is Infinity', async () => {
    const { refreshToken } = await signIn(emulator);
    emulator.injectFault({ path: '/oauth/v2/token', kind: 'access-denied', times: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await refresh(emulator, refreshToken), { status: 200, type: JSON_TYPE, body: ACCESS_DENIED });
    }
    emulator.clearFaults();
    await refreshed(emulator, refreshToken);
  });

  it('refuses malformed faults', () => {
    assert.throws(() => emulator.injectFault({ kind: 'status', status: 200 }), RangeError);
    assert.throws(() => emulator.injectFault({ kind: 'nope' as 'drop' }), RangeError);
    assert.throws(() => emulator.injectFault({ kind: 'drop', times: 0 }), RangeError);
    assert.throws(() => emulator.injectFault({ kind: 'latency', latencyMs: -1 }), RangeError);
    assert.throws(() => emulator.injectFault({ kind: 'drop', path: 'crm' }), RangeError);
  });
});

describe('consent page', () => {
  const authUrl = (em: ZohoEmulator, params: Record<string, string> = {}) =>
    `${em.url}/oauth/v2/auth?${new URLSearchParams({
      client_id: EMULATOR_CLIENT.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'ZohoCRM.modules.ALL,ZohoCRM.users.READ',
      access_type: 'offline',
      prompt: 'consent',
      state: 'st<script>"&',
      ...params,
    })}`;

  /** The consent form's hidden fields, as a browser would post them back. */
  function formOf(html: string): URLSearchParams {
    const form = new URLSearchParams();
    for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      const text = (value as string)
        .replaceAll('&lt;', '<')
        .replaceAll('&gt;', '>')
        .replaceAll('&quot;', '"')
        .replaceAll('&#39;', "'")
        .replaceAll('&amp;', '&');
      form.set(name as string, text);
    }
    return form;
  }

  const decide = (form: URLSearchParams) =>
    fetch(`${emulator.url}/oauth/v2/auth`, { method: 'POST', body: form, redirect: 'manual' });

  it('shows an escaped page, and Approve redirects with state, code, location and accounts-server', async () => {
    const page = await fetch(authUrl(emulator, { login_hint: BEN }));
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('content-type'), 'text/html;charset=UTF-8');
    const html = await page.text();
    assert.ok(html.includes('st&lt;script&gt;&quot;&amp;'));
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes(EMULATOR_CLIENT.clientId));
    assert.match(html, new RegExp(`<option value="${BEN}" selected>`));
    assert.match(html, /value="approve">Approve/);
    assert.match(html, /value="deny">Deny/);

    const form = formOf(html);
    assert.equal(form.get('state'), 'st<script>"&');
    form.set('user_email', BEN);
    form.set('decision', 'approve');
    const answer = await decide(form);
    assert.equal(answer.status, 302);
    const location = answer.headers.get('location') ?? '';
    assert.ok(location.startsWith(`${REDIRECT}?state=`), location);
    assert.ok(location.includes(`accounts-server=${encodeURIComponent(emulator.url)}`), location);
    const query = new URL(location).searchParams;
    assert.deepEqual([...query.keys()], ['state', 'code', 'location', 'accounts-server']);
    assert.equal(query.get('state'), 'st<script>"&');
    assert.match(query.get('code') ?? '', TOKEN);
    assert.equal(query.get('location'), 'us');
    assert.equal(query.get('accounts-server'), emulator.url);

    const tokens = await exchange(emulator, query.get('code') ?? '');
    assert.match(tokens.body.refresh_token, TOKEN);
    assert.equal(await currentUser(emulator, tokens.body.access_token), BEN);
    assert.deepEqual(emulator.counters(), {
      auth: 1,
      'auth.decision': 1,
      'token.authorization_code': 1,
      'crm.users': 1,
    });
  });

  it('Deny redirects with error=access_denied and the state, and no code', async () => {
    const form = formOf(await (await fetch(authUrl(emulator, { state: 'xyz' }))).text());
    form.set('decision', 'deny');
    const answer = await decide(form);
    assert.equal(answer.status, 302);
    assert.equal(answer.headers.get('location'), `${REDIRECT}?error=access_denied&state=xyz`);
  });

  it('gives an online code without a refresh token', async () => {
    const form = formOf(await (await fetch(authUrl(emulator, { access_type: 'online' }))).text());
    form.set('user_email', ANA);
    form.set('decision', 'approve');
    const code = new URL((await decide(form)).headers.get('location') ?? '').searchParams.get('code') ?? '';
    const tokens = await exchange(emulator, code);
    assert.equal(tokens.body.refresh_token, undefined);
    assert.match(tokens.body.access_token, TOKEN);
  });

  it('shows an error page, never a redirect, for an unknown client or unregistered redirect URI', async () => {
    for (const params of [
      { client_id: '1000.UNKNOWN' },
      { redirect_uri: 'https://evil.example/cb' },
      { redirect_uri: 'not a url' },
      { response_type: 'token' },
      { scope: '' },
    ] as Record<string, string>[]) {
      const answer = await fetch(authUrl(emulator, params), { redirect: 'manual' });
      assert.equal(answer.status, 400, JSON.stringify(params));
      assert.equal(answer.headers.get('location'), null);
      assert.equal(answer.headers.get('content-type'), 'text/html;charset=UTF-8');
    }
    const forged = new URLSearchParams({
      client_id: EMULATOR_CLIENT.clientId,
      response_type: 'code',
      redirect_uri: 'https://evil.example/cb',
      scope: 'ZohoCRM.users.READ',
      user_email: ANA,
      decision: 'approve',
    });
    const answer = await decide(forged);
    assert.equal(answer.status, 400);
    assert.equal(answer.headers.get('location'), null);
  });

  it('lets EMULATOR_CLIENT return to any loopback redirect URI', async () => {
    const redirectUri = 'http://127.0.0.1:5555/cb';
    const form = formOf(await (await fetch(authUrl(emulator, { redirect_uri: redirectUri }))).text());
    form.set('user_email', ANA);
    form.set('decision', 'approve');
    const location = (await decide(form)).headers.get('location') ?? '';
    assert.ok(location.startsWith(`${redirectUri}?state=`), location);
    const code = new URL(location).searchParams.get('code') ?? '';
    assert.match((await exchange(emulator, code, { redirect_uri: redirectUri })).body.access_token, TOKEN);
  });

  it('with autoApprove, redirects at once for the login_hint user, at most 10 codes per 10 minutes', async () => {
    await withEmulator({ autoApprove: true }, async (em) => {
      const codes = [];
      for (let i = 0; i < 10; i++) {
        const answer = await fetch(authUrl(em, { login_hint: KENJI, state: `s${i}` }), { redirect: 'manual' });
        assert.equal(answer.status, 302);
        codes.push(new URL(answer.headers.get('location') ?? '').searchParams.get('code') ?? '');
      }
      const tokens = await exchange(em, codes[9] as string);
      assert.equal(await currentUser(em, tokens.body.access_token), KENJI);
      const denied = await fetch(authUrl(em, { state: 'late' }), { redirect: 'manual' });
      assert.equal(denied.headers.get('location'), `${REDIRECT}?error=access_denied&state=late`);
      em.clock.advance(10 * MINUTE);
      const again = await fetch(authUrl(em), { redirect: 'manual' });
      assert.match(new URL(again.headers.get('location') ?? '').searchParams.get('code') ?? '', TOKEN);
    });
  });
});

describe('options', () => {
  it('accessDeniedStatus and invalidRedirectUriStatus 400', async () => {
    await withEmulator({ accessDeniedStatus: 400, invalidRedirectUriStatus: 400 }, async (em) => {
      const code = em.issueGrantCode({ userEmail: ANA });
      assert.deepEqual(await exchange(em, code, { redirect_uri: 'http://localhost:1/x' }), {
        status: 400,
        type: JSON_TYPE,
        body: { error: 'invalid_redirect_uri' },
      });
      const { refreshToken } = await signIn(em);
      for (let i = 0; i < 10; i++) await refreshed(em, refreshToken);
      assert.deepEqual(await refresh(em, refreshToken), { status: 400, type: JSON_TYPE, body: ACCESS_DENIED });
      em.clock.advance(10 * MINUTE);
      em.injectFault({ kind: 'access-denied' });
      assert.deepEqual(await refresh(em, refreshToken), { status: 400, type: JSON_TYPE, body: ACCESS_DENIED });
    });
  });

  it('legacyExpiresShape sends expires_in in milliseconds and expires_in_sec', async () => {
    await withEmulator({ legacyExpiresShape: true }, async (em) => {
      const answer = await exchange(em, em.issueGrantCode({}));
      assert.equal(answer.body.expires_in, 3_600_000);
      assert.equal(answer.body.expires_in_sec, 3600);
      const again = await refresh(em, answer.body.refresh_token);
      assert.deepEqual([again.body.expires_in, again.body.expires_in_sec], [3_600_000, 3600]);
    });
  });

  it('maxActiveAccessTokens 10: the 11th invalidates the oldest', async () => {
    await withEmulator({ maxActiveAccessTokens: 10 }, async (em) => {
      const { accessToken: first, refreshToken } = await signIn(em);
      const second = await refreshed(em, refreshToken);
      for (let i = 0; i < 8; i++) await refreshed(em, refreshToken);
      assert.equal(await currentUser(em, first), ANA);
      await refreshed(em, refreshToken);
      assert.equal((await crm(em, '/crm/v8/org', first)).status, 401);
      assert.equal(await currentUser(em, second), ANA);
    });
  });

  it('grantCodeTtlMs 2 minutes', async () => {
    await withEmulator({ grantCodeTtlMs: 2 * MINUTE }, async (em) => {
      const code = em.issueGrantCode({});
      em.clock.advance(2 * MINUTE);
      assert.deepEqual((await exchange(em, code)).body, { error: 'invalid_code' });
    });
    await assert.rejects(startZohoEmulator({ grantCodeTtlMs: 0 }), RangeError);
  });

  it('clients and users: codes and refresh tokens belong to their client; redirect URIs are exact', async () => {
    const a = { clientId: '1000.A', clientSecret: 'sa', redirectUris: ['https://a.example/cb'] };
    const b = { clientId: '1000.B', clientSecret: 'sb', redirectUris: ['https://b.example/cb'] };
    const users = [{ email: 'zoe@acme.example', firstName: 'Zoe', lastName: 'Ng' }];
    await withEmulator({ clients: [a, b], users }, async (em) => {
      const asA = { client_id: a.clientId, client_secret: a.clientSecret, redirect_uri: a.redirectUris[0] as string };
      const asB = { client_id: b.clientId, client_secret: b.clientSecret, redirect_uri: b.redirectUris[0] as string };
      const codeOfB = em.issueGrantCode({ clientId: b.clientId });
      assert.deepEqual((await exchange(em, codeOfB, asA)).body, { error: 'invalid_code' });
      const tokens = (await exchange(em, codeOfB, asB)).body;
      assert.equal(await currentUser(em, tokens.access_token), 'zoe@acme.example');
      assert.deepEqual((await refresh(em, tokens.refresh_token, asA)).body, { error: 'invalid_code' });
      assert.match((await refresh(em, tokens.refresh_token, asB)).body.access_token, TOKEN);
      assert.deepEqual((await exchange(em, em.issueGrantCode({}), asA)).body.api_domain, em.url);
      assert.throws(() => em.issueGrantCode({ redirectUri: 'http://localhost:3000/oauth/callback' }), /redirectUri/);
      const loopback = new URLSearchParams({
        client_id: a.clientId,
        response_type: 'code',
        scope: 'ZohoCRM.users.READ',
        redirect_uri: 'http://127.0.0.1:9/cb',
      });
      const page = await fetch(`${em.url}/oauth/v2/auth?${loopback}`);
      assert.equal(page.status, 400);
      assert.equal((await crm(em, '/crm/v8/org', tokens.access_token)).body.org[0].company_name, 'Acme');
    });
  });

  it('listens on the given port', async () => {
    const probe = await startZohoEmulator();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    await withEmulator({ port }, async (em) => {
      assert.equal(em.url, `http://127.0.0.1:${port}`);
    });
  });
});

describe('HTTP test API', () => {
  const api = async (method: string, path: string, body?: unknown) =>
    answerOf(
      await fetch(`${emulator.url}/__emulator/${path}`, {
        method,
        headers: TEST_API_HEADERS,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    );

  it('reads and resets counters', async () => {
    await fetch(`${emulator.url}/oauth/v2/auth`);
    assert.deepEqual((await api('GET', 'counters')).body, { auth: 1 });
    assert.deepEqual((await api('POST', 'counters/reset')).body, {});
    assert.deepEqual(emulator.counters(), {}, 'test API calls are not counted');
  });

  it('moves and sets the clock', async () => {
    const before = emulator.clock.now();
    assert.deepEqual((await api('POST', 'clock/advance?ms=1500')).body, { now: before + 1500 });
    assert.equal(emulator.clock.now(), before + 1500);
    assert.deepEqual((await api('POST', `clock/set?ms=${before + 10 * HOUR}`)).body, { now: before + 10 * HOUR });
    assert.deepEqual((await api('GET', 'clock')).body, { now: before + 10 * HOUR });
    assert.equal((await api('POST', 'clock/advance?ms=-5')).status, 400);
    assert.equal((await api('POST', 'clock/advance')).status, 400);
  });

  it('injects and clears faults, which never hit the test API itself', async () => {
    const { accessToken } = await signIn(emulator);
    const added = await api('POST', 'faults', { path: '/crm', kind: 'status', status: 502, times: 'Infinity' });
    assert.equal(added.status, 201);
    for (let i = 0; i < 3; i++) assert.equal((await crm(emulator, '/crm/v8/org', accessToken)).status, 502);
    emulator.injectFault({ kind: 'drop', times: Number.POSITIVE_INFINITY });
    assert.equal((await api('DELETE', 'faults')).status, 200);
    assert.equal((await crm(emulator, '/crm/v8/org', accessToken)).status, 200);
    const bad = await api('POST', 'faults', { kind: 'explode' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /unknown fault kind/);
  });

  /** A raw request: fetch will not send another `Host`, as a browser after DNS rebinding would. */
  const raw = (method: string, path: string, headers: Record<string, string>, body = '') =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${emulator.url}/__emulator/${path}`, { method, headers }, (res) => {
        res.resume();
        resolve(res.statusCode as number);
      });
      req.once('error', reject);
      req.end(body);
    });

  it('refuses a cross-site request: text/plain or without its header, and changes nothing', async () => {
    const before = emulator.clock.now();
    // What a form or a no-cors fetch from any web page can send without a preflight.
    const plain = { 'content-type': 'text/plain' };
    assert.equal(await raw('POST', 'clock/advance?ms=86400000', plain), 403);
    const fault = JSON.stringify({ kind: 'drop', times: 'Infinity' });
    assert.equal(await raw('POST', 'faults', plain, fault), 403);
    assert.equal(await raw('POST', 'faults', { 'content-type': 'application/json' }, fault), 403, 'no custom header');
    assert.equal(await raw('POST', 'faults', { ...plain, 'x-zoho-emulator': '1' }, fault), 403, 'not JSON');
    assert.equal(await raw('GET', 'counters', {}), 403);
    assert.equal(emulator.clock.now(), before, 'the clock did not move');
    await assert.doesNotReject(fetch(`${emulator.url}/crm/v8/org`), 'no drop fault was injected');
  });

  it('refuses another Host (DNS rebinding), and takes the loopback names of its own port', async () => {
    const before = emulator.clock.now();
    const port = new URL(emulator.url).port;
    const asked = { 'content-type': 'application/json', 'x-zoho-emulator': '1' };
    for (const host of ['attacker.example', `attacker.example:${port}`, '127.0.0.1:1', 'localhost']) {
      assert.equal(await raw('POST', 'clock/advance?ms=86400000', { ...asked, host }), 421, host);
    }
    assert.equal(emulator.clock.now(), before, 'the clock did not move');
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      assert.equal(await raw('POST', 'clock/advance?ms=1', { ...asked, host }), 200, host);
    }
    assert.equal(emulator.clock.now(), before + 4);
  });

  it('issues grant codes', async () => {
    const answer = await api('POST', 'grant-codes', { userEmail: KENJI, accessType: 'online' });
    assert.equal(answer.status, 201);
    const tokens = (await exchange(emulator, answer.body.code)).body;
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(await currentUser(emulator, tokens.access_token), KENJI);
    assert.match((await api('POST', 'grant-codes')).body.code, TOKEN);
    const bad = await api('POST', 'grant-codes', { userEmail: 'nobody@nowhere.example' });
    assert.equal(bad.status, 400);
    assert.equal((await api('GET', 'nothing')).status, 404);
  });
});

describe('state file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-state-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const freshFile = () => join(dir, `state-${++n}.json`);
  const revoke = (em: ZohoEmulator, token: string) =>
    fetch(`${em.url}/oauth/v2/token/revoke?${new URLSearchParams({ token })}`, { method: 'POST' });

  it('keeps tokens, revocations, used codes, leads and rate windows across a restart', async () => {
    const stateFile = freshFile();
    const first = await startZohoEmulator({ stateFile });
    assert.equal(statSync(stateFile).mode & 0o777, 0o600, 'written at start, private');
    const ana = await signIn(first);
    const revoked = await signIn(first, { userEmail: BEN });
    const kenjiCode = first.issueGrantCode({ userEmail: KENJI });
    const selfClientCode = first.issueGrantCode({ userEmail: BEN, selfClient: true });
    const usedCode = first.issueGrantCode({ userEmail: KENJI });
    await exchange(first, usedCode);
    assert.equal((await revoke(first, revoked.refreshToken)).status, 200);
    const inserted = await crm(first, '/crm/v8/Leads', ana.accessToken, {
      method: 'POST',
      body: JSON.stringify({ data: [{ Last_Name: 'Persisted' }] }),
    });
    const leadId = inserted.body.data[0].details.id;
    for (let i = 0; i < 9; i++) await refreshed(first, ana.refreshToken);
    const clockBefore = first.clock.now();
    await first.close();
    assert.equal(statSync(stateFile).mode & 0o777, 0o600, 'still private after the rewrite');

    const second = await startZohoEmulator({ stateFile });
    try {
      assert.ok(second.clock.now() >= clockBefore, 'the clock never goes back');
      assert.equal(await currentUser(second, ana.accessToken), ANA, 'the access token issued before still works');
      const leads = await crm(second, '/crm/v8/Leads?fields=Last_Name', ana.accessToken);
      assert.ok(
        leads.body.data.some((lead: { id: string }) => lead.id === leadId),
        'the inserted lead is kept',
      );
      const tenth = await refreshed(second, ana.refreshToken);
      assert.equal(await currentUser(second, tenth), ANA, 'the refresh token issued before still refreshes');
      assert.deepEqual((await refresh(second, ana.refreshToken)).body, ACCESS_DENIED, 'the 11th in 10 minutes');
      assert.deepEqual((await refresh(second, revoked.refreshToken)).body, { error: 'invalid_code' });
      assert.deepEqual((await crm(second, '/crm/v8/org', revoked.accessToken)).body, INVALID_TOKEN);
      assert.deepEqual((await exchange(second, usedCode)).body, { error: 'invalid_code' }, 'a used code stays used');
      const kenji = await exchange(second, kenjiCode);
      assert.equal(await currentUser(second, kenji.body.access_token), KENJI, 'an unused code still works');
      const self = await tokenRequest(second, {
        grant_type: 'authorization_code',
        code: selfClientCode,
        ...credentials,
      });
      assert.equal(
        await currentUser(second, self.body.access_token),
        BEN,
        'a self-client code still needs no redirect_uri',
      );
    } finally {
      await second.close();
    }
  });

  it('keeps a clock moved ahead, so tokens stay expired', async () => {
    const stateFile = freshFile();
    const first = await startZohoEmulator({ stateFile });
    const ana = await signIn(first);
    first.clock.advance(2 * HOUR);
    const moved = first.clock.now();
    await first.close();
    const second = await startZohoEmulator({ stateFile });
    try {
      assert.ok(second.clock.now() >= moved);
      assert.deepEqual((await crm(second, '/crm/v8/org', ana.accessToken)).body, INVALID_TOKEN);
      assert.equal(await currentUser(second, await refreshed(second, ana.refreshToken)), ANA);
    } finally {
      await second.close();
    }
  });

  it('writes changes soon after they happen, without waiting for close()', async () => {
    const stateFile = freshFile();
    const em = await startZohoEmulator({ stateFile });
    try {
      const { refreshToken } = await signIn(em);
      const deadline = Date.now() + 2_000;
      while (!readFileSync(stateFile, 'utf8').includes(refreshToken) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // As after a crash: an emulator starts from what is on disk now.
      writeFileSync(`${stateFile}.copy`, readFileSync(stateFile));
      const afterCrash = await startZohoEmulator({ stateFile: `${stateFile}.copy` });
      try {
        assert.match((await refresh(afterCrash, refreshToken)).body.access_token ?? '', TOKEN);
      } finally {
        await afterCrash.close();
      }
    } finally {
      await em.close();
    }
  });

  it('refuses a corrupt state file with a typed error naming it, and leaves the file alone', async () => {
    const stateFile = freshFile();
    const em = await startZohoEmulator({ stateFile });
    const { refreshToken } = await signIn(em);
    await em.close();
    const whole = readFileSync(stateFile, 'utf8');
    const parsed = JSON.parse(whole);
    const cases = [
      whole.slice(0, whole.indexOf(refreshToken) + 20),
      JSON.stringify({ version: 1 }),
      whole.replace('"version":1', '"version":9'),
      JSON.stringify({ ...parsed, accounts: { ...parsed.accounts, refreshTokens: [[refreshToken, { scopes: 7 }]] } }),
    ];
    for (const content of cases) {
      writeFileSync(stateFile, content);
      await assert.rejects(startZohoEmulator({ stateFile }), (error: unknown) => {
        assert.ok(error instanceof EmulatorStateError);
        assert.equal(error.code, EmulatorStateErrorCode.CORRUPT_STATE);
        assert.equal(error.file, stateFile);
        assert.ok(error.message.includes(stateFile), error.message);
        assert.ok(!error.message.includes(refreshToken.slice(5, 20)), 'no token in the message');
        assert.ok(!String(error.cause ?? '').includes(refreshToken.slice(5, 20)), 'nor in the cause');
        return true;
      });
      assert.equal(readFileSync(stateFile, 'utf8'), content, 'not reset');
    }
  });

  it('refuses a state file another user planted or may write, and leaves it alone', async (t) => {
    if (process.geteuid === undefined) return t.skip('no Unix owners');
    const stateFile = freshFile();
    const em = await startZohoEmulator({ stateFile });
    await signIn(em);
    await em.close();
    const whole = readFileSync(stateFile, 'utf8');
    // An emulator that starts anyway is closed, so the test fails rather than hangs.
    const start = () => startZohoEmulator({ stateFile }).then((started) => started.close());
    // `nobody` stands for another local user (the tests run as root in CI).
    chownSync(stateFile, 65_534, 65_534);
    await assert.rejects(start(), (error: unknown) => {
      assert.ok(error instanceof EmulatorStateError);
      assert.equal(error.code, EmulatorStateErrorCode.UNTRUSTED_FILE);
      assert.match(error.message, /owned by uid 65534.*chown/);
      return true;
    });
    chownSync(stateFile, process.geteuid(), process.getegid?.() ?? 0);
    chmodSync(stateFile, 0o646);
    await assert.rejects(start(), { code: EmulatorStateErrorCode.UNTRUSTED_FILE });
    assert.equal(readFileSync(stateFile, 'utf8'), whole, 'not reset');
    assert.equal(statSync(stateFile).mode & 0o777, 0o646, 'nor changed');
  });

  it('fails to start when the state file cannot be written', async () => {
    const stateFile = join(dir, 'no-such-dir', 'state.json');
    await assert.rejects(startZohoEmulator({ stateFile }), {
      name: 'EmulatorStateError',
      code: EmulatorStateErrorCode.STATE_FILE_FAILURE,
      file: stateFile,
    });
    await assert.rejects(startZohoEmulator({ stateFile: '' }), RangeError);
  });
});

describe('lifecycle', () => {
  it('close() ends keep-alive connections at once', async () => {
    const em = await startZohoEmulator();
    const { accessToken } = await signIn(em);
    assert.equal(await currentUser(em, accessToken), ANA);
    const started = performance.now();
    await em.close();
    assert.ok(performance.now() - started < 1_000);
    await assert.rejects(fetch(`${em.url}/crm/v8/org`), TypeError);
    await em.close();
  });

  it('close() does not wait for a pending latency fault', async () => {
    const em = await startZohoEmulator();
    em.injectFault({ kind: 'latency', latencyMs: 60_000 });
    const pending = fetch(`${em.url}/oauth/v2/auth`).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await em.close();
    assert.ok(performance.now() - started < 1_000);
    assert.ok((await pending) instanceof TypeError);
  });

  it('never writes to the console: no token or secret can leak there', async (t) => {
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((name) => t.mock.method(console, name));
    const { accessToken, refreshToken } = await signIn(emulator);
    await refreshed(emulator, refreshToken);
    await refresh(emulator, refreshToken, { client_secret: 'wrong' });
    await crm(emulator, '/crm/v8/Leads?fields=Email', accessToken);
    await crm(emulator, '/crm/v8/org', 'bad');
    await fetch(`${emulator.url}/oauth/v2/token/revoke?token=${refreshToken}`, { method: 'POST' });
    assert.deepEqual(
      spies.map((spy) => spy.mock.callCount()),
      [0, 0, 0, 0, 0],
    );
  });

  it('the CLI prints its URL and client id, never the secret, keeps --state, and stops on SIGTERM', async (t) => {
    const cli = fileURLToPath(new URL('../src/emulator/cli.ts', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'emulator-cli-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'state.json');
    const args = ['--conditions=source', '--import', 'tsx', cli, '--port', '0', '--state', stateFile];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        const match = /(http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match && output.includes(EMULATOR_CLIENT.clientId)) resolve(match[1] as string);
      });
      child.once('exit', () => reject(new Error(`the CLI exited early: ${output}`)));
    });
    assert.ok(!output.includes(EMULATOR_CLIENT.clientSecret));
    const answer = await fetch(`${url}/__emulator/counters`, { headers: TEST_API_HEADERS });
    assert.deepEqual(await answer.json(), {});
    const { code } = (await (
      await fetch(`${url}/__emulator/grant-codes`, { method: 'POST', headers: TEST_API_HEADERS })
    ).json()) as {
      code: string;
    };
    const params = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...credentials };
    const tokens = (
      await answerOf(await fetch(`${url}/oauth/v2/token`, { method: 'POST', body: new URLSearchParams(params) }))
    ).body;
    assert.match(tokens.refresh_token, TOKEN);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null]);
    assert.ok(readFileSync(stateFile, 'utf8').includes(tokens.refresh_token), 'the state is saved on exit');
    assert.ok(!output.includes(tokens.refresh_token));
  });
});
