import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  customEnvironment,
  DATA_CENTERS,
  type DataCenterCode,
  dataCenterOf,
  environmentFor,
  environmentFromRedirect,
  isApiUrlOf,
  isOAuthError,
  OAuthErrorCode,
} from 'zoho-token-store';

// From ZOHO-FACTS.md (the official SDK's list) and Zoho's multi-DC page for UK.
const EXPECTED: Record<DataCenterCode, [location: string, accounts: string, api: string]> = {
  US: ['us', 'https://accounts.zoho.com', 'zohoapis.com'],
  EU: ['eu', 'https://accounts.zoho.eu', 'zohoapis.eu'],
  IN: ['in', 'https://accounts.zoho.in', 'zohoapis.in'],
  CN: ['cn', 'https://accounts.zoho.com.cn', 'zohoapis.com.cn'],
  AU: ['au', 'https://accounts.zoho.com.au', 'zohoapis.com.au'],
  JP: ['jp', 'https://accounts.zoho.jp', 'zohoapis.jp'],
  CA: ['ca', 'https://accounts.zohocloud.ca', 'zohoapis.ca'],
  SA: ['sa', 'https://accounts.zoho.sa', 'zohoapis.sa'],
  UK: ['uk', 'https://accounts.zoho.uk', 'zohoapis.uk'],
};
const codes = Object.keys(EXPECTED) as DataCenterCode[];

const refused = (what: () => unknown) =>
  assert.throws(what, (error) => isOAuthError(error) && error.code === OAuthErrorCode.UNKNOWN_DATA_CENTER);

describe('data centers', () => {
  it('lists every data center with its accounts server, location and API domain, frozen', () => {
    assert.deepEqual(Object.keys(DATA_CENTERS).sort(), [...codes].sort());
    for (const code of codes) {
      const [location, accountsUrl, api] = EXPECTED[code];
      assert.deepEqual({ ...DATA_CENTERS[code] }, { accountsUrl, location, apiDomain: `https://www.${api}` });
    }
    assert.ok(Object.isFrozen(DATA_CENTERS) && Object.isFrozen(DATA_CENTERS.US));
  });

  it('gives production, sandbox and developer environments of every data center', () => {
    for (const code of codes) {
      const [, accountsUrl, api] = EXPECTED[code];
      assert.deepEqual(environmentFor(code), {
        name: `${code} production`,
        dataCenter: code,
        kind: 'production',
        accountsUrl,
        apiBaseUrl: `https://www.${api}`,
      });
      for (const kind of ['sandbox', 'developer'] as const) {
        const env = environmentFor(code, kind);
        assert.equal(env.apiBaseUrl, `https://${kind}.${api}`);
        assert.equal(env.accountsUrl, accountsUrl, 'sandbox and developer sign in at the same accounts server');
        assert.equal(env.kind, kind);
      }
    }
    assert.throws(() => environmentFor('XX' as DataCenterCode), TypeError);
  });

  it('finds the data center of any accounts or API URL, and of nothing else', () => {
    for (const code of codes) {
      const [, accountsUrl, api] = EXPECTED[code];
      assert.equal(dataCenterOf(accountsUrl), code);
      assert.equal(dataCenterOf(`${accountsUrl}/oauth/v2/token`), code);
      for (const prefix of ['www', 'sandbox', 'developer'])
        assert.equal(dataCenterOf(`https://${prefix}.${api}/crm/v8`), code);
    }
    for (const url of [
      'https://accounts.zoho.com.evil.example',
      'https://evil.example/accounts.zoho.com',
      'http://accounts.zoho.com',
      'https://accounts.zoho.com:8443',
      'https://user:pass@accounts.zoho.com',
      'https://www.zohoapis.com.mx',
      'accounts.zoho.com',
      'not a url',
    ]) {
      assert.equal(dataCenterOf(url), null, url);
    }
  });
});

describe('isApiUrlOf', () => {
  it('takes the https API hosts of the environment’s data center, of every kind, and nothing else', () => {
    for (const code of codes) {
      const [, accountsUrl, api] = EXPECTED[code];
      const own = environmentFor(code, 'sandbox');
      for (const prefix of ['www', 'sandbox', 'developer']) {
        assert.equal(isApiUrlOf(`https://${prefix}.${api}/crm/v8/org`, own), true, `${prefix}.${api}`);
        assert.equal(isApiUrlOf(new URL(`https://${prefix}.${api}`)), true, 'any data center without an environment');
      }
      assert.equal(isApiUrlOf(accountsUrl, own), false, 'an accounts server is no API domain');
      const other = codes.find((candidate) => candidate !== code) as DataCenterCode;
      assert.equal(isApiUrlOf(`https://www.${api}`, environmentFor(other)), false, `${code} in ${other}`);
    }
    for (const url of [
      'http://www.zohoapis.com',
      'https://www.zohoapis.com:8443',
      'https://user:pass@www.zohoapis.com',
      'https://www.zohoapis.com.evil.example',
      'https://zohoapis.com',
      'https://evil.example/www.zohoapis.com',
      'http://127.0.0.1:4010',
      'not a url',
    ]) {
      assert.equal(isApiUrlOf(url, environmentFor('US')), false, url);
      assert.equal(isApiUrlOf(url), false, url);
    }
  });

  it('takes only the API origin of a custom environment', () => {
    const env = customEnvironment({ apiBaseUrl: 'http://127.0.0.1:4010/zoho', accountsUrl: 'http://127.0.0.1:4011' });
    assert.equal(isApiUrlOf('http://127.0.0.1:4010/crm/v8/org', env), true);
    for (const url of [
      'http://127.0.0.1:4011/crm/v8/org',
      'https://127.0.0.1:4010',
      'http://localhost:4010',
      'http://user@127.0.0.1:4010',
      'https://www.zohoapis.com',
    ]) {
      assert.equal(isApiUrlOf(url, env), false, url);
    }
  });
});

