import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { isTokenStoreError, OAuthToken, TokenStoreErrorCode, untrustedFileReason } from 'zoho-token-store';
import { FileStore } from 'zoho-token-store/stores/file';
import { describeTokenStoreConformance } from 'zoho-token-store/testing';
import { useBundledFixture } from './fixtures/file-bundle.js';

const run = promisify(execFile);

/**
 * Saves a token with a value of `bytes` from a child whose files may not grow past `limitKiB`
 * (`ulimit -f`; Node ignores SIGXFSZ, so the write fails with EFBIG) and returns what the child
 * reports. By default a 200 kB value under 64 KiB.
 */
async function saveUnderFileLimit(path: string, { limitKiB = 64, bytes = 200_000 } = {}) {
  const { stdout } = await run('bash', [
    '-c',
    `ulimit -f ${limitKiB} && exec "${process.execPath}" "$@"`,
    'bash',
    child.file,
    'big',
    path,
    String(bytes),
  ]);
  return JSON.parse(stdout);
}
const child = useBundledFixture('crash-writer', 'zts-file-');
const { dir } = child;
let files = 0;
const newFile = () => join(dir, `tokens-${++files}.json`);

describeTokenStoreConformance({ describe, it }, 'FileStore', {
  createStore: () => new FileStore({ path: newFile() }),
  reopenStore: (store) => new FileStore({ path: (store as FileStore).path }),
});

const token = (n: number | string, extra: ConstructorParameters<typeof OAuthToken>[0] = {}) =>
  new OAuthToken({
    userName: `u${n}@zylker.com`,
    clientId: '1000.C',
    clientSecret: 's',
    refreshToken: `r${n}`,
    accessToken: `a${n}`,
    ...extra,
  });

const isCode = (code: string, path?: string) => (error: unknown) =>
  isTokenStoreError(error) && error.code === code && (path === undefined || error.message.includes(path));

async function usersIn(path: string): Promise<string[]> {
  const store = new FileStore({ path });
  try {
    return (await store.getTokens()).map((t) => t.getUserSignature()?.getName() ?? '').sort();
  } finally {
    await store.close();
  }
}

