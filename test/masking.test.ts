import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maskSecret, OAuthToken, summarizeToken } from 'zoho-token-store';

describe('masking secrets', () => {
  it('shows a length and at most a quarter, at most four characters, of a secret', () => {
    assert.equal(maskSecret(null), null);
    assert.equal(maskSecret(''), '…(0)');
    assert.equal(maskSecret('abc'), '…(3)');
    assert.equal(maskSecret('abcdefgh'), '…(8)gh');
    assert.equal(maskSecret('1000.8f2c0e3b1a4d5e6f.7a8b9c0d1e2f3a4b'), '…(38)3a4b');
  });

  it('summarizes a token without any secret in it', () => {
    const secrets = {
      clientSecret: 'client-secret-value-1234567890',
      grantToken: '1000.grant.value.abcdefghijklmnop',
      refreshToken: '1000.refresh.value.abcdefghijklmnop',
      accessToken: '1000.access.value.abcdefghijklmnop',
    };
    const token = new OAuthToken({ id: '7', userName: 'ana@zylker.com', clientId: '1000.C', expiresIn: 0, ...secrets });
    const summary = summarizeToken(token);
    const printed = JSON.stringify(summary);
    for (const secret of Object.values(secrets)) assert.ok(!printed.includes(secret.slice(0, 12)), printed);
    assert.equal(summary.userName, 'ana@zylker.com');
    assert.equal(summary.clientId, '1000.C');
    assert.equal(summary.expiresAt, '1970-01-01T00:00:00.000Z');
  });
});
