import { withTokenLock } from '../../lifecycle/refresh-lock.js';
import { ExitCode, UsageError } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { countOf } from '../copy-tokens.js';
import { maskStoreUrl, noSuchToken, STORE_OPTION, storeUrlOf, withStore } from '../store-url.js';
import { plural, printable, userSuffix } from '../text-format.js';

/**
 * `zoho-tokens delete <id>` / `delete --all --yes`: removes tokens from the store only; Zoho still
 * honours their refresh tokens (`revoke` ends those).
 *
 * @example
 * ```ts
 * await runCli(['delete', '1234567890', '--store', 'sqlite:./zohooauth.db'], io);
 * ```
 */
export const deleteCommand = defineCommand({
  name: 'delete',
  summary: 'delete a token (or --all --yes) from the store, without telling Zoho',
  help: `Usage: zoho-tokens delete <id> [--store URL]
       zoho-tokens delete --all --yes [--store URL]

Deletes tokens from the store only. Zoho still accepts their refresh tokens: use
\`zoho-tokens revoke <id>\` to end a token at Zoho as well.

Deleting every token needs --all and --yes together; --all alone only says how many tokens it
would delete, and exits 2.

Options:
  --store URL   the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --all         delete every token in the store (with --yes)
  --yes         confirm --all
  -v, --verbose on failure, also print the cause chain
  -h, --help    show this help
`,
  options: { ...STORE_OPTION, all: { type: 'boolean' }, yes: { type: 'boolean' } },
  positionals: { min: 0, max: 1, names: 'a token id' },
  async run({ values, positionals, io }) {
    const id = positionals[0];
    if (values.all && id !== undefined) throw new UsageError('delete takes a token id or --all, not both');
    if (!values.all && id === undefined) throw new UsageError('delete needs a token id, or --all --yes');
    if (values.yes && !values.all) throw new UsageError('--yes confirms --all; deleting one token needs no --yes');
    const url = storeUrlOf(values.store, io);
    const where = maskStoreUrl(url);
    return withStore(url, io, async (store) => {
      if (id === undefined) {
        const count = await countOf(store);
        if (!values.yes)
          throw new UsageError(`delete --all would delete ${plural(count, 'token')} from ${where}: add --yes`);
        await store.deleteTokens();
        io.stdout.write(`Deleted ${plural(count, 'token')} from ${where}.\n`);
        return ExitCode.OK;
      }
      // Under the token's refresh lock: a refresh in flight saves first, then this delete wins.
      const token = await withTokenLock(store, id, async () => {
        const found = await store.findTokenById(id);
        if (found !== null) await store.deleteToken(id);
        return found;
      });
      if (token === null) throw noSuchToken(id, url);
      io.stdout.write(
        `Deleted token ${printable(id)}${userSuffix(token.getUserSignature()?.getName())} from ${where}.\n`,
      );
      return ExitCode.OK;
    });
  },
});