describe('FileStore on disk', () => {
  it('writes a checksummed JSON file only its owner can read, and leaves no temporary file', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    await store.saveToken(token(1));
    // A file restored by hand with a wider mode: its backup is made 0600 too.
    chmodSync(path, 0o644);
    await store.saveToken(token(2));
    await store.close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}.bak`).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}.journal`, { throwIfNoEntry: false }), undefined, 'compacted on close');
    const file = JSON.parse(readFileSync(path, 'utf8'));
    assert.equal(file.format, 'zoho-token-store/file');
    assert.equal(file.version, 1);
    assert.match(file.checksum, /^[0-9a-f]{64}$/);
    assert.equal(file.payload.tokens.length, 2);
    const name = basename(path);
    assert.deepEqual(
      readdirSync(dir).filter((entry) => entry.startsWith(`${name}.`)),
      [`${name}.bak`],
    );
  });

  it('round-trips commas, quotes, newlines, unicode and a 1 MiB value exactly, across processes’ reopening', async () => {
    const path = newFile();
    const hostile = 'a,b "quoted" \'single\'\nline2\r\n\ttab Zoë 張偉 🚀 \u2028 \\ end';
    const long = `${'x'.repeat(1 << 20)}${hostile}`;
    const store = new FileStore({ path });
    await store.saveToken(
      token(1, { userName: hostile, accessToken: long, clientSecret: hostile, apiDomain: hostile }),
    );
    await store.close();
    const reopened = new FileStore({ path });
    const found = await reopened.findToken(new OAuthToken({ userName: hostile }));
    assert.equal(found?.getAccessToken(), long);
    assert.equal(found?.getClientSecret(), hostile);
    assert.equal(found?.getAPIDomain(), hostile);
    assert.equal(
      (await reopened.findToken(new OAuthToken({ accessToken: long })))?.getUserSignature()?.getName(),
      hostile,
    );
    await reopened.close();
  });

  it('keeps activity beside the tokens, across reopening', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    const [a, b] = [token(1), token(2)];
    await store.saveToken(a);
    await store.saveToken(b);
    await store.recordUse(a.getId() as string, 5_000);
    await store.recordRevoked(b.getId() as string, 7_000);
    await store.close();
    const reopened = new FileStore({ path });
    const activity = (await reopened.getActivity()).sort((x, y) => x.id.localeCompare(y.id));
    const expected = [
      { id: a.getId(), lastUsedAt: 5_000, revokedAt: null },
      { id: b.getId(), lastUsedAt: null, revokedAt: 7_000 },
    ].sort((x, y) => String(x.id).localeCompare(String(y.id)));
    assert.deepEqual(activity, expected);
    await reopened.deleteToken(a.getId() as string);
    assert.deepEqual(
      (await reopened.getActivity()).map((entry) => entry.id),
      [b.getId()],
    );
    await reopened.close();
  });

  it('resolves each of many concurrent saves only once it is on disk', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    const checks: Promise<void>[] = [];
    await Promise.all(
      Array.from({ length: 60 }, (_, n) =>
        store.saveToken(token(n)).then(() => {
          // A second store reads the file itself, not the first one's memory.
          const reader = new FileStore({ path });
          checks.push(
            reader
              .findToken(new OAuthToken({ userName: `u${n}@zylker.com` }))
              .then((found) => assert.equal(found?.getAccessToken(), `a${n}`))
              .finally(() => reader.close()),
          );
        }),
      ),
    );
    await Promise.all(checks);
    assert.equal((await usersIn(path)).length, 60);
    await store.close();
  });

  it('reloads its index when another process writes the file', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    await store.saveToken(token('mine'));
    assert.equal(await store.findToken(new OAuthToken({ userName: 'p1-0@zylker.com' })), null);
    await run(process.execPath, [child.file, 'save', path, 'p1', '3', '0']);
    const found = await store.findToken(new OAuthToken({ userName: 'p1-0@zylker.com' }));
    assert.equal(found?.getAccessToken(), '1000.a.p1.0');
    assert.equal((await store.getTokens()).length, 4);
    // And a save of ours keeps theirs: it decides on the file as it is now.
    await store.saveToken(token('mine', { accessToken: 'a-new' }));
    assert.equal((await usersIn(path)).length, 4);
    await store.close();
  });

  it('8 processes × 500 saves: no token lost, none duplicated, shared users stored once', async () => {
    const path = newFile();
    const own = 450;
    const shared = 50;
    const children = Array.from({ length: 8 }, (_, p) =>
      run(process.execPath, [child.file, 'save', path, `p${p}`, String(own), String(shared)], { timeout: 50_000 }),
    );
    const outputs = await Promise.all(children);
    assert.ok(outputs.every((output) => output.stdout === 'done\n'));
    const users = await usersIn(path);
    assert.equal(users.length, 8 * own + shared, 'one row per user');
    assert.equal(new Set(users).size, users.length, 'no user twice');
    for (let p = 0; p < 8; p++) for (let n = 0; n < own; n += 97) assert.ok(users.includes(`p${p}-${n}@zylker.com`));
    for (let n = 0; n < shared; n++) assert.ok(users.includes(`shared-${n}@zylker.com`));
    assert.ok(!existsSync(`${path}.lock`), 'the lock is released');
  });
});

