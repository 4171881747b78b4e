import { hasActivityTracking, type PurgeReason, purgeTokens } from '../../index.js';
import { CommandError, ExitCode, UsageError } from '../cli-errors.js';
import { defineCommand } from '../command.js';
import { maskStoreUrl, STORE_OPTION, storeUrlOf, withStore } from '../store-url.js';
import { plural, textTable } from '../text-format.js';
import { parseDuration } from '../time-format.js';

const REASONS: Readonly<Record<PurgeReason, string>> = {
  revoked: 'revoked at Zoho',
  expired: 'expired, no refresh token',
  idle: 'idle',
};

/**
 * `zoho-tokens purge --expired | --idle <dur> | --revoked [--dry-run] [--json]`: deletes the
 * tokens a cleanup policy selects (see `purgeTokens`), and lists them, secrets masked.
 *
 * @example
 * ```ts
 * await runCli(['purge', '--idle', '90d', '--revoked', '--dry-run', '--store', 'sqlite:./zohooauth.db'], io);
 * ```
 */
export const purgeCommand = defineCommand({
  name: 'purge',
  summary: 'delete expired, idle or revoked tokens (--dry-run to preview)',
  help: `Usage: zoho-tokens purge (--expired | --idle DURATION | --revoked)... [--dry-run] [--json] [--store URL]

Deletes from the store the tokens that match any of the policies given, and lists them:
  --expired          the access token has expired and there is no refresh token to renew it
  --idle DURATION    not used for longer than DURATION (such as 90m, 12h, 30d, 8w); the last use
                     is the later of the recorded last use and the last grant or refresh
  --revoked          Zoho refused the refresh token since the token was last granted or refreshed
--idle and --revoked need a store that tracks token activity (every built-in store does); the
TokenManager records it. Zoho is not called: purged tokens are only removed from the store.

Options:
  --store URL   the token store (default: $TOKEN_STORE_URL, else sqlite:./zohooauth.db)
  --dry-run     list what would be purged, delete nothing
  --json        print {"dryRun", "purged": [...], "kept"} instead of text (secrets masked)
  -v, --verbose on failure, also print the cause chain
  -h, --help    show this help
`,
  options: {
    ...STORE_OPTION,
    expired: { type: 'boolean' },
    idle: { type: 'string' },
    revoked: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  async run({ values, io }) {
    const expired = values.expired === true;
    const revoked = values.revoked === true;
    const idleMs = values.idle === undefined ? undefined : parseDuration(values.idle, '--idle');
    if (!expired && !revoked && idleMs === undefined) {
      throw new UsageError('purge needs --expired, --idle DURATION or --revoked (see zoho-tokens purge --help)');
    }
    const dryRun = values['dry-run'] === true;
    const url = storeUrlOf(values.store, io);
    const where = maskStoreUrl(url);
    const result = await withStore(url, io, async (store) => {
      if ((revoked || idleMs !== undefined) && !hasActivityTracking(store)) {
        throw new CommandError(`--idle and --revoked need a store that tracks token activity; ${where} does not`);
      }
      return purgeTokens(store, { expired, revoked, idleMs, dryRun, now: io.now?.() ?? Date.now() });
    });

    if (values.json) {
      io.stdout.write(`${JSON.stringify({ dryRun, ...result }, null, 2)}\n`);
      return ExitCode.OK;
    }
    const count = plural(result.purged.length, 'token');
    const kept = `${dryRun ? 'would keep' : 'kept'} ${plural(result.kept, 'token')}`;
    if (result.purged.length === 0) {
      io.stdout.write(`No tokens to purge in ${where}; ${kept}.\n`);
      return ExitCode.OK;
    }
    io.stdout.write(
      dryRun
        ? `Would purge ${count} from ${where}; ${kept}. Nothing was deleted (--dry-run).\n`
        : `Purged ${count} from ${where}; ${kept}.\n`,
    );
    const rows = result.purged.map((token) => [token.id ?? '—', token.userName ?? '—', REASONS[token.reason]]);
    io.stdout.write(textTable(['ID', 'USER', 'REASON'], rows));
    return ExitCode.OK;
  },
});
