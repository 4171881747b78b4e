// How `zoho-tokens` fails: one line with the root cause in plain words, one code, a hint when the
// fix is obvious and the documented exit code; `-v` adds the causes the line does not already say.
// Against real servers: MariaDB without the database, a Redis port nothing listens on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type CliRun, cli } from './fixtures/cli-run.js';
import { MYSQL_URL, serverAnswers } from './fixtures/test-stores.js';

const dir = mkdtempSync(join(tmpdir(), 'zts-cli-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A port nothing listens on: taken from the OS, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The run printed exactly one line on stderr, and nothing on stdout. */
function oneLine(run: CliRun): string {
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /^zoho-tokens: [^\n]+\n$/, run.stderr);
  return run.stderr;
}

/** No line of a verbose run repeats another, nor says again what a line above says. */
function noRepeats(text: string): void {
  const lines = text.trimEnd().split('\n');
  const said = lines.map((line) => line.replace(/^ {2}caused by \w+: /, '').replace(/^(zoho-tokens|✗)[^:]*: /, ''));
  for (let i = 1; i < lines.length; i++) {
    assert.ok(!lines.slice(0, i).some((above) => above.includes(said[i] as string)), `line ${i + 1} repeats:\n${text}`);
  }
}

const mysqlUp = await serverAnswers('mysql');
describe('a MariaDB database that does not exist', { skip: !mysqlUp && 'MariaDB not reachable' }, () => {
  const url = new URL(MYSQL_URL);
  url.pathname = `/zts_nosuch_${randomBytes(4).toString('hex')}`;

  it('doctor names the cause and the fix on its failed line; -v repeats nothing', async () => {
    const run = await cli(['doctor', '--store', url.href]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      new RegExp(
        `^✗ store does not answer: ${url.href}: .*: Unknown database '${url.pathname.slice(1)}' \\(ER_BAD_DB_ERROR\\) — create the database, or name another in the URL$`,
        'm',
      ),
    );
    assert.doesNotMatch(run.stdout, /STORAGE_FAILURE/, 'one code: the root cause');
    const verbose = await cli(['doctor', '--store', url.href, '-v']);
    noRepeats(verbose.stdout);
  });

  it('list fails in one line with the same cause, exit 1', async () => {
    const run = await cli(['list', '--store', url.href]);
    assert.equal(run.code, 1);
    assert.match(oneLine(run), /Unknown database .*\(ER_BAD_DB_ERROR\) — create the database/);
  });
});

describe('a Redis server that is down', () => {
  it('says connection refused, at which address, and asks whether it runs', async () => {
    const port = await closedPort();
    const started = performance.now();
    const run = await cli(['list', '--store', `redis://127.0.0.1:${port}`]);
    assert.equal(run.code, 1);
    assert.equal(
      oneLine(run),
      `zoho-tokens: redis://127.0.0.1:${port}: getTokens failed in the storage backend: connection refused at 127.0.0.1:${port} (ECONNREFUSED) — is the server running, at that host and port?\n`,
    );
    assert.ok(performance.now() - started < 10_000, 'gives up within seconds');
    const verbose = await cli(['list', '--store', `redis://127.0.0.1:${port}`, '-v']);
    assert.match(verbose.stderr, /\n {2}caused by MaxRetriesPerRequestError: /);
    noRepeats(verbose.stderr);
  });
});

describe('a mistaken file or URL', () => {
  it('a missing import file: one line, one code', async () => {
    const missing = join(dir, 'nope.csv');
    const run = await cli(['import', missing, '--store', 'memory:']);
    assert.equal(run.code, 1);
    assert.equal(
      oneLine(run),
      `zoho-tokens: cannot read the official token file ${missing}: no such file or directory (ENOENT)\n`,
    );
  });

  it('migrate --from a missing file names --from, not --store', async () => {
    const missing = join(dir, 'nope.db');
    const run = await cli(['migrate', '--from', `sqlite:${missing}`, '--to', 'memory:']);
    assert.equal(run.code, 1);
    assert.equal(oneLine(run), `zoho-tokens: no token store at ${missing} — check the path in --from\n`);
  });

  it('a path where a store URL is due: did you mean sqlite: (or file: for JSON), exit 2', async () => {
    const db = join(dir, 'zohooauth.db');
    writeFileSync(db, '');
    for (const [argv, expected] of [
      [
        ['migrate', '--from', db, '--to', 'memory:'],
        `--from: ${db} is a path, not a store URL — did you mean sqlite:${db}?`,
      ],
      [
        ['list', '--store', './tokens.json'],
        '--store: ./tokens.json is a path, not a store URL — did you mean file:./tokens.json?',
      ],
      [
        ['migrate', '--from', 'memory:', '--to', './copy.db'],
        '--to: ./copy.db is a path, not a store URL — did you mean sqlite:./copy.db?',
      ],
    ] as const) {
      const run = await cli(argv);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(oneLine(run), `zoho-tokens: ${expected}\n`);
    }
  });

  it('a negative duration gets the option’s own message, exit 2', async () => {
    const run = await cli(['purge', '--idle', '-5d', '--store', 'memory:']);
    assert.equal(run.code, 2);
    assert.equal(oneLine(run), 'zoho-tokens: --idle takes a duration such as 90m, 12h or 30d, not -5d\n');
    // An option where a value is due is still told apart.
    const missing = await cli(['purge', '--idle', '--dry-run', '--store', 'memory:']);
    assert.equal(missing.code, 2);
    assert.match(oneLine(missing), /--idle/);
  });

  it('a malformed ZOHO_TOKEN_KEY exits 2 with how to make one, never echoing it', async () => {
    const key = 'k1:c2hvcnQ=';
    const run = await cli(['list', '--store', 'memory:'], { env: { ZOHO_TOKEN_KEY: key } });
    assert.equal(run.code, 2);
    assert.match(
      oneLine(run),
      /\(NO_KEY\) — set ZOHO_TOKEN_KEY to the keyring, id:base64key \(zoho-tokens keygen makes a key\)\n$/,
    );
    assert.ok(!run.stderr.includes('c2hvcnQ='));
  });
});

describe('zoho-tokens emulator on a busy port', () => {
  it('names the port and the option that moves it, exit 2', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const run = await cli(['emulator', '--port', String(port)]);
      assert.equal(run.code, 2);
      assert.match(
        oneLine(run),
        new RegExp(
          `^zoho-tokens: port ${port} on 127\\.0\\.0\\.1 is in use by another program: .*\\(EADDRINUSE\\) — give --port N \\(0 picks a free one\\)\n$`,
        ),
      );
    } finally {
      server.close();
    }
  });
});
