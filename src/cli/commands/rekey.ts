import { TokenStoreError, TokenStoreErrorCode } from '../../index.js';
import { EncryptedStore } from '../../stores/encrypted.js';
import { CommandError, ExitCode } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { NO_PROGRESS, PROGRESS_OPTIONS, type Progress, progressBar, wantsProgress } from '../progress-bar.js';
import { keyringOf, maskStoreUrl, STORE_OPTION, storeUrlOf, withStore } from '../store-url.js';
import { plural } from '../text-format.js';

/**
 * `zoho-tokens rekey`: re-encrypts every token under the first key of `ZOHO_TOKEN_KEY`, plain
 * ones too, so older keys can leave the keyring.
 *
 * @example
 * ```ts
 * await runCli(['rekey', '--store', 'sqlite:./zohooauth.db'], { ...io, env: { ZOHO_TOKEN_KEY: 'k2:…,k1:…' } });
 * ```
 */
export const rekeyCommand = defineCommand({
  name: 'rekey',
  summary: 'encrypt every token under the first key of ZOHO_TOKEN_KEY (key rotation)',
  help: `Usage: zoho-tokens rekey [--store URL] [--migrate] [--progress | --no-progress]

Re-encrypts every stored token under the first key of ZOHO_TOKEN_KEY, in the current format, so
the older keys can then be removed from it. Put the new key first and keep the old ones after it
until rekey has run:

  ZOHO_TOKEN_KEY='k2:<new key>,k1:<old key>' zoho-tokens rekey

Every stored value is decrypted before the first write, so a token under a key the keyring lacks
stops the run (UNKNOWN_KEY) with nothing changed. Each token is rewritten by its id inside the
store's refresh lock for it, so a refresh running at the same time is kept. Safe to re-run:
tokens already under the first key are left as they are.

A new key (32 random bytes, base64):
  node -e "console.log('k2:' + require('node:crypto').randomBytes(32).toString('base64'))"

A token stored in plain text (NOT_ENCRYPTED) or in the format of an earlier version (OLD_FORMAT)
stops the run: it may have been written around the encryption, or copied from another row. To
take such tokens in once — a store written before encryption was turned on, or by an earlier
version — give --migrate, after checking that nobody else could write to the store.

Options:
  --store URL     the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --migrate       also take in tokens in plain text or in an earlier format
  --progress      draw a progress bar on stderr even when it is not a terminal
  --no-progress   never draw one (default: draw one when stderr is a terminal)
  -v, --verbose   on failure, also print the cause chain
  -h, --help      show this help
`,
  options: { ...STORE_OPTION, migrate: { type: 'boolean' }, ...PROGRESS_OPTIONS },
  async run({ values, io }) {
    const showProgress = wantsProgress(values, io);
    if (keyringOf(io) === undefined) {
      throw new TokenStoreError(
        TokenStoreErrorCode.NO_KEY,
        'rekey needs the keyring in ZOHO_TOKEN_KEY: the new key first, then the old ones (id:base64key,id:base64key)',
      );
    }
    const url = storeUrlOf(values.store, io);
    const where = maskStoreUrl(url);
    let progress: Progress = NO_PROGRESS;
    let done = 0;
    const { rekeyed, total, keyId } = await withStore(
      url,
      io,
      async (store) => {
        // With ZOHO_TOKEN_KEY set, the CLI opens every store encrypted.
        if (!(store instanceof EncryptedStore)) throw new CommandError(`${where} was not opened encrypted`);
        try {
          const result = await store.rekey({
            onProgress: (handled, stale) => {
              if (showProgress && progress === NO_PROGRESS) progress = progressBar(io.stderr, 'rekey', stale);
              done = handled;
              progress.update(handled);
            },
          });
          return { ...result, keyId: store.primaryKeyId };
        } finally {
          progress.finish(done);
        }
      },
      { migration: values.migrate === true },
    );
    const others = total - rekeyed;
    if (total === 0) io.stdout.write(`No tokens in ${where}: nothing to re-encrypt.\n`);
    else if (rekeyed === 0)
      io.stdout.write(`All ${plural(total, 'token')} in ${where} are already under key ${keyId}.\n`);
    else {
      const count = others === 0 ? `all ${plural(total, 'token')}` : `${rekeyed} of ${plural(total, 'token')}`;
      io.stdout.write(
        `Re-encrypted ${count} in ${where} under key ${keyId}${others === 0 ? '' : `; the other ${others} already were`}.\n` +
          `Older keys can leave ZOHO_TOKEN_KEY once no process still writes with one of them first.\n`,
      );
    }
    return ExitCode.OK;
  },
});