describe('FileStore integrity', () => {
  it('detects a truncated file, names it, never replaces it, and keeps the last good copy as .bak', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    await store.saveToken(token(1));
    await store.saveToken(token(2));
    await store.close();
    const good = readFileSync(`${path}.bak`, 'utf8');
    truncateSync(path, statSync(path).size - 40);
    const damaged = readFileSync(path);

    const reader = new FileStore({ path });
    await assert.rejects(reader.findToken(new OAuthToken({ userName: 'u1@zylker.com' })), isCode('CORRUPT_DATA', path));
    await assert.rejects(reader.getTokens(), isCode('CORRUPT_DATA', path));
    await assert.rejects(reader.saveToken(token(3)), isCode('CORRUPT_DATA', path));
    await assert.rejects(reader.deleteTokens(), isCode('CORRUPT_DATA', path));
    await reader.close();
    assert.deepEqual(readFileSync(path), damaged, 'the damaged file is left for inspection');
    assert.equal(readFileSync(`${path}.bak`, 'utf8'), good, 'the backup is untouched');

    // The documented recovery: the .bak reads as a store, and copied back it is the file again.
    assert.deepEqual(await usersIn(`${path}.bak`), ['u1@zylker.com']);
    copyFileSync(`${path}.bak`, path);
    assert.deepEqual(await usersIn(path), ['u1@zylker.com']);
  });

  it('detects an edited value, an empty file, a foreign file and a deleted file', async () => {
    const edited = newFile();
    const store = new FileStore({ path: edited });
    await store.saveToken(token(1));
    await store.saveToken(token(2));
    await store.close();
    writeFileSync(edited, readFileSync(edited, 'utf8').replace('"a1"', '"a9"'));
    await assert.rejects(usersIn(edited), (error: unknown) => {
      assert.ok(isCode('CORRUPT_DATA', edited)(error));
      assert.match((error as Error).message, /checksum/);
      return true;
    });

    const empty = newFile();
    writeFileSync(empty, '');
    await assert.rejects(usersIn(empty), isCode('CORRUPT_DATA', empty));

    // The TypeScript SDKs' header, and the Node.js 8.0 and Python SDKs' (BOM and all).
    for (const header of [
      'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time\n',
      '\uFEFFid,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain\r\n',
    ]) {
      const csv = newFile();
      writeFileSync(csv, header);
      await assert.rejects(usersIn(csv), (error: unknown) => {
        assert.ok(isCode('CORRUPT_DATA', csv)(error));
        assert.match((error as Error).message, /zoho-tokens import/);
        return true;
      });
    }

    // Writes never remove the file: gone while its backup exists means it was deleted.
    unlinkSync(edited);
    await assert.rejects(usersIn(edited), isCode('CORRUPT_DATA', edited));
    const writer = new FileStore({ path: edited });
    await assert.rejects(writer.saveToken(token(3)), isCode('CORRUPT_DATA', edited));
    await writer.close();
    assert.ok(!existsSync(edited), 'nothing was written over the loss');
  });

  it('a write that fails (disk full: EFBIG) leaves the old file intact and rejects with STORAGE_FAILURE', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    await store.saveToken(token(1));
    await store.close();
    const before = readFileSync(path);
    const outcome = await saveUnderFileLimit(path);
    assert.equal(outcome.saved, false);
    assert.equal(outcome.code, TokenStoreErrorCode.STORAGE_FAILURE);
    assert.equal(outcome.cause, 'EFBIG');
    assert.ok(outcome.message.includes(path));
    assert.deepEqual(readFileSync(path), before);
    assert.deepEqual(await usersIn(path), ['u1@zylker.com']);
    const leftovers = readdirSync(dir).filter((name) => name.includes('.tmp-'));
    assert.deepEqual(leftovers, []);
  });
});

