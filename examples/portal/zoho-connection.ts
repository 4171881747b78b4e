import { dirname, join } from 'node:path';
import {
  type ClientCredentials,
  customEnvironment,
  dataCenterOf,
  type Environment,
  environmentFor,
  environmentFromRedirect,
  OAuthError,
  OAuthErrorCode,
  type TokenLike,
} from 'zoho-token-store';
import { startZohoEmulator } from 'zoho-token-store/emulator';
import { portInUse, type ZohoTarget } from './portal-config.js';
import { sessionKeyPath } from './session-key.js';

const EMULATOR_STATE_FILE = 'zoho-emulator-state.json';

/**
 * Where the in-process emulator keeps its state: beside the token database for `sqlite:` and `file:`
 * store URLs (as the session key), else in the working directory. The tokens the store holds are only
 * good while the emulator that issued them remembers them, as with Zoho.
 *
 * @example
 * ```ts
 * emulatorStatePath('sqlite:./data/zohooauth.db'); // 'data/zoho-emulator-state.json'
 * ```
 */
export function emulatorStatePath(storeUrl: string): string {
  return join(dirname(sessionKeyPath(storeUrl)), EMULATOR_STATE_FILE);
}

/** Options of {@link connectZoho}. */
export interface ZohoConnectionOptions {
  /** The state file of an emulator started in this process; without one it forgets its tokens when it stops. */
  emulatorStateFile?: string;
}

/** The Zoho the portal talks to: where to send users, where to exchange and refresh. */
export interface ZohoConnection {
  /** For the startup line, such as `the Zoho emulator at http://127.0.0.1:41234`. */
  readonly label: string;
  /** True for the emulator: everything is local and nothing real is at stake. */
  readonly isEmulator: boolean;
  /** The state file of the emulator started in this process, which keeps its tokens across restarts; else null. */
  readonly emulatorStateFile: string | null;
  /** The configured environment: where sign-in starts. */
  readonly environment: Environment;
  /** The portal's OAuth client, with its redirect URI. */
  readonly client: ClientCredentials & { redirectUri: string };
  /**
   * Where the grant code of this OAuth redirect must be exchanged: the data center named by its
   * `accounts-server` (or `location`). With the emulator, only the emulator itself.
   *
   * @throws OAuthError `UNKNOWN_DATA_CENTER` for a server the portal must not send its secret to.
   */
  environmentOfRedirect(query: URLSearchParams): Environment;
  /** Where a stored token refreshes and revokes: its API domain's data center, else the configured one. */
  environmentOf(token: TokenLike): Environment;
  /** Stops an emulator started for the portal. */
  close(): Promise<void>;
}

/**
 * Connects to the configured Zoho, starting the emulator in this process when asked to.
 *
 * @throws EmulatorStateError (from `zoho-token-store/emulator`) when the emulator's state file is corrupt
 * or cannot be written.
 * @example
 * ```ts
 * const config = portalConfigFromEnv(process.env);
 * const zoho = await connectZoho(config.zoho, 'http://localhost:3000/oauth/callback', {
 *   emulatorStateFile: emulatorStatePath(config.storeUrl),
 * });
 * console.log(`talking to ${zoho.label}`);
 * ```
 */
export async function connectZoho(
  target: ZohoTarget,
  redirectUri: string,
  options: ZohoConnectionOptions = {},
): Promise<ZohoConnection> {
  const client = { ...target.client, redirectUri };
  if (target.kind === 'zoho') {
    const environment = environmentFor(target.dataCenter);
    return {
      label: `Zoho (${target.dataCenter} data center, ${environment.accountsUrl})`,
      isEmulator: false,
      emulatorStateFile: null,
      environment,
      client,
      environmentOfRedirect: (query) => environmentFromRedirect(redirectParams(query)),
      environmentOf: (token) => dataCenterEnvironment(token) ?? environment,
      close: async () => {},
    };
  }

  const stateFile = target.url === null ? (options.emulatorStateFile ?? null) : null;
  const emulator =
    target.url === null
      ? await startZohoEmulator({
          port: target.port,
          testApi: target.testApi,
          ...(stateFile === null ? {} : { stateFile }),
        }).catch((error: unknown) => {
          throw portInUse(error, 'the Zoho emulator', '127.0.0.1', target.port, 'EMULATOR_PORT (default: PORT + 1)');
        })
      : null;
  const url = emulator?.url ?? (target.url as string);
  const environment = customEnvironment({ accountsUrl: url, apiBaseUrl: url, name: 'Zoho emulator' });
  return {
    label: `the ${emulator ? 'local ' : ''}Zoho emulator at ${environment.accountsUrl}`,
    isEmulator: true,
    emulatorStateFile: stateFile,
    environment,
    client,
    environmentOfRedirect(query) {
      const from = environmentFromRedirect(redirectParams(query), 'production', { allowCustomAccountsServer: true });
      // The redirect is the browser's to forge: the client secret goes to our emulator and nowhere else.
      if (from.accountsUrl !== environment.accountsUrl) {
        throw new OAuthError(OAuthErrorCode.UNKNOWN_DATA_CENTER, 'The OAuth redirect names another accounts server');
      }
      return environment;
    },
    environmentOf: () => environment,
    close: async () => {
      await emulator?.close();
    },
  };
}

function redirectParams(query: URLSearchParams) {
  return { location: query.get('location'), accountsServer: query.get('accounts-server') };
}

function dataCenterEnvironment(token: TokenLike): Environment | null {
  const dataCenter = dataCenterOf(token.getAPIDomain() ?? '');
  return dataCenter === null ? null : environmentFor(dataCenter);
}
