import { isOAuthError, OAuthErrorCode, revokeRefreshToken } from '../../index.js';
import { withTokenLock } from '../../lifecycle/refresh-lock.js';
import { CommandError, ExitCode } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { isSealed } from '../sealed-tokens.js';
import { maskStoreUrl, noSuchToken, STORE_OPTION, storeUrlOf, withStore } from '../store-url.js';
import { printable, userSuffix } from '../text-format.js';
import { accountsServerFor, ZOHO_OPTIONS } from '../zoho-environment.js';

/**
 * `zoho-tokens revoke <id>`: ends the token's refresh token at Zoho, then deletes the token.
 *
 * @example
 * ```ts
 * await runCli(['revoke', '1234567890', '--dc', 'EU', '--store', 'sqlite:./zohooauth.db'], io);
 * ```
 */
export const revokeCommand = defineCommand({
  name: 'revoke',
  summary: "revoke a token's refresh token at Zoho, then delete it",
  help: `Usage: zoho-tokens revoke <id> [--store URL] [--dc DC | --accounts-url URL]

Revokes the token's refresh token at Zoho's accounts server (which also ends every access token
made from it), then deletes the token from the store. A token Zoho no longer knows is deleted all
the same. If Zoho cannot be reached, the token is kept, so the command can be run again.

The accounts server is that of the data center of the token's API domain; --dc is used only for
a token whose API domain names none, and naming another data center than the token's fails.

Options:
  --store URL          the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --dc DC              the user's data center: US, EU, IN, CN, AU, JP, CA, SA or UK
                       (default: the token's, else $ZOHO_DC, else US)
  --accounts-url URL   a custom accounts server instead, such as the local emulator
  -v, --verbose        on failure, also print the cause chain
  -h, --help           show this help
`,
  options: { ...STORE_OPTION, ...ZOHO_OPTIONS },
  positionals: { min: 1, max: 1, names: 'a token id' },
  async run({ values, positionals, io }) {
    const id = positionals[0] as string;
    const pickAccountsServer = accountsServerFor(values, io);
    const url = storeUrlOf(values.store, io);
    const where = maskStoreUrl(url);
    return withStore(url, io, (store) =>
      // Under the token's refresh lock: a refresh in flight saves first, and none saves it back after.
      withTokenLock(store, id, async () => {
        const token = await store.findTokenById(id);
        if (token === null) throw noSuchToken(id, url);
        const label = `token ${printable(id)}${userSuffix(token.getUserSignature()?.getName())}`;
        if (isSealed(token)) {
          throw new CommandError(`${label} is encrypted: set ZOHO_TOKEN_KEY to the store's keyring to revoke it`);
        }
        const refreshToken = token.getRefreshToken();
        if (!refreshToken) {
          throw new CommandError(
            `${label} has no refresh token for Zoho to revoke; \`zoho-tokens delete ${printable(id)}\` drops it`,
          );
        }
        const environment = pickAccountsServer(token.getAPIDomain());
        let known = true;
        try {
          await revokeRefreshToken(environment, refreshToken);
        } catch (error) {
          if (!(isOAuthError(error) && error.code === OAuthErrorCode.INVALID_TOKEN)) {
            const code = isOAuthError(error) ? ` (${error.code})` : '';
            throw new CommandError(`could not revoke ${label} at ${environment.name}${code}; it was kept`, {
              cause: error,
            });
          }
          known = false;
        }
        try {
          await store.deleteToken(id);
        } catch (error) {
          // Zoho has let go of it: a second run finds Zoho no longer knows it and deletes it.
          const done = known ? `revoked ${label} at ${environment.name}` : `Zoho no longer knows ${label}`;
          throw new CommandError(`${done}, but deleting it from ${where} failed; run revoke again`, { cause: error });
        }
        io.stdout.write(
          known
            ? `Revoked ${label} at ${environment.name} and deleted it.\n`
            : `Zoho (${environment.name}) no longer knows ${label}; deleted it from the store.\n`,
        );
        return ExitCode.OK;
      }),
    );
  },
});
