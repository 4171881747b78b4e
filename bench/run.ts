// `npm run bench`: prints markdown tables for docs/benchmarks.md, with each target checked.
import { cpus, totalmem } from 'node:os';
import { benchTokenStores, fmt, type Row } from './token-stores.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
const out: string[] = [];
const print = (line = '') => out.push(line);

log('token stores (issue #2 workload)…');
const rows = await benchTokenStores(log);

print(
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
);
print();
print('## Token stores: operations per second');
print();
print(
  '| store | N | fill (saves/s) | findToken by user | findToken by refresh token | findTokenById | upsert | × official (by user) |',
);
print('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) {
  if (row.skipped) {
    print(`| ${row.store} | ${row.n} | ${row.skipped} | | | | | |`);
    continue;
  }
  const base = rows.find((r) => r.n === row.n && r.store === 'official FileStore' && !r.skipped);
  const ratio = base?.byUser && row.byUser ? `${(row.byUser / base.byUser).toFixed(0)}×` : '—';
  print(
    `| ${row.store} | ${row.n} | ${fmt(row.fillPerSecond)} | ${fmt(row.byUser)} | ${fmt(row.byRefresh)} | ${fmt(row.byId)} | ${fmt(row.upsert)} | ${row.store.startsWith('official') ? '1×' : ratio} |`,
  );
}

const at = (store: string, n: number): Row | undefined => rows.find((r) => r.store === store && r.n === n);
const sqlite1k = at('SQLiteStore (file)', 1_000)?.byUser ?? 0;
const sqlite100k = at('SQLiteStore (file)', 100_000)?.byUser ?? 0;
const memory100k = at('MemoryStore', 100_000);
print();
print('## Targets');
print();
print('| target | measured | met |');
print('|---|---|---|');
const check = (target: string, measured: string, met: boolean) =>
  print(`| ${target} | ${measured} | ${met ? 'yes' : '**no**'} |`);
check('SQLiteStore findToken ≥ 100k ops/s at N = 100k', `${fmt(sqlite100k)}/s`, sqlite100k >= 100_000);
check(
  'SQLiteStore flat from 1k to 100k (within 25 %)',
  `${fmt(sqlite1k)}/s → ${fmt(sqlite100k)}/s`,
  sqlite100k >= 0.75 * sqlite1k,
);
const raw100k = at('SQLiteStore (file)', 100_000)?.rawSelect;
print(`| (context) better-sqlite3 alone, same indexed SELECT at N = 100k | ${fmt(raw100k)}/s | — |`);
for (const row of rows.filter((r) => r.store === 'MemoryStore')) {
  check(`MemoryStore findToken ≥ 2M ops/s at N = ${row.n}`, `${fmt(row.byUser)}/s`, (row.byUser ?? 0) >= 2_000_000);
}
check(
  '100k tokens in MemoryStore under 150 MB of heap',
  `${memory100k?.heapMB?.toFixed(0)} MB`,
  (memory100k?.heapMB ?? Infinity) < 150,
);

console.log(out.join('\n'));
