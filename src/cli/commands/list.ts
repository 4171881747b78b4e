import { ExitCode } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { isSealed, sealedWarning } from '../sealed-tokens.js';
import { maskStoreUrl, STORE_OPTION, storeUrlOf, withStore } from '../store-url.js';
import { textTable } from '../text-format.js';
import { describeExpiry, describeMoment } from '../time-format.js';
import { activityOf, byUserThenId, expiryOf, type TokenView, viewOf } from '../token-view.js';

/**
 * `zoho-tokens list`: every stored token in a table, or as JSON; secrets masked either way.
 *
 * @example
 * ```ts
 * await runCli(['list', '--json', '--store', 'sqlite:./zohooauth.db'], io);
 * ```
 */
export const listCommand = defineCommand({
  name: 'list',
  summary: 'list the stored tokens, secrets masked',
  help: `Usage: zoho-tokens list [--store URL] [--json]

Lists every stored token, by user (case aside; tokens without one first), then by id: id,
user, client id, expiry, last use (when the store tracks it) and which secrets it holds, each
masked to its length and last characters; — for one it lacks. Secrets of an encrypted
store read without ZOHO_TOKEN_KEY show as "encrypted".

Options:
  --store URL   the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --json        print a JSON array instead of a table (still masked)
  -v, --verbose on failure, also print the cause chain
  -h, --help    show this help
`,
  options: { ...STORE_OPTION, json: { type: 'boolean' } },
  async run({ values, io }) {
    const url = storeUrlOf(values.store, io);
    const now = io.now?.() ?? Date.now();
    const { views, sealed } = await withStore(
      url,
      io,
      async (store) => {
        const tokens = await store.getTokens();
        const activity = await activityOf(store);
        return { views: tokens.map((token) => viewOf(token, activity, now)), sealed: tokens.filter(isSealed).length };
      },
      { showSealed: true },
    );
    views.sort(byUserThenId);
    io.stderr.write(sealedWarning(sealed));
    if (values.json) io.stdout.write(`${JSON.stringify(views, null, 2)}\n`);
    else if (views.length === 0) io.stdout.write(`No tokens in ${maskStoreUrl(url)}.\n`);
    else io.stdout.write(tableOf(views, now));
    return ExitCode.OK;
  },
});

function tableOf(views: readonly TokenView[], now: number): string {
  const tracked = views.some((view) => view.activity !== null);
  const activityHeader = tracked ? ['LAST USE'] : [];
  const headers = [
    'ID',
    'USER',
    'CLIENT ID',
    'EXPIRES',
    ...activityHeader,
    'REFRESH',
    'ACCESS',
    'GRANT',
    'CLIENT SECRET',
  ];
  const rows = views.map((view) => [
    view.id ?? '—',
    view.userName ?? '—',
    view.clientId ?? '—',
    describeExpiry(expiryOf(view), now),
    ...(tracked ? [describeMoment(view.activity?.lastUsedAt ?? null, now, 'never')] : []),
    view.refreshToken ?? '—',
    view.accessToken ?? '—',
    view.grantToken ?? '—',
    view.clientSecret ?? '—',
  ]);
  return textTable(headers, rows);
}
