import { isOAuthError, OAuthErrorCode, revokeRefreshToken } from '../../index.js';
import { CommandFailed } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { isSealed } from '../sealed-tokens.js';
import { maskStoreUrl, STORE_OPTION, storeUrlOf, withStore } from '../store-url.js';
import { printable, userSuffix } from '../text-format.js';
import { ZOHO_OPTIONS, zohoEnvironmentOf } from '../zoho-environment.js';

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

Options:
  --store URL          the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --dc DC              the user's data center: US, EU, IN, CN, AU, JP, CA, SA or UK
                       (default: $ZOHO_DC, else US)
  --accounts-url URL   a custom accounts server instead, such as the local emulator
  -v, --verbose        on failure, also print the cause chain
  -h, --help           show this help
`,
  options: { ...STORE_OPTION, ...ZOHO_OPTIONS },
  positionals: { min: 1, max: 1, names: 'a token id' },
  async run({ values, positionals, io }) {
    const id = positionals[0] as string;
    const environment = zohoEnvironmentOf(values, io);
    const url = storeUrlOf(values.store, io);
    return withStore(url, io, async (store) => {
      const token = await store.findTokenById(id);
      if (token === null) throw new CommandFailed(`no token with id ${printable(id)} in ${maskStoreUrl(url)}`);
      const label = `token ${printable(id)}${userSuffix(token.getUserSignature()?.getName())}`;
      if (isSealed(token)) {
        throw new CommandFailed(`${label} is encrypted: set ZOHO_TOKEN_KEY to the store's keyring to revoke it`);
      }
      const refreshToken = token.getRefreshToken();
      if (!refreshToken) {
        throw new CommandFailed(
          `${label} has no refresh token for Zoho to revoke; \`zoho-tokens delete ${id}\` drops it`,
        );
      }
      let known = true;
      try {
        await revokeRefreshToken(environment, refreshToken);
      } catch (error) {
        if (!(isOAuthError(error) && error.code === OAuthErrorCode.INVALID_TOKEN)) {
          throw new CommandFailed(`could not revoke ${label} at ${environment.name}; it was kept`, { cause: error });
        }
        known = false;
      }
      await store.deleteToken(id);
      io.stdout.write(
        known
          ? `Revoked ${label} at ${environment.name} and deleted it.\n`
          : `Zoho (${environment.name}) no longer knows ${label}; deleted it from the store.\n`,
      );
      return 0;
    });
  },
});
