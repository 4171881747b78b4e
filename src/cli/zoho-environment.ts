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
 * anything is opened) and returns how to pick the accounts server for a token, which acts on it
 * where it came from: `--accounts-url` when given; else, by the token's API domain, its Zoho data
 * center, or the emulator it names (an API domain on this machine: the emulator serves its accounts
 * server at its API domain); else, for a token without an API domain, `--dc`, `ZOHO_DC` or US.
 * A `--dc` naming another place than the token's fails rather than ask a server that does not know
 * the token, whose "unknown token" would read as already revoked; so does an API domain that is
 * neither, with a hint to give `--accounts-url`.
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
      custom = customEnvironment({ accountsUrl, apiBaseUrl: accountsUrl, name: printable(accountsUrl) });
    } catch (error) {
      throw new UsageError(`--accounts-url: ${(error as Error).message.replace(/^accountsUrl /, '')}`);
    }
    return () => custom;
  }
  const given = values.dc === undefined ? undefined : dataCenterCode(values.dc, '--dc');
  const fallback = given ?? dataCenterCode(io.env.ZOHO_DC ?? 'US', 'ZOHO_DC');
  return (apiDomain) => {
    if (!apiDomain) return environmentFor(fallback);
    const own = dataCenterOf(apiDomain);
    const emulator = own === null ? emulatorAt(apiDomain) : null;
    if (own === null && emulator === null) {
      throw new CommandError(`the token's API domain ${printable(apiDomain)} is no Zoho data center`, {
        hint: 'give --accounts-url URL of the accounts server that issued it',
      });
    }
    if (given !== undefined && own !== given) {
      throw new CommandError(
        `the token's API domain ${printable(apiDomain)} is ${own === null ? 'an emulator' : `in the ${own} data center`}, not ${given}`,
        { hint: 'drop --dc' },
      );
    }
    return emulator ?? environmentFor(own as DataCenterCode);
  };
}

/** The emulator whose API domain (and accounts server) this is: an http(s) origin on loopback, else null. */
function emulatorAt(apiDomain: string): Environment | null {
  try {
    const origin = new URL(apiDomain).origin;
    // customEnvironment takes plain http on loopback only, so a remote http origin throws here.
    const environment = customEnvironment({
      accountsUrl: origin,
      apiBaseUrl: origin,
      name: `the emulator at ${origin}`,
    });
    return /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/.test(new URL(origin).hostname) ? environment : null;
  } catch {
    return null;
  }
}

function dataCenterCode(text: string, source: string): DataCenterCode {
  const code = text.toUpperCase();
  if (!Object.hasOwn(DATA_CENTERS, code)) {
    throw new UsageError(`${source} must be one of ${Object.keys(DATA_CENTERS).join(', ')}`);
  }
  return code as DataCenterCode;
}
