import { ExitCode } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { isSealed, sealedWarning } from '../sealed-tokens.js';
import { noSuchToken, STORE_OPTION, storeUrlOf, withStore } from '../store-url.js';
import { printable } from '../text-format.js';
import { describeExpiry, describeMoment } from '../time-format.js';
import { activityOf, expiryOf, type TokenView, viewOf } from '../token-view.js';

/**
 * `zoho-tokens show <id>`: one token, secrets masked, with its activity.
 *
 * @example
 * ```ts
 * await runCli(['show', '1234567890', '--json'], io);
 * ```
 */
export const showCommand = defineCommand({
  name: 'show',
  summary: 'show one token, secrets masked, with its activity',
  help: `Usage: zoho-tokens show <id> [--store URL] [--json]

Shows one token: user, client, expiry, API domain, redirect URL, last use and revocation (when the
store tracks them) and its secrets, masked.

Options:
  --store URL   the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --json        print a JSON object instead (still masked)
  -v, --verbose on failure, also print the cause chain
  -h, --help    show this help
`,
  options: { ...STORE_OPTION, json: { type: 'boolean' } },
  positionals: { min: 1, max: 1, names: 'a token id' },
  async run({ values, positionals, io }) {
    const id = positionals[0] as string;
    const url = storeUrlOf(values.store, io);
    const now = io.now?.() ?? Date.now();
    const token = await withStore(
      url,
      io,
      async (store) => {
        const found = await store.findTokenById(id);
        return found && { view: viewOf(found, await activityOf(store), now), sealed: isSealed(found) };
      },
      { showSealed: true },
    );
    if (token === null) throw noSuchToken(id, url);
    const { view, sealed } = token;
    io.stderr.write(sealedWarning(sealed ? 1 : 0));
    io.stdout.write(values.json ? `${JSON.stringify(view, null, 2)}\n` : detailsOf(view, now));
    return ExitCode.OK;
  },
});

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
