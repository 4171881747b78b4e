import { DATA_CENTERS, type DataCenterCode, DEFAULT_STORE_URL } from 'zoho-token-store';
import { EMULATOR_CLIENT } from 'zoho-token-store/emulator';
import { checkSessionSecret } from './session-key.js';

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
}

/**
 * Reads the portal's configuration. With nothing set it runs on the emulator, started in-process;
 * `ZOHO_CLIENT_ID` and `ZOHO_CLIENT_SECRET` switch to real Zoho (`ZOHO_DC`, default US);
 * `ZOHO_ACCOUNTS_URL` points at an emulator running elsewhere (its client unless one is given).
 *
 * @throws Error with a message naming the variable to fix.
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
    throw new Error('set both ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET, or neither (to use the emulator)');
  }
  const client = clientId && clientSecret ? { clientId, clientSecret } : null;
  const accountsUrl = value('ZOHO_ACCOUNTS_URL');
  const redirectUrl = value('ZOHO_REDIRECT_URL') ?? null;
  if (redirectUrl !== null) absoluteUrl(redirectUrl, 'ZOHO_REDIRECT_URL');
  const publicUrl = value('PORTAL_URL') ?? (redirectUrl === null ? null : new URL(redirectUrl).origin);

  const portalPort = port(value('PORT') ?? '3000', 'PORT');
  const sessionSecret = value('SESSION_SECRET');
  if (sessionSecret !== undefined) checkSessionSecret(sessionSecret);

  let zoho: ZohoTarget;
  if (client && accountsUrl === undefined) {
    zoho = { kind: 'zoho', dataCenter: dataCenter(value('ZOHO_DC') ?? 'US'), client };
  } else {
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
  };
}

function port(text: string, name: string): number {
  const number = Number(text);
  if (!/^\d+$/.test(text) || number > 65_535) throw new Error(`${name} must be a port number (0-65535)`);
  return number;
}

function dataCenter(text: string): DataCenterCode {
  const code = text.toUpperCase();
  if (!Object.hasOwn(DATA_CENTERS, code)) {
    throw new Error(`ZOHO_DC must be one of ${Object.keys(DATA_CENTERS).join(', ')}`);
  }
  return code as DataCenterCode;
}

function absoluteUrl(text: string, name: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) {
    throw new Error(`${name} must be an absolute http(s) URL`);
  }
  return text.replace(/\/+$/, '');
}
