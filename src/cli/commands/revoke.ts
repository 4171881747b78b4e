import { type Environment, isOAuthError, OAuthErrorCode, revokeRefreshToken } from '../../index.js';
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

The token is revoked where it came from, as its API domain says: at its Zoho data center's
accounts server, or, for a token of the local emulator (an API domain on this machine, such as
http://127.0.0.1:3001 from npm start), at that emulator, which must be running. --dc is used only
for a token without an API domain; naming another data center than the token's fails. Any other
API domain needs --accounts-url.

Options:
  --store URL          the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --dc DC              the user's data center: US, EU, IN, CN, AU, JP, CA, SA or UK
                       (default: the token's, else $ZOHO_DC, else US)
  --accounts-url URL   the accounts server to revoke at instead, such as an emulator's URL
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
            throw new CommandError(`could not revoke ${label} at ${environment.name} (the token was kept)`, {
              cause: error,
              ...retryHint(error, environment),
            });
          }
          known = false;
        }
        try {
          await store.deleteToken(id);
        } catch (error) {
          // Zoho has let go of it: a second run finds Zoho no longer knows it and deletes it.
          const done = known ? `revoked ${label} at ${environment.name}` : `Zoho no longer knows ${label}`;
          throw new CommandError(`${done}, but deleting it from ${where} failed`, {
            cause: error,
            hint: 'run revoke again',
          });
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

/** What to do when the accounts server did not answer: start the emulator, or try again later. */
function retryHint(error: unknown, environment: Environment): { hint?: string } {
  if (!isOAuthError(error) || !error.retryable) return {};
  if (environment.kind === 'custom' && error.status === undefined) {
    return {
      hint: 'start that emulator (npm start does), or give --accounts-url URL of the one that issued the token',
    };
  }
  return { hint: 'run revoke again later' };
}
