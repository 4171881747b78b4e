import { DATA_CENTERS, type DataCenterCode, DEFAULT_STORE_URL } from 'zoho-token-store';
import { EMULATOR_CLIENT } from 'zoho-token-store/emulator';
import { checkSessionSecret } from './session-key.js';

/**
 * A configuration the portal cannot run with: a variable to fix, named in the message. `npm start`
 * prints it as one line and exits 2.
 *
 * @example
 * ```ts
 * if (!/^\d+$/.test(text)) throw new PortalConfigError('PORT must be a port number (0-65535)');
 * ```
 */
export class PortalConfigError extends Error {
  override readonly name = 'PortalConfigError';
}

/**
 * `EADDRINUSE` from `listen` as a {@link PortalConfigError} naming the server and the variable
 * that moves it; any other error as it is.
 *
 * @example
 * ```ts
 * server.once('error', (error) => reject(portInUse(error, 'the portal', '127.0.0.1', 3000, 'PORT')));
 * ```
 */
export function portInUse(error: unknown, server: string, host: string, port: number, variable: string): unknown {
  if ((error as { code?: unknown } | null)?.code !== 'EADDRINUSE') return error;
  return new PortalConfigError(
    `${server} cannot listen on ${host}:${port}, another program uses that port: set ${variable} to a free port`,
    { cause: error },
  );
}

/** The OAuth client the portal signs users in with. */
export interface PortalClient {
  clientId: string;
  clientSecret: string;
}

/** Which Zoho the portal talks to. */
export type ZohoTarget =
  /**
   * The emulator: started in this process when `url` is null, else one running at `url`. `testApi`:
   * the in-process one serves its test API (`EMULATOR_TEST_API=1`), off by default.
   */
  | { kind: 'emulator'; url: string | null; port: number; testApi: boolean; client: PortalClient }
  /** Zoho itself, in a data center; a user of another data center is sent back with theirs. */
  | { kind: 'zoho'; dataCenter: DataCenterCode; client: PortalClient };

/** Everything `npm start` reads from the environment. */
export interface PortalConfig {
  /** `PORT`, default 3000; 0 picks a free port. */
  port: number;
  /** `HOST` to listen on, default 127.0.0.1: a demo is not for the network. */
  host: string;
  /** `PORTAL_URL`, the origin browsers reach the portal at; null means `http://localhost:<port>`. */
  publicUrl: string | null;
  /** `ZOHO_REDIRECT_URL`; null means `<publicUrl>/oauth/callback`. */
  redirectUrl: string | null;
  /** `TOKEN_STORE_URL`, default {@link DEFAULT_STORE_URL} (SQLite in ./zohooauth.db). */
  storeUrl: string;
  /** `SESSION_SECRET`; unset means a key file beside the token database. */
  sessionSecret: string | undefined;
  /** `PORTAL_ADMINS`, lower-cased emails; null when unset. */
  admins: readonly string[] | null;
  zoho: ZohoTarget;
  /** Settings that are set but have no effect, one line each, for `npm start` to print. */
  warnings?: readonly string[];
}

/**
 * Reads the portal's configuration. With nothing set it runs on the emulator, started in-process;
 * `ZOHO_CLIENT_ID` and `ZOHO_CLIENT_SECRET` switch to real Zoho (`ZOHO_DC`, default US);
 * `ZOHO_ACCOUNTS_URL` points at an emulator running elsewhere (its client unless one is given).
 *
 * `ZOHO_DC` set while the portal runs on the emulator has no effect: a warning says so (it may be
 * meant for the CLI, so it does not stop the portal).
 *
 * @throws PortalConfigError with a message naming the variable to fix.
 * @example
 * ```ts
 * const config = portalConfigFromEnv({ PORT: '8080', ZOHO_ACCOUNTS_URL: 'http://127.0.0.1:8085' });
 * config.zoho.kind; // 'emulator'
 * ```
 */
