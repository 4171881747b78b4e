import { resolve } from 'node:path';
import { hasActivityTracking } from '../../index.js';
import { ExitCode, UsageError } from '../cli-errors.js';
import type { CliIo } from '../cli-io.js';
import { defineCommand } from '../command.js';
import { type CopyResult, copyPages, readInPages } from '../copy-tokens.js';
import { PROGRESS_OPTIONS, progressBar, wantsProgress } from '../progress-bar.js';
import { maskStoreUrl, storeFileOf, withStore } from '../store-url.js';
import { plural } from '../text-format.js';

/**
 * `zoho-tokens migrate --from URL --to URL`: copies every token, keeping ids, and checks the copy.
 *
 * @example
 * ```ts
 * await runCli(['migrate', '--from', 'sqlite:./zohooauth.db', '--to', 'postgres://root@db/app'], io);
 * ```
 */
export const migrateCommand = defineCommand({
  name: 'migrate',
  summary: 'copy every token from one store to another, keeping ids; safe to re-run',
  help: `Usage: zoho-tokens migrate --from URL --to URL [--migrate] [--progress | --no-progress]

Copies every token of the --from store into the --to store. Each token keeps its id and is saved
with the store's upsert rules, so running it again updates instead of duplicating. The source is
read 1,000 tokens at a time in id order, each page saved before the next is read, so memory stays
flat whatever its size; a token saved into the source meanwhile may or may not be copied.
Afterwards it checks that the target holds every source id and prints both counts; a missing id
exits 1.
Tokens of a user the target already holds under another id update that token instead.
When both stores track activity, each token's last use and revocation are copied too.
With ZOHO_TOKEN_KEY set, both stores are opened with that keyring: tokens are read decrypted and
written encrypted under its first key. A source token in plain text, or in the encryption format
of an earlier version, stops the copy unless --migrate is given (as to move a plain store into an
encrypted one). Without ZOHO_TOKEN_KEY, a source holding encrypted tokens stops the copy (NO_KEY)
with nothing written.

Options:
  --from URL      the store to copy from (left unchanged)
  --to URL        the store to copy into
  --migrate       read source tokens in plain text or an earlier format (see above)
  --progress      draw a progress bar on stderr even when it is not a terminal
  --no-progress   never draw one (default: draw one when stderr is a terminal)
  -v, --verbose   on failure, also print the cause chain
  -h, --help      show this help
`,
  options: {
    from: { type: 'string' },
    to: { type: 'string' },
    migrate: { type: 'boolean' },
    ...PROGRESS_OPTIONS,
  },
  async run({ values, io }) {
    const { from, to } = values;
    if (from === undefined || to === undefined) throw new UsageError('migrate needs --from URL and --to URL');
    const showProgress = wantsProgress(values, io);
    if (sameStore(from, to)) throw new UsageError('--from and --to name the same store');
    const started = performance.now();
    const progressFor = showProgress ? (total: number) => progressBar(io.stderr, 'migrate', total) : null;
    const result = await withStore(
      from,
      io,
      async (source) => {
        // The count and first page (or, without paged reads, every token) are read before the
        // target opens, so a source that cannot be read is named as such; the rest as the copy goes.
        const pages = await readInPages(source);
        const activity = hasActivityTracking(source) ? await source.getActivity() : null;
        return withStore(
          to,
          io,
          (target) =>
            copyPages(pages, target, activity, {
              progressFor,
              sourceName: maskStoreUrl(from),
              targetName: maskStoreUrl(to),
            }),
          { create: true, option: '--to' },
        );
      },
      { migration: values.migrate === true, option: '--from' },
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    report(io, { from: maskStoreUrl(from), to: maskStoreUrl(to), seconds, ...result });
    return result.missing.length === 0 ? ExitCode.OK : ExitCode.FAILED;
  },
});

function report(io: CliIo, result: CopyResult & { from: string; to: string; seconds: string }): void {
  io.stdout.write(
    `Copied ${plural(result.copied, 'token')} from ${result.from} to ${result.to} in ${result.seconds} s.\n` +
      (result.withActivity ? `Kept the last use or revocation of ${plural(result.withActivity, 'token')}.\n` : '') +
      `The target holds ${plural(result.targetCount, 'token')}; `,
  );
  if (result.missing.length === 0) {
    io.stdout.write('every source id is among them.\n');
    return;
  }
  const shown = result.missing.slice(0, 5).join(', ');
  const more = result.missing.length > 5 ? `, and ${result.missing.length - 5} more` : '';
  io.stdout.write(`${plural(result.missing.length, 'source id')} missing: ${shown}${more}.\n`);
  io.stderr.write(
    `zoho-tokens: the target lacks ${plural(result.missing.length, 'source id')}: usually it already held those users under other ids, and updated those tokens instead\n`,
  );
}

/** Whether two URLs name one store: the same text, or the same SQLite or JSON file by another path. */
function sameStore(a: string, b: string): boolean {
  if (a === b) return true;
  const [fileA, fileB] = [storeFileOf(a), storeFileOf(b)];
  const scheme = (url: string) => url.split(':')[0]?.toLowerCase();
  return fileA !== null && fileB !== null && scheme(a) === scheme(b) && resolve(fileA) === resolve(fileB);
}