describe('FileStore and other local users', () => {
  /** Another local user's uid: the test runs as root in CI, so `nobody` stands for the attacker. */
  const OTHER_UID = 65_534;
  const unix = process.geteuid !== undefined;

  it('refuses a token file another user planted or may write, replaces nothing, and reads it once fixed', async (t) => {
    if (!unix) return t.skip('no Unix owners');
    const path = newFile();
    // The victim's store, written once; then the file changes hands, as if another user planted it.
    const victim = new FileStore({ path });
    await victim.saveToken(token(1));
    await victim.close();
    const bytes = readFileSync(path);
    chownSync(path, OTHER_UID, OTHER_UID);
    await assert.rejects(usersIn(path), (error: unknown) => {
      assert.ok(isCode('UNTRUSTED_FILE', path)(error));
      assert.match((error as Error).message, /owned by uid 65534.*chown/);
      return true;
    });
    const writer = new FileStore({ path });
    await assert.rejects(writer.saveToken(token(2)), isCode('UNTRUSTED_FILE', path));
    await writer.close();
    assert.deepEqual(readFileSync(path), bytes, 'nothing was written over it');

    chownSync(path, process.geteuid?.() ?? 0, process.getegid?.() ?? 0);
    chmodSync(path, 0o620);
    await assert.rejects(usersIn(path), (error: unknown) => {
      assert.ok(isCode('UNTRUSTED_FILE', path)(error));
      assert.match((error as Error).message, /mode 0620.*chmod 600/);
      return true;
    });
    chmodSync(path, 0o600);
    assert.deepEqual(await usersIn(path), ['u1@zylker.com']);
  });

  it('trusts a root-owned file (no lesser user can plant one), never another user’s', () => {
    const file = { mode: 0o100600 };
    assert.equal(untrustedFileReason({ ...file, uid: 1000 }, 'f', 1000), null);
    assert.equal(untrustedFileReason({ ...file, uid: 0 }, 'f', 1000), null);
    assert.match(untrustedFileReason({ ...file, uid: 1001 }, 'f', 1000) ?? '', /owned by uid 1001.*chown 1000 f$/);
    assert.match(untrustedFileReason({ uid: 0, mode: 0o100602 }, 'f', 1000) ?? '', /mode 0602.*chmod 600 f$/);
  });

  it('refuses a journal another user planted beside a good file', async (t) => {
    if (!unix) return t.skip('no Unix owners');
    const path = newFile();
    const store = new FileStore({ path });
    await store.saveToken(token(1));
    await store.saveToken(token(2));
    // A second save appends to the journal; the store is left open so the journal is not compacted away.
    assert.ok(existsSync(`${path}.journal`));
    chownSync(`${path}.journal`, OTHER_UID, OTHER_UID);
    await assert.rejects(usersIn(path), isCode('UNTRUSTED_FILE', `${path}.journal`));
    chownSync(`${path}.journal`, process.geteuid?.() ?? 0, process.getegid?.() ?? 0);
    await store.close();
  });
});

