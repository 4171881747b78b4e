import { CommandError, ExitCode, UsageError } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { isSealed, sealedWarning } from '../sealed-tokens.js';
import { maskStoreUrl, noSuchToken, STORE_OPTION, storeUrlOf, withStore } from '../store-url.js';
import { printable } from '../text-format.js';
import { describeExpiry, describeMoment } from '../time-format.js';
import { activityOf, byUserThenId, expiryOf, type TokenView, viewOf } from '../token-view.js';

/**
 * `zoho-tokens show <id | user>`: a token by id, or a user's tokens, secrets masked, with activity.
 *
 * @example
 * ```ts
 * await runCli(['show', 'ana@zylker.com', '--json'], io);
 * ```
 */
export const showCommand = defineCommand({
  name: 'show',
  summary: "show a token, or a user's tokens, secrets masked, with activity",
  help: `Usage: zoho-tokens show <id | user> [--store URL] [--json]
       zoho-tokens show --user EMAIL [--store URL] [--json]

Shows a token: user, client, expiry, API domain, redirect URL, last use and revocation (when the
store tracks them) and its secrets, masked. Give its id, or a user (the email it was saved
under, any case) to show every token of that user, one after another, by id. An argument
holding an @ is a user; --user says so for any other.

Options:
  --store URL   the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --user EMAIL  show the tokens of this user
  --json        print a JSON object instead, or for a user an array of them (still masked)
  -v, --verbose on failure, also print the cause chain
  -h, --help    show this help
`,
  options: { ...STORE_OPTION, user: { type: 'string' }, json: { type: 'boolean' } },
  positionals: { min: 0, max: 1, names: 'a token id or a user' },
  async run({ values, positionals, io }) {
    const given = positionals[0];
    if ((given === undefined) === (values.user === undefined)) {
      throw new UsageError('show needs a token id, a user, or --user EMAIL (one of them)');
    }
    const user = values.user ?? (given?.includes('@') ? given : undefined);
    const url = storeUrlOf(values.store, io);
    const now = io.now?.() ?? Date.now();
    const found = await withStore(
      url,
      io,
      async (store) => {
        const tokens =
          user === undefined
            ? [await store.findTokenById(given as string)].filter((token) => token !== null)
            : (await store.getTokens()).filter((token) => sameUser(token.getUserSignature()?.getName(), user));
        const activity = await activityOf(store);
        return { views: tokens.map((token) => viewOf(token, activity, now)), sealed: tokens.filter(isSealed).length };
      },
      { showSealed: true },
    );
    if (found.views.length === 0) {
      if (user === undefined) throw noSuchToken(given as string, url);
      throw new CommandError(`no token of user ${printable(user)} in ${maskStoreUrl(url)}`);
    }
    const views = found.views.sort(byUserThenId);
    io.stderr.write(sealedWarning(found.sealed));
    if (values.json) {
      io.stdout.write(`${JSON.stringify(user === undefined ? views[0] : views, null, 2)}\n`);
    } else {
      io.stdout.write(views.map((view) => detailsOf(view, now)).join('\n'));
    }
    return ExitCode.OK;
  },
});

/** The user's tokens: saved under that name, or under `email:zgid` as the official SDKs 8.0 name users. */
function sameUser(name: string | null | undefined, user: string): boolean {
  if (typeof name !== 'string') return false;
  const [stored, wanted] = [name.toLowerCase(), user.toLowerCase()];
  return stored === wanted || (!wanted.includes(':') && stored.startsWith(`${wanted}:`));
}

function detailsOf(view: TokenView, now: number): string {
  const lines: [string, string | null][] = [
    ['id', view.id],
    ['user', view.userName],
    ['client id', view.clientId],
    ['client secret', view.clientSecret],
    ['refresh token', view.refreshToken],
    ['access token', view.accessToken],
    ['grant token', view.grantToken],
    ['expires', describeExpiry(expiryOf(view), now)],
    ['api domain', view.apiDomain],
    ['redirect url', view.redirectUrl],
    ['last use', view.activity ? describeMoment(view.activity.lastUsedAt, now, 'never') : 'not tracked by this store'],
    ['revoked', view.activity ? describeMoment(view.activity.revokedAt, now, 'no') : 'not tracked by this store'],
  ];
  return lines.map(([label, value]) => `${label.padEnd(14)}${printable(value ?? '—')}\n`).join('');
}