export function portalConfigFromEnv(env: Record<string, string | undefined>): PortalConfig {
  const value = (name: string) => (env[name]?.trim() ? env[name].trim() : undefined);
  const clientId = value('ZOHO_CLIENT_ID');
  const clientSecret = value('ZOHO_CLIENT_SECRET');
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    throw new PortalConfigError('set both ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET, or neither (to use the emulator)');
  }
  const client = clientId && clientSecret ? { clientId, clientSecret } : null;
  const accountsUrl = value('ZOHO_ACCOUNTS_URL');
  const redirectUrl = value('ZOHO_REDIRECT_URL') ?? null;
  if (redirectUrl !== null) absoluteUrl(redirectUrl, 'ZOHO_REDIRECT_URL');
  const publicUrl = value('PORTAL_URL') ?? (redirectUrl === null ? null : new URL(redirectUrl).origin);

  const portalPort = port(value('PORT') ?? '3000', 'PORT');
  const sessionSecret = value('SESSION_SECRET');
  if (sessionSecret !== undefined) {
    try {
      checkSessionSecret(sessionSecret);
    } catch (error) {
      throw new PortalConfigError((error as Error).message);
    }
  }
  const warnings: string[] = [];

  let zoho: ZohoTarget;
  if (client && accountsUrl === undefined) {
    zoho = { kind: 'zoho', dataCenter: dataCenter(value('ZOHO_DC') ?? 'US'), client };
  } else {
    if (value('ZOHO_DC') !== undefined) {
      warnings.push(
        `ZOHO_DC is ignored: the portal runs on the Zoho emulator${accountsUrl === undefined ? '' : ' at ZOHO_ACCOUNTS_URL'}; ` +
          'for a Zoho data center set ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET' +
          (accountsUrl === undefined ? '' : ' and unset ZOHO_ACCOUNTS_URL'),
      );
    }
    const emulatorClient = { clientId: EMULATOR_CLIENT.clientId, clientSecret: EMULATOR_CLIENT.clientSecret };
    zoho = {
      kind: 'emulator',
      url: accountsUrl === undefined ? null : absoluteUrl(accountsUrl, 'ZOHO_ACCOUNTS_URL'),
      // A fixed port by default: stored tokens name the emulator as their API domain, so it must be
      // found at the same address after a restart.
      port: port(
        value('EMULATOR_PORT') ?? String(portalPort === 0 || portalPort === 65_535 ? 0 : portalPort + 1),
        'EMULATOR_PORT',
      ),
      // Its clock and faults are for tests that drive the portal, never for a portal left running.
      testApi: value('EMULATOR_TEST_API') === '1',
      client: client ?? emulatorClient,
    };
  }
  return {
    port: portalPort,
    host: value('HOST') ?? '127.0.0.1',
    publicUrl: publicUrl === null ? null : new URL(absoluteUrl(publicUrl, 'PORTAL_URL')).origin,
    redirectUrl,
    storeUrl: value('TOKEN_STORE_URL') ?? DEFAULT_STORE_URL,
    sessionSecret,
    admins:
      value('PORTAL_ADMINS')
        ?.split(',')
        .map((email) => email.trim().toLowerCase())
        .filter((email) => email.length > 0) ?? null,
    zoho,
    warnings,
  };
}

function port(text: string, name: string): number {
  const number = Number(text);
  if (!/^\d+$/.test(text) || number > 65_535) throw new PortalConfigError(`${name} must be a port number (0-65535)`);
  return number;
}

function dataCenter(text: string): DataCenterCode {
  const code = text.toUpperCase();
  if (!Object.hasOwn(DATA_CENTERS, code)) {
    throw new PortalConfigError(`ZOHO_DC must be one of ${Object.keys(DATA_CENTERS).join(', ')}`);
  }
  return code as DataCenterCode;
}

function absoluteUrl(text: string, name: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw new PortalConfigError(`${name} must be an absolute http(s) URL`);
  }
  return text.replace(/\/+$/, '');
}