describe('FileStore locks', () => {
  const lockOf = (pid: number) => JSON.stringify({ pid, host: hostname(), nonce: 'x', at: Date.now() });

  it('leaves no lock behind when it cannot write the lock file (disk full), so the next writer is not kept out', async () => {
    const path = newFile();
    // No file may grow at all: the lock file is created, its content fails with EFBIG.
    const outcome = await saveUnderFileLimit(path, { limitKiB: 0, bytes: 10 });
    assert.equal(outcome.saved, false);
    assert.equal(outcome.code, TokenStoreErrorCode.STORAGE_FAILURE);
    assert.equal(outcome.cause, 'EFBIG');
    assert.ok(outcome.message.includes(`${path}.lock`), outcome.message);
    assert.ok(!existsSync(`${path}.lock`), 'an empty lock file was left behind');
    const store = new FileStore({ path, lockTimeoutMs: 1_000 });
    await store.saveToken(token(1));
    await store.close();
    assert.deepEqual(await usersIn(path), ['u1@zylker.com']);
  });

  it('takes over a write lock left by a dead process at once', async () => {
    const path = newFile();
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((done) => dead.on('exit', done));
    writeFileSync(`${path}.lock`, lockOf(dead.pid as number));
    const store = new FileStore({ path, lockTimeoutMs: 2_000 });
    const started = Date.now();
    await store.saveToken(token(1));
    assert.ok(Date.now() - started < 1_000);
    await store.close();
    assert.ok(!existsSync(`${path}.lock`), 'released after the write');
  });

  it('waits for a live holder, fails with LOCK_TIMEOUT, and takes over once the lock is stale', async () => {
    const path = newFile();
    writeFileSync(`${path}.lock`, lockOf(process.pid));
    const store = new FileStore({ path, lockTimeoutMs: 150, lockStaleMs: 60_000 });
    await assert.rejects(store.saveToken(token(1)), isCode('LOCK_TIMEOUT'));
    assert.equal(await store.findToken(new OAuthToken({ userName: 'u1@zylker.com' })), null, 'nothing was saved');
    const past = new Date(Date.now() - 120_000);
    utimesSync(`${path}.lock`, past, past);
    await store.saveToken(token(1));
    assert.deepEqual(await usersIn(path), ['u1@zylker.com']);
    await store.close();
  });

  it('lets exactly one of many writers take over a stale lock: no update is lost', async () => {
    const path = newFile();
    writeFileSync(`${path}.lock`, lockOf(process.pid));
    const past = new Date(Date.now() - 120_000);
    utimesSync(`${path}.lock`, past, past);
    // Separate instances: each has its own lock object and queue, like separate processes.
    const stores = Array.from({ length: 12 }, () => new FileStore({ path, lockStaleMs: 60_000 }));
    await Promise.all(stores.map((store, n) => store.saveToken(token(n))));
    await Promise.all(stores.map((store) => store.close()));
    assert.equal((await usersIn(path)).length, 12);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.startsWith(`${basename(path)}.lock`)),
      [],
      'no lock file or moved-aside stale lock is left',
    );
  });

  it('lets one breaker at a time remove a stale lock, and ages out a breaker that died at it', async () => {
    const path = newFile();
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((done) => dead.on('exit', done));
    writeFileSync(`${path}.lock`, lockOf(dead.pid as number));
    // Another process is removing the dead holder's lock right now.
    writeFileSync(`${path}.lock.break`, lockOf(process.pid));
    const store = new FileStore({ path, lockTimeoutMs: 150, lockStaleMs: 1_000 });
    await assert.rejects(store.saveToken(token(1)), isCode('LOCK_TIMEOUT'));
    assert.ok(existsSync(`${path}.lock`), 'the stale lock waits for the breaker');
    // That breaker died there: its file ages out like a lock.
    const past = new Date(Date.now() - 5_000);
    utimesSync(`${path}.lock.break`, past, past);
    await store.saveToken(token(1));
    await store.close();
    assert.deepEqual(await usersIn(path), ['u1@zylker.com']);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.startsWith(`${basename(path)}.lock`)),
      [],
    );
  });

  it('offers a refresh lock across instances, with LOCK_TIMEOUT, freed by its holder', async () => {
    const path = newFile();
    const [holder, waiter] = [new FileStore({ path }), new FileStore({ path, lockTimeoutMs: 200 })];
    let release = () => {};
    const held = holder.withRefreshLock('k', () => new Promise<void>((done) => (release = done)));
    await new Promise((r) => setTimeout(r, 30));
    await assert.rejects(
      waiter.withRefreshLock('k', async () => {}),
      isCode('LOCK_TIMEOUT'),
    );
    assert.equal(await waiter.withRefreshLock('other', async () => 'free'), 'free');
    release();
    await held;
    assert.equal(await waiter.withRefreshLock('k', async () => 'mine'), 'mine');
    await Promise.all([holder.close(), waiter.close()]);
  });

  it('keeps a refresh lock past its lease while the holder lives, and frees a dead holder’s at once', async () => {
    const path = newFile();
    const options = { path, lockLeaseMs: 150 };
    const [holder, waiter] = [new FileStore(options), new FileStore({ ...options, lockTimeoutMs: 400 })];
    let release = () => {};
    const held = holder.withRefreshLock('k', () => new Promise<void>((done) => (release = done)));
    await new Promise((r) => setTimeout(r, 20));
    // The holder renews its lease, so three leases later it still holds the lock.
    await assert.rejects(
      waiter.withRefreshLock('k', async () => {}),
      isCode('LOCK_TIMEOUT'),
    );
    release();
    await held;

    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((done) => dead.on('exit', done));
    const lockFile = `${path}.refresh-${createHash('sha256').update('k').digest('hex').slice(0, 16)}.lock`;
    writeFileSync(lockFile, lockOf(dead.pid as number));
    const started = Date.now();
    assert.equal(await waiter.withRefreshLock('k', async () => 'taken over'), 'taken over');
    assert.ok(Date.now() - started < 100, 'no wait for the lease of a dead holder');
    assert.ok(!existsSync(lockFile));
    await Promise.all([holder.close(), waiter.close()]);
  });

  it('re-reads the file inside the refresh lock, so a refresh saved elsewhere is seen', async () => {
    const path = newFile();
    const [a, b] = [new FileStore({ path }), new FileStore({ path })];
    await a.saveToken(token(1));
    assert.equal((await b.findToken(new OAuthToken({ userName: 'u1@zylker.com' })))?.getAccessToken(), 'a1');
    await a.withRefreshLock('u1', () => a.saveToken(token(1, { accessToken: 'refreshed' })));
    const seen = await b.withRefreshLock('u1', () => b.findToken(new OAuthToken({ userName: 'u1@zylker.com' })));
    assert.equal(seen?.getAccessToken(), 'refreshed');
    await Promise.all([a.close(), b.close()]);
  });
});

