import { readOfficialTokenFile } from '../../stores/file.js';
import { ExitCode } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { countOf, saveEvery, stoppedPartWay } from '../copy-tokens.js';
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
the store already has one of those ids). A line naming the user (or id, or refresh token) of an
earlier line updates the token that line saved: the later line wins. Prints how many tokens were
new, how many updated, and how many lines repeated an earlier one. The CSV file is only read.

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
      return ExitCode.OK;
    }
    if (values['new-ids']) for (const token of tokens) token.setId(null);
    const { added, total } = await withStore(
      url,
      io,
      async (store) => {
        const before = await countOf(store);
        let saved = 0;
        try {
          await saveEvery(store, tokens, (count) => (saved = count));
        } catch (error) {
          throw stoppedPartWay(
            `imported ${saved} of ${plural(tokens.length, 'token')}, then saving into ${where} failed`,
            error,
            {
              idConflict: 'a token id of the file belongs to another user in the store; run again with --new-ids',
              command: 'import',
            },
          );
        }
        const after = await countOf(store);
        return { added: after - before, total: after };
      },
      { create: true },
    );
    // A save sets the stored token's id on each token, so lines that landed on one token share it.
    const distinct = new Set(tokens.map((token) => token.getId())).size;
    const repeated = tokens.length - distinct;
    io.stdout.write(
      `Imported ${plural(tokens.length, 'token')} from ${printable(file)} into ${where}: ` +
        `${added.toLocaleString('en-US')} new, ${(distinct - added).toLocaleString('en-US')} updated` +
        (repeated === 0 ? '' : `, ${plural(repeated, 'line')} repeating an earlier one (the later line kept)`) +
        `. The store holds ${plural(total, 'token')}.\n`,
    );
    return ExitCode.OK;
  },
});
