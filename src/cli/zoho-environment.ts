import { customEnvironment, DATA_CENTERS, type DataCenterCode, type Environment, environmentFor } from '../index.js';
import { UsageError } from './cli-errors.js';
import type { CliIo } from './cli-io.js';

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
 * The Zoho environment to call: `--accounts-url` (an accounts server such as the local emulator),
 * else the data center of `--dc`, else of `ZOHO_DC`, else US.
 *
 * @throws UsageError for an unknown data center, both options at once, or an unusable URL.
 *
 * @example
 * ```ts
 * const environment = zohoEnvironmentOf({ dc: 'EU' }, io); // accounts.zoho.eu
 * await revokeRefreshToken(environment, refreshToken);
 * ```
 */
export function zohoEnvironmentOf(
  values: { dc?: string | undefined; 'accounts-url'?: string | undefined },
  io: CliIo,
): Environment {
  const accountsUrl = values['accounts-url'];
  if (accountsUrl !== undefined) {
    if (values.dc !== undefined) throw new UsageError('give --dc or --accounts-url, not both');
    try {
      return customEnvironment({ accountsUrl, apiBaseUrl: accountsUrl, name: 'custom accounts server' });
    } catch (error) {
      throw new UsageError(`--accounts-url: ${(error as Error).message.replace(/^accountsUrl /, '')}`);
    }
  }
  const code = (values.dc ?? io.env.ZOHO_DC ?? 'US').toUpperCase();
  if (!Object.hasOwn(DATA_CENTERS, code)) {
    const source = values.dc === undefined ? 'ZOHO_DC' : '--dc';
    throw new UsageError(`${source} must be one of ${Object.keys(DATA_CENTERS).join(', ')}`);
  }
  return environmentFor(code as DataCenterCode);
}
