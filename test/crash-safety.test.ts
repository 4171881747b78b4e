// Crash safety: a writer is killed with SIGKILL at a random moment while saving, 200 times per
// store. Every time, the store must open and hold every token whose save had resolved (the
// writer prints each user only after its save resolved; pipes to the parent are synchronous).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OAuthToken, type TokenStore } from 'zoho-token-store';
import { FileStore } from 'zoho-token-store/stores/file';
import { SQLiteStore } from 'zoho-token-store/stores/sqlite';
import { useBundledFixture } from './fixtures/file-bundle.js';

const RUNS = 200;
const PARALLEL = 4;
/** Kills land this long (at most) after the moment they are armed, in ms. */
const MAX_KILL_DELAY_MS = 40;

const child = useBundledFixture('crash-writer', 'zts-crash-');
const { dir } = child;

type Kind = 'file' | 'sqlite';
const open = (kind: Kind, path: string): TokenStore & { close(): Promise<void> } =>
  kind === 'file' ? new FileStore({ path }) : new SQLiteStore({ path });

/**
 * Starts a writer, kills it at a random moment and returns the users it reported saved. Half the
 * runs arm the kill when the writer is ready (hitting start-up and the first write), half at its
 * first resolved save (hitting steady writing: journal appends and fdatasync; with
 * `file-compacting`, compactions: temporary file, fsync, backup link, rename, journal removal).
 */
function crashOnce(writerKind: Kind | 'file-compacting', path: string, tag: string): Promise<string[]> {
  const armAtFirstSave = Math.random() < 0.5;
  return new Promise((resolve, reject) => {
    const writer = spawn(process.execPath, [child.file, 'crash', writerKind, path, tag], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let armed = false;
    writer.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const lines = out.split('\n').length - 1;
      if (!armed && lines >= (armAtFirstSave ? 2 : 1)) {
        armed = true;
        setTimeout(() => writer.kill('SIGKILL'), Math.random() * MAX_KILL_DELAY_MS);
      }
    });
    writer.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    writer.on('error', reject);
    writer.on('close', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer ended by itself (${signal}): ${err}`));
      else resolve(out.split('\n').slice(1, -1)); // the last piece is a line cut short, or empty
    });
  });
}

async function runMany(kind: Kind): Promise<{ saves: number; runsWithSaves: number; journals: number }> {
  let next = 0;
  let saves = 0;
  let runsWithSaves = 0;
  let journals = 0;
  const worker = async () => {
    while (next < RUNS) {
      const n = next++;
      const path = join(dir, `${kind}-${n}.${kind === 'file' ? 'json' : 'db'}`);
      // Every other file writer compacts after each save, so kills also land inside compactions.
      const saved = await crashOnce(kind === 'file' && n % 2 === 1 ? 'file-compacting' : kind, path, `${kind}${n}`);
      saves += saved.length;
      if (saved.length > 0) runsWithSaves++;
      if (existsSync(`${path}.journal`)) journals++;
      const store = open(kind, path);
      try {
        const held = new Set((await store.getTokens()).map((token) => token.getUserSignature()?.getName()));
        const lost = saved.filter((user) => !held.has(user));
        assert.deepEqual(lost, [], `run ${n}: saves that had resolved are missing`);
        // Every tenth run: the next writer is not blocked by the dead one's lock or journal.
        if (n % 10 === 0) {
          await store.saveToken(new OAuthToken({ userName: `after-${n}@zylker.com`, accessToken: 'a' }));
          assert.ok(await store.findToken(new OAuthToken({ userName: `after-${n}@zylker.com` })));
        }
      } finally {
        await store.close();
      }
      if (kind === 'file' && existsSync(`${path}.bak`)) {
        // The backup is a whole earlier version, readable as a store.
        const backup = new FileStore({ path: `${path}.bak` });
        await backup.getTokens().finally(() => backup.close());
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return { saves, runsWithSaves, journals };
}

describe('crash safety under kill -9', () => {
  for (const kind of ['file', 'sqlite'] as const) {
    it(`${kind}: ${RUNS} writers killed at random points lose no resolved save and leave a readable store`, async () => {
      const { saves, runsWithSaves, journals } = await runMany(kind);
      const left = kind === 'file' ? `, ${journals} left a journal to recover` : '';
      console.log(
        `# ${kind}: ${RUNS} kills, ${saves} resolved saves checked, ${runsWithSaves} runs killed after ≥ 1 save${left}`,
      );
      // The kills must land while writes are going on, not only before the first one.
      assert.ok(runsWithSaves >= RUNS / 2, `only ${runsWithSaves} of ${RUNS} runs were killed after a save`);
      // And a FileStore must be reopened from a journal, not only from a compacted file.
      if (kind === 'file') assert.ok(journals >= RUNS / 4, `only ${journals} of ${RUNS} runs left a journal`);
    });
  }
});