describe('environmentFromRedirect', () => {
  it('takes the data center from the location, in any case', () => {
    for (const code of codes) {
      assert.deepEqual(environmentFromRedirect({ location: EXPECTED[code][0] }), environmentFor(code));
    }
    assert.equal(environmentFromRedirect({ location: 'EU' }).dataCenter, 'EU');
  });

  it('takes the data center from accounts-server, which wins over location', () => {
    for (const code of codes) {
      assert.equal(environmentFromRedirect({ accountsServer: EXPECTED[code][1], location: null }).dataCenter, code);
    }
    assert.deepEqual(
      environmentFromRedirect({ location: 'us', accountsServer: 'https://accounts.zoho.eu/' }, 'sandbox'),
      environmentFor('EU', 'sandbox'),
    );
  });

  it('refuses an accounts server that is no Zoho data center, without echoing it', () => {
    for (const accountsServer of [
      'https://accounts.zoho.com.evil.example',
      'https://evil.example',
      'http://accounts.zoho.com',
      'https://accounts.zoho.com:8443',
      'https://user@accounts.zoho.com',
      'https://accounts.zoho.com/phish',
      'https://accounts.zoho.com/?next=x',
      'https://www.zohoapis.com',
      'nonsense',
    ]) {
      assert.throws(
        () => environmentFromRedirect({ accountsServer, location: 'us' }),
        (error) =>
          isOAuthError(error) &&
          error.code === OAuthErrorCode.UNKNOWN_DATA_CENTER &&
          error.retryable === false &&
          !error.message.includes(accountsServer),
        accountsServer,
      );
    }
  });

  it('accepts a custom accounts server only when allowed (the emulator)', () => {
    const env = environmentFromRedirect({ accountsServer: 'http://127.0.0.1:4010', location: 'us' }, 'production', {
      allowCustomAccountsServer: true,
    });
    assert.equal(env.kind, 'custom');
    assert.equal(env.dataCenter, null);
    assert.equal(env.accountsUrl, 'http://127.0.0.1:4010');
    assert.equal(env.apiBaseUrl, 'http://127.0.0.1:4010');
    // Allowed or not, a known server still maps to its data center.
    assert.equal(
      environmentFromRedirect({ accountsServer: 'https://accounts.zoho.in' }, 'production', {
        allowCustomAccountsServer: true,
      }).dataCenter,
      'IN',
    );
  });

  it('refuses an unknown location, and a redirect with neither parameter', () => {
    refused(() => environmentFromRedirect({ location: 'mx' }));
    refused(() => environmentFromRedirect({}));
    refused(() => environmentFromRedirect({ location: ' ', accountsServer: '' }));
  });
});

describe('customEnvironment', () => {
  it('keeps the URLs without a trailing slash, paths included', () => {
    assert.deepEqual(
      customEnvironment({
        accountsUrl: 'http://127.0.0.1:4010/',
        apiBaseUrl: 'https://proxy.example/zoho/',
        name: 'e',
      }),
      {
        name: 'e',
        dataCenter: null,
        kind: 'custom',
        accountsUrl: 'http://127.0.0.1:4010',
        apiBaseUrl: 'https://proxy.example/zoho',
      },
    );
    assert.equal(customEnvironment({ accountsUrl: 'http://localhost:1', apiBaseUrl: 'http://[::1]:2' }).name, 'custom');
  });

  it('refuses URLs that would leak or break: relative, not http(s), credentials, query, plain http off loopback', () => {
    const ok = 'https://proxy.example';
    for (const bad of [
      'proxy.example',
      'ftp://proxy.example',
      'https://user:pw@proxy.example',
      'https://proxy.example/?a=1',
      'https://proxy.example/#x',
      'http://proxy.example',
    ]) {
      assert.throws(() => customEnvironment({ accountsUrl: bad, apiBaseUrl: ok }), TypeError, bad);
      assert.throws(() => customEnvironment({ accountsUrl: ok, apiBaseUrl: bad }), TypeError, bad);
    }
    const lan = customEnvironment({ accountsUrl: 'http://emulator:4010', apiBaseUrl: ok, allowInsecureHttp: true });
    assert.equal(lan.accountsUrl, 'http://emulator:4010');
  });
});
