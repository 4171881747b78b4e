// Every TypeScript block of README.md and docs/*.md, as a user copies it into a project of their
// own: type-checked, each as a module, against the packed package (strict, skipLibCheck false, no
// @types of the database drivers installed), then run offline in an empty folder with
// ZOHO_TOKEN_KEY set, where it must finish by itself. A block whose first line starts with
// `// Needs` (real Zoho, say) is only type-checked.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateKey } from 'zoho-token-store/stores/encrypted';
import { installPackedPackage, ROOT } from './fixtures/packed-package.js';

const run = promisify(execFile);
const RUN_TIMEOUT_MS = 30_000;

interface Block {
  /** Where the block starts, as `file:line`. */
  where: string;
  file: string;
  code: string;
  runs: boolean;
}

function blocksOf(doc: string): Block[] {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => {
    const line = text.slice(0, match.index).split('\n').length;
    const code = match[1] ?? '';
    return {
      where: `${doc}:${line}`,
      file: `${doc.replace(/\W+/g, '-')}-${line}.ts`,
      code,
      runs: !code.startsWith('// Needs'),
    };
  });
}

const docs = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const blocks = docs.flatMap(blocksOf);
const dir = mkdtempSync(join(tmpdir(), 'zts-readme-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let app = '';

describe('the README and docs code blocks', () => {
  before(() => {
    // What a user installs beside the package: the drivers (no @types for them), Node's types,
    // the official SDK for its block, and tsx to run TypeScript.
    ({ app } = installPackedPackage(dir, [
      'better-sqlite3',
      'mysql2',
      'pg',
      'ioredis',
      '@types/node',
      '@zohocrm/typescript-sdk-8.0',
      'tsx',
    ]));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      moduleDetection: 'force',
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      types: ['node'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['blocks'] }));
    mkdirSync(join(app, 'blocks'));
    for (const block of blocks) writeFileSync(join(app, 'blocks', block.file), block.code);
    // Every entry point's types too, so none needs a driver's @types package.
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: object };
    const entries = Object.keys(manifest.exports).filter((entry) => entry !== './package.json');
    writeFileSync(
      join(app, 'blocks', 'entry-points.ts'),
      entries
        .map((entry, i) => `import type * as entry${i} from '${entry.replace(/^\./, 'zoho-token-store')}';\n`)
        .join(''),
    );
  });

  it('finds the blocks', () => {
    assert.ok(blocks.length >= 8, `only ${blocks.length} TypeScript blocks found`);
  });

  it('type-checks every block and entry point, strict, without skipLibCheck', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', app], { cwd: app }).catch(
      (error: { stdout: string }) => error,
    );
    const diagnostics = result.stdout
      .split(/\n(?=\S)/)
      .filter(Boolean)
      // The official SDK's own declarations fail this check (its SDKException extends Error
      // wrongly): not ours to fix, and no block's fault.
      .filter((diagnostic) => !diagnostic.includes('/@zohocrm/typescript-sdk-8.0/dist/'))
      .map((diagnostic) =>
        diagnostic.replace(/^blocks\/([\w-]+\.ts)\((\d+),(\d+)\)/, (at, file, line, column) => {
          const block = blocks.find((b) => b.file === file);
          // The block's code starts on the line after its fence.
          const [doc, fence] = block?.where.split(':') ?? [];
          return doc ? `${doc}:${Number(fence) + Number(line)}:${column}` : at;
        }),
      );
    assert.deepEqual(diagnostics, []);
  });

  it('runs the bins from this checkout with npx, built by the install (`prepare`)', async () => {
    // The pack above ran `prepare`, as `npm install` and `npm ci` do.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
    const tokens = await run('npx', ['--no', '--', 'zoho-tokens', 'help'], { cwd: ROOT, env });
    assert.match(tokens.stdout, /^Usage: zoho-tokens /);
    const emulator = await run('npx', ['--no', '--', 'zoho-emulator', '--help'], { cwd: ROOT, env });
    assert.match(emulator.stdout, /^Usage: zoho-emulator /);
  });

  it("documents the emulator's client as it is", async () => {
    const { EMULATOR_CLIENT } = await import('zoho-token-store/emulator');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.ok(readme.includes(`id \`${EMULATOR_CLIENT.clientId}\`, secret \`${EMULATOR_CLIENT.clientSecret}\``));
  });

  for (const block of blocks.filter((b) => b.runs)) {
    it(`runs ${block.where} to the end, offline`, async () => {
      const cwd = join(app, 'runs', block.file);
      mkdirSync(cwd, { recursive: true });
      const env = { PATH: process.env.PATH ?? '', HOME: cwd, ZOHO_TOKEN_KEY: generateKey('k1') };
      const result = await run(process.execPath, ['--import', 'tsx', join(app, 'blocks', block.file)], {
        cwd,
        env,
        timeout: RUN_TIMEOUT_MS,
      }).catch((error: { killed?: boolean; code?: number; stderr: string }) => error);
      if ('killed' in result && result.killed) assert.fail(`${block.where} did not exit within ${RUN_TIMEOUT_MS} ms`);
      assert.ok(!('code' in result && result.code), `${block.where} failed:\n${result.stderr}`);
    });
  }
});

describe('docs/benchmarks.md', () => {
  it('documents every environment variable the bench reads', () => {
    const bench = join(ROOT, 'bench');
    const names = new Set(
      readdirSync(bench).flatMap((file) =>
        [...readFileSync(join(bench, file), 'utf8').matchAll(/process\.env\.(\w+)/g)].map((m) => m[1] ?? ''),
      ),
    );
    assert.ok(names.has('BENCH_SERVER_SIZES'));
    const doc = readFileSync(join(ROOT, 'docs', 'benchmarks.md'), 'utf8');
    assert.deepEqual(
      [...names].filter((name) => !doc.includes(`\`${name}\``)),
      [],
    );
  });
});
