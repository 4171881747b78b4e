// What users install: pack the package, unpack it into a clean folder, import every entry point.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { installPackedPackage } from './fixtures/packed-package.js';

const dir = mkdtempSync(join(tmpdir(), 'zts-pack-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the packed package', () => {
  it('installs from its tarball and every export loads, with types, outside this repo', () => {
    // The optional peer dependency the SQLite store loads, as a user would have installed it.
    const { app, target } = installPackedPackage(dir, ['better-sqlite3']);

    const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'));
    for (const [entry, conditions] of Object.entries(manifest.exports as Record<string, unknown>)) {
      if (typeof conditions !== 'object' || conditions === null) continue;
      const { types, default: main } = conditions as { types: string; default: string };
      assert.ok(existsSync(join(target, types)), `${entry}: ${types} is not in the package`);
      assert.ok(existsSync(join(target, main)), `${entry}: ${main} is not in the package`);
    }

    const script = `
      import { OAuthToken, TokenStoreError, openStore } from 'zoho-token-store';
      import { EncryptedStore, generateKey } from 'zoho-token-store/stores/encrypted';
      import { FileStore } from 'zoho-token-store/stores/file';
      import { MemoryStore } from 'zoho-token-store/stores/memory';
      import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
      import { describeTokenStoreConformance } from 'zoho-token-store/testing';
      const token = new OAuthToken({ userName: 'ana@zylker.com', accessToken: 'a' });
      const stores = [
        new MemoryStore(),
        new SQLiteStore({ path: ':memory:' }),
        new FileStore({ path: 'tokens.json' }),
        new EncryptedStore(new MemoryStore(), { keys: generateKey('k1') }),
        await openStore('sqlite:./opened.db'),
      ];
      for (const store of stores) {
        await store.saveToken(token);
        const found = await store.findToken(new OAuthToken({ userName: 'ana@zylker.com' }));
        if (found.getAccessToken() !== 'a') throw new Error('round trip failed');
        await store.close();
      }
      console.log(typeof describeTokenStoreConformance, typeof TokenStoreError);
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      encoding: 'utf8',
    });
    assert.equal(output.trim(), 'function function');

    // The bins run from the package (npm links them and marks them executable on install).
    for (const [name, bin] of Object.entries(manifest.bin as Record<string, string>)) {
      assert.match(readFileSync(join(target, bin), 'utf8'), /^#!\/usr\/bin\/env node\n/, `${name}: no shebang`);
      const help = execFileSync(process.execPath, [join(target, bin), '--help'], {
        cwd: app,
        encoding: 'utf8',
      });
      assert.match(help, new RegExp(`Usage: ${name}`), `${name} --help`);
    }
  });
});
