import {
  customEnvironment,
  DATA_CENTERS,
  type DataCenterCode,
  dataCenterOf,
  type Environment,
  environmentFor,
} from '../index.js';
import { CommandError, UsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';
import { printable } from './text-format.js';

/**
 * `--dc` and `--accounts-url`, for the commands that talk to Zoho's accounts server.
 *
 * @example
 * ```ts
 * defineCommand({ name: 'revoke', options: { ...STORE_OPTION, ...ZOHO_OPTIONS }, … });
 * ```
 */
export const ZOHO_OPTIONS = { dc: { type: 'string' }, 'accounts-url': { type: 'string' } } as const;

/**
 * Picks the Zoho accounts server for a token, from its API domain. Made by {@link accountsServerFor}.
 *
 * @example
 * ```ts
 * const environment = pickAccountsServer(token.getAPIDomain()); // the EU server for https://www.zohoapis.eu
 * ```
 */
export type AccountsServerPicker = (apiDomain: string | null) => Environment;

/**
 * Checks `--dc`, `--accounts-url` and `ZOHO_DC` at once (so a bad one is a usage error before
 * anything is opened) and returns how to pick the accounts server for a token:
 * `--accounts-url` (a custom server such as the local emulator), else the data center of the
 * token's API domain, else `--dc`, else `ZOHO_DC`, else US. A token knows where Zoho issued it: a
 * `--dc` naming another data center fails rather than ask a server that does not know the token,
 * whose "unknown token" would read as already revoked.
 *
 * @throws UsageError for an unknown data center, both options at once, or an unusable URL.
 *
 * @example
 * ```ts
 * const pick = accountsServerFor({ dc: 'EU' }, io);
 * await revokeRefreshToken(pick(token.getAPIDomain()), refreshToken);
 * ```
 */
export function accountsServerFor(
  values: { dc?: string | undefined; 'accounts-url'?: string | undefined },
  io: CliIo,
): AccountsServerPicker {
  const accountsUrl = values['accounts-url'];
  if (accountsUrl !== undefined) {
    if (values.dc !== undefined) throw new UsageError('give --dc or --accounts-url, not both');
    let custom: Environment;
    try {
      custom = customEnvironment({ accountsUrl, apiBaseUrl: accountsUrl, name: 'custom accounts server' });
    } catch (error) {
      throw new UsageError(`--accounts-url: ${(error as Error).message.replace(/^accountsUrl /, '')}`);
    }
    return () => custom;
  }
  const given = values.dc === undefined ? undefined : dataCenterCode(values.dc, '--dc');
  const fallback = given ?? dataCenterCode(io.env.ZOHO_DC ?? 'US', 'ZOHO_DC');
  return (apiDomain) => {
    const own = apiDomain === null ? null : dataCenterOf(apiDomain);
    if (own !== null && given !== undefined && own !== given) {
      throw new CommandError(
        `the token's API domain ${printable(apiDomain ?? '')} is in the ${own} data center, not ${given}: drop --dc`,
      );
    }
    return environmentFor(own ?? fallback);
  };
}

function dataCenterCode(text: string, source: string): DataCenterCode {
  const code = text.toUpperCase();
  if (!Object.hasOwn(DATA_CENTERS, code)) {
    throw new UsageError(`${source} must be one of ${Object.keys(DATA_CENTERS).join(', ')}`);
  }
  return code as DataCenterCode;
}
