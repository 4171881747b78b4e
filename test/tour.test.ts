// `npm run tour` keeps to its own database: the portal's ./zohooauth.db beside it stays as it was.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { OAuthToken } from 'zoho-token-store';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';

const run = promisify(execFile);
const tour = resolve(import.meta.dirname, '..', 'examples', 'tour.ts');
const dir = mkdtempSync(join(tmpdir(), 'zts-tour-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const runTour = () =>
  run(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), tour], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '' },
  });

describe('npm run tour', () => {
  it("saves its students in ./tour.db, twice without duplicates, and leaves the portal's ./zohooauth.db alone", async () => {
    // A portal user with the name the tour also signs in.
    const portal = new SQLiteStore({ path: join(dir, 'zohooauth.db') });
    await portal.saveToken(
      new OAuthToken({ userName: 'kenji.sato@zylkeracademy.com', refreshToken: '1000.portal', accessToken: '1000.a' }),
    );
    await portal.close();
    const before = readFileSync(join(dir, 'zohooauth.db'));

    const first = await runTour();
    assert.match(first.stdout, /in tour\.db/);
    await runTour();

    assert.deepEqual(readFileSync(join(dir, 'zohooauth.db')), before);
    const store = new SQLiteStore({ path: join(dir, 'tour.db') });
    const users = (await store.getTokens()).map((t) => t.getUserName()).sort();
    await store.close();
    assert.deepEqual(users, ['ana.lopez@zylkeracademy.com', 'kenji.sato@zylkeracademy.com']);
  });
});
