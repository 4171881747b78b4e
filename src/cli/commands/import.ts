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

Reads the token file of an official Zoho SDK's FileStore, exactly as that SDK wrote it: the
TypeScript SDKs' (header id,user_mail,client_id,client_secret,refresh_token,access_token,
grant_token,expiry_time,redirect_url,api_domain; expiry_time in ms since the epoch), the Node.js SDK
7.0/8.0's (user_name), the legacy Node SDKs' (nine columns, no api_domain, no ids) and the
Python SDK's (user_name, redirect_uri, values with a comma, quote or line break quoted), with
LF or CRLF line ends. It saves every token into the store with its matching rules: a token whose
user (or id, or refresh token) the store already holds updates that token, so running the import
again adds nothing. Tokens keep their ids, so code that finds them by id keeps working; a line
with no id takes the id of the token it updates, or a fresh one. --new-ids treats every line so
(needed when another token in the store already has one of the file's ids). User names are kept
as written (the 8.0 SDKs write email:orgId). A line naming the user (or id, or refresh token) of
an earlier line updates the token that line saved: the later line wins. Prints how many tokens
were new, how many updated, how many lines repeated an earlier one, and how many had no id. The
CSV file is only read.

A line whose fields cannot be told apart (the Node.js and TypeScript SDKs write a value holding
a comma or a line break unquoted; a quote that breaks the Python SDK's quoting) stops the import
before anything is saved, naming the file and line.

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
    // Lines without an id (the legacy SDKs write none) get theirs from the store, as --new-ids does.
    const withoutId = values['new-ids'] ? 0 : tokens.filter((token) => token.getId() === null).length;
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
        `. The store holds ${plural(total, 'token')}.\n` +
        (withoutId === 0
          ? ''
          : `${plural(withoutId, 'line')} had no id: the store gave ${withoutId === 1 ? 'its token an id' : 'their tokens ids'}.\n`),
    );
    return ExitCode.OK;
  },
});
