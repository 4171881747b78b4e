import { isTokenStoreError, TokenStoreErrorCode } from '../../index.js';
import { readOfficialTokenFile } from '../../stores/file.js';
import { CommandFailed } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { saveEvery } from '../copy-tokens.js';
import { maskStoreUrl, STORE_OPTION, storeUrlOf, withStore } from '../store-url.js';
import { plural, printable } from '../text-format.js';

/**
 * `zoho-tokens import <official-csv>`: copies the tokens of the official SDK's FileStore file
 * into a store, with the store's upsert rules, so running it again adds nothing.
 *
 * @example
 * ```ts
 * await runCli(['import', './sdk_tokens.txt', '--store', 'sqlite:./zohooauth.db'], io);
 * ```
 */
export const importCommand = defineCommand({
  name: 'import',
  summary: "import the official SDK's CSV token file into a store; safe to re-run",
  help: `Usage: zoho-tokens import <official-csv> [--store URL] [--new-ids]

Reads the token file of the official Zoho SDK's FileStore (@zohocrm/typescript-sdk-8.0: a CSV
with the header id,user_mail,client_id,…,api_domain) and saves every token into the store with
its matching rules: a token whose user (or id, or refresh token) the store already holds updates
that token, so running the import again adds nothing. Tokens keep their ids, so code that finds
them by id keeps working; --new-ids gives them fresh ones instead (needed when another token in
the store already has one of those ids). Prints how many tokens were new and how many updated.
The CSV file is only read.

A line whose fields cannot be told apart (the official FileStore writes a value holding a comma
or a line break unquoted) stops the import before anything is saved, naming the line.

Options:
  --store URL   the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --new-ids     give the imported tokens fresh ids instead of the file's
  -v, --verbose on failure, also print the cause chain
  -h, --help    show this help
`,
  options: { ...STORE_OPTION, 'new-ids': { type: 'boolean' } },
  positionals: { min: 1, max: 1, names: 'the official CSV token file' },
  async run({ values, positionals, io }) {
    const file = positionals[0] as string;
    const url = storeUrlOf(values.store, io);
    const where = maskStoreUrl(url);
    // Read and check the whole file first: a bad line stops the import before any save.
    const tokens = await readOfficialTokenFile(file);
    if (tokens.length === 0) {
      io.stdout.write(`No tokens in ${printable(file)}; nothing imported.\n`);
      return 0;
    }
    if (values['new-ids']) for (const token of tokens) token.setId(null);
    const { added, total } = await withStore(url, io, async (store) => {
      const before = (await store.getTokens()).length;
      let saved = 0;
      try {
        await saveEvery(store, tokens, { onProgress: (count) => (saved = count) });
      } catch (error) {
        const hint =
          isTokenStoreError(error) && error.code === TokenStoreErrorCode.ID_CONFLICT
            ? 'a token id of the file belongs to another user in the store; run again with --new-ids'
            : 'running import again resumes it';
        throw new CommandFailed(`imported ${saved} of ${plural(tokens.length, 'token')}, then failed: ${hint}`, {
          cause: error,
        });
      }
      const after = (await store.getTokens()).length;
      return { added: after - before, total: after };
    });
    io.stdout.write(
      `Imported ${plural(tokens.length, 'token')} from ${printable(file)} into ${where}: ` +
        `${added.toLocaleString('en-US')} new, ${(tokens.length - added).toLocaleString('en-US')} updated. ` +
        `The store holds ${plural(total, 'token')}.\n`,
    );
    return 0;
  },
});