describe('FileStore journal', () => {
  const journalOf = (path: string) => `${path}.journal`;
  /** The journal's records, each checked against its own checksum. */
  const recordsIn = (path: string) => {
    const [head, ...lines] = readFileSync(journalOf(path), 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'the journal ends with a whole record');
    return {
      head: JSON.parse(head as string),
      records: lines.map((line) => {
        const json = line.slice(65);
        assert.equal(line.slice(0, 64), createHash('sha256').update(json).digest('hex'));
        return JSON.parse(json);
      }),
    };
  };
  const checksumOf = (path: string) => JSON.parse(readFileSync(path, 'utf8')).checksum;

  it('appends each save as one checksummed record, leaves the file as it is, and compacts on close', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    await store.saveToken(token(1));
    const file = readFileSync(path);
    await store.saveToken(token(2));
    await store.deleteToken((await store.findToken(new OAuthToken({ userName: 'u1@zylker.com' })))?.getId() as string);
    assert.deepEqual(readFileSync(path), file, 'saves after the first leave the file alone');
    assert.equal(statSync(journalOf(path)).mode & 0o777, 0o600);
    const { head, records } = recordsIn(path);
    assert.deepEqual(head, { format: 'zoho-token-store/journal', version: 1, base: checksumOf(path) });
    assert.equal(records.length, 2);
    assert.equal(records[0].put[0][1], 'u2@zylker.com');
    assert.equal(records[1].remove.length, 1);
    // Another instance, as another process would, reads the file and the journal.
    assert.deepEqual(await usersIn(path), ['u2@zylker.com']);
    await store.close();
    assert.ok(!existsSync(journalOf(path)), 'closing folds the journal into the file');
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).payload.tokens.length, 1);
    assert.deepEqual(readFileSync(`${path}.bak`), file, 'the file before the compaction is the backup');
    assert.deepEqual(await usersIn(path), ['u2@zylker.com']);
  });

  it('sees another instance’s appends as they come, without a write of its own', async () => {
    const path = newFile();
    const [writer, reader] = [new FileStore({ path }), new FileStore({ path })];
    await writer.saveToken(token(1));
    assert.equal((await reader.getTokens()).length, 1);
    for (let n = 2; n <= 5; n++) {
      await writer.saveToken(token(n));
      await new Promise((r) => setTimeout(r, 2)); // past the reader's recheck interval
      const found = await reader.findToken(new OAuthToken({ userName: `u${n}@zylker.com` }));
      assert.equal(found?.getAccessToken(), `a${n}`);
    }
    await writer.saveToken(token(3, { accessToken: 'changed' }));
    await new Promise((r) => setTimeout(r, 2));
    assert.equal((await reader.findToken(new OAuthToken({ userName: 'u3@zylker.com' })))?.getAccessToken(), 'changed');
    await Promise.all([writer.close(), reader.close()]);
  });

  it('drops a torn last record (a save that never resolved), and the next save writes over it', async () => {
    for (const tear of ['cut short', 'bad checksum'] as const) {
      const path = newFile();
      const store = new FileStore({ path });
      await store.saveToken(token(1));
      await store.saveToken(token(2));
      // What a writer killed mid-append leaves: part of a record, or a whole line whose bytes did not all reach the disk.
      const line = readFileSync(journalOf(path), 'utf8').split('\n').at(-2) as string;
      const torn = tear === 'cut short' ? line.slice(0, 100) : `${line.slice(0, 70)}X${line.slice(71)}\n`;
      writeFileSync(journalOf(path), torn, { flag: 'a' });
      assert.deepEqual(await usersIn(path), ['u1@zylker.com', 'u2@zylker.com']);
      const next = new FileStore({ path });
      await next.saveToken(token(3));
      assert.equal(recordsIn(path).records.length, 2, `${tear}: the torn record is gone, the new one whole`);
      assert.deepEqual(await usersIn(path), ['u1@zylker.com', 'u2@zylker.com', 'u3@zylker.com']);
      await Promise.all([store.close(), next.close()]);
    }
  });

  it('fails with CORRUPT_DATA naming the journal when a record with others after it is damaged, and overwrites nothing', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    for (let n = 1; n <= 4; n++) await store.saveToken(token(n));
    const journal = readFileSync(journalOf(path), 'utf8');
    const damaged = journal.replace('"a3"', '"a8"');
    assert.notEqual(damaged, journal);
    writeFileSync(journalOf(path), damaged);
    const file = readFileSync(path);
    const reader = new FileStore({ path });
    let offset = -1;
    await assert.rejects(reader.findToken(new OAuthToken({ userName: 'u1@zylker.com' })), (error: unknown) => {
      assert.ok(isCode('CORRUPT_DATA', journalOf(path))(error));
      offset = Number(/record at byte (\d+)/.exec((error as Error).message)?.[1]);
      return true;
    });
    await assert.rejects(reader.getTokens(), isCode('CORRUPT_DATA', journalOf(path)));
    await assert.rejects(reader.saveToken(token(5)), isCode('CORRUPT_DATA', journalOf(path)));
    await assert.rejects(store.saveToken(token(5)), isCode('CORRUPT_DATA', journalOf(path)), 'the writer too');
    await Promise.all([reader.close(), store.close()]);
    assert.equal(readFileSync(journalOf(path), 'utf8'), damaged, 'the journal is left for inspection');
    assert.deepEqual(readFileSync(path), file);
    // The documented recovery: cut the journal at the damaged record, keeping those before it.
    assert.equal(offset, Buffer.byteLength(journal.split('\n').slice(0, 2).join('\n')) + 1);
    truncateSync(journalOf(path), offset);
    assert.deepEqual(await usersIn(path), ['u1@zylker.com', 'u2@zylker.com']);
  });

  it('ignores a journal a compaction left behind (killed after its rename), then replaces it', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    await store.saveToken(token(1));
    await store.saveToken(token(2));
    await store.deleteToken((await store.findToken(new OAuthToken({ userName: 'u1@zylker.com' })))?.getId() as string);
    await store.saveToken(token(1, { accessToken: 'again' }));
    const journal = readFileSync(journalOf(path));
    await store.close();
    // The compaction renamed its file into place and was killed before removing the journal.
    writeFileSync(journalOf(path), journal, { mode: 0o600 });
    const reopened = new FileStore({ path });
    const tokens = await reopened.getTokens();
    assert.deepEqual(tokens.map((t) => t.getAccessToken()).sort(), ['a2', 'again']);
    await reopened.saveToken(token(3));
    assert.equal(recordsIn(path).head.base, checksumOf(path), 'a fresh journal for the current file');
    assert.equal(recordsIn(path).records.length, 1);
    await reopened.close();
    assert.deepEqual(await usersIn(path), ['u1@zylker.com', 'u2@zylker.com', 'u3@zylker.com']);
  });

  it('compacts once the journal outgrows the file, so it stays bounded, with the backup one compaction old', async () => {
    const path = newFile();
    assert.throws(() => new FileStore({ path, compactAfterBytes: 0 }), TypeError);
    const store = new FileStore({ path, compactAfterBytes: 4 * 1024 });
    await store.saveToken(token(1));
    let compactions = 0;
    let previous = readFileSync(path);
    for (let n = 0; n < 120; n++) {
      await store.saveToken(token(1, { accessToken: `a1.${n}` }));
      const now = readFileSync(path);
      if (!now.equals(previous)) {
        compactions++;
        assert.deepEqual(readFileSync(`${path}.bak`), previous);
        previous = now;
      }
      assert.ok(!existsSync(journalOf(path)) || statSync(journalOf(path)).size <= 4 * 1024 + 1024);
    }
    assert.ok(compactions >= 3, `${compactions} compactions`);
    const reader = new FileStore({ path });
    assert.equal((await reader.findToken(new OAuthToken({ userName: 'u1@zylker.com' })))?.getAccessToken(), 'a1.119');
    assert.equal((await reader.getTokens()).length, 1);
    await Promise.all([store.close(), reader.close()]);
  });

  it('never extends a file it did not load, even one replaced in place with the same size and time', async () => {
    const path = newFile();
    const other = newFile();
    for (const [file, n] of [
      [path, 1],
      [other, 2],
    ] as const) {
      const store = new FileStore({ path: file });
      await store.saveToken(token(n));
      await store.close();
    }
    const replacement = readFileSync(other);
    assert.equal(replacement.length, statSync(path).size, 'the two files have the same size');
    const time = new Date(1_700_000_000_000);
    utimesSync(path, time, time);
    const writer = new FileStore({ path });
    assert.deepEqual(
      (await writer.getTokens()).map((t) => t.getAccessToken()),
      ['a1'],
    );
    // Same inode, size and modification time: only the content (and its checksum) differ.
    writeFileSync(path, replacement);
    utimesSync(path, time, time);
    await writer.saveToken(token(3));
    await writer.close();
    assert.deepEqual(await usersIn(path), ['u2@zylker.com', 'u3@zylker.com']);
  });

  it('a failed append (EFBIG) leaves the journal as it was and the store usable', async () => {
    const path = newFile();
    const store = new FileStore({ path });
    await store.saveToken(token(1));
    await store.saveToken(token(2));
    const journal = readFileSync(journalOf(path));
    // 20 KiB of room for the journal, as the 64 KiB limit leaves: the 200 kB record is cut short.
    const outcome = await saveUnderFileLimit(path);
    assert.equal(outcome.saved, false);
    assert.equal(outcome.cause, 'EFBIG');
    assert.ok(outcome.message.includes(journalOf(path)));
    assert.deepEqual(readFileSync(journalOf(path)), journal, 'no partial record stays behind');
    await store.saveToken(token(3));
    assert.deepEqual(await usersIn(path), ['u1@zylker.com', 'u2@zylker.com', 'u3@zylker.com']);
    await store.close();
  });
});
