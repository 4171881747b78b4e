/** An OAuth client registered at the emulator's accounts server. */
export interface EmulatorClient {
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs the consent page may send the user back to. */
  redirectUris: readonly string[];
}

/** A CRM user the emulator knows. Users whose emails share a domain share an org and its leads. */
export interface EmulatorUser {
  email: string;
  firstName: string;
  lastName: string;
}

/** Options of {@link startZohoEmulator}. Where Zoho's sources disagree, an option picks the behaviour. */
export interface ZohoEmulatorOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** `/oauth/v2/auth` redirects at once, as if the user approved. Default false. */
  autoApprove?: boolean;
  /**
   * Serve the test API (`/__emulator/…`: counters, clock, faults, grant codes) to other processes.
   * It answers only requests with `X-Zoho-Emulator: 1` and a JSON content type, sent to its own
   * loopback host and port. Default true; turn it off where the emulator outlives a test run.
   */
  testApi?: boolean;
  /** HTTP status of the throttled "Access Denied" body: 200 per Zoho staff, 400 elsewhere. Default 200. */
  accessDeniedStatus?: 200 | 400;
  /** HTTP status of `{"error":"invalid_redirect_uri"}` (unconfirmed). Default 200. */
  invalidRedirectUriStatus?: 200 | 400;
  /** Active access tokens per refresh token before the oldest is invalidated. Default 15 (one Zoho page says 10). */
  maxActiveAccessTokens?: number;
  /** Lifetime of a grant code. Default 180 000 ms (the accounts docs say 2 minutes). */
  grantCodeTtlMs?: number;
  /**
   * Token responses carry `expires_in` in milliseconds plus `expires_in_sec: 3600`, Zoho's older shape.
   * Default false: `expires_in: 3600` in seconds, as Zoho answers today. Every official Node and
   * TypeScript SDK (`zcrmsdk` 0.x and 1.x through the 8.0 packages) reads both: `expires_in` as ms
   * when `expires_in_sec` is present, else as seconds.
   */
  legacyExpiresShape?: boolean;
  /**
   * Registered clients. Default: only {@link EMULATOR_CLIENT}, which also accepts any `http://localhost`
   * or `http://127.0.0.1` redirect URI (any port and path) so demos on random ports can sign in.
   * Clients given here accept only their listed redirect URIs.
   */
  clients?: readonly EmulatorClient[];
  /** CRM users; the first is the default for grant codes. Default {@link DEFAULT_EMULATOR_USERS}. */
  users?: readonly EmulatorUser[];
  /**
   * A JSON file that keeps the emulator's state across restarts, as Zoho keeps its own: unused grant
   * codes, refresh tokens (client, user, scopes), live access tokens and their expiry, the rate-limit
   * windows, the leads and the clock. Revoked tokens and used codes stay refused. Read on start when it
   * exists (content it did not write → `EmulatorStateError` `CORRUPT_STATE`; a file another user owns
   * or that group or others may write → `UNTRUSTED_FILE`; either way the file is left as it is);
   * written at start, within 100 ms of each change and on `close()`, atomically (a 0600 temporary file
   * renamed over it). Counters and faults are not kept. It holds live tokens: keep it private, and give
   * each running emulator its own.
   * Default: none, the state lives in memory only.
   */
  stateFile?: string;
}

/** The emulator's default client. Its secret is public on purpose: the emulator guards nothing real. */
export const EMULATOR_CLIENT = Object.freeze({
  clientId: '1000.EMULATORCLIENTID',
  clientSecret: 'emulator-client-secret',
  redirectUris: Object.freeze(['http://localhost:3000/oauth/callback'] as const),
} as const);

/** The seeded users: two in the zylker.com org, one in zylkeracademy.com. */
export const DEFAULT_EMULATOR_USERS: readonly EmulatorUser[] = Object.freeze([
  { email: 'ana.lopez@zylker.com', firstName: 'Ana', lastName: 'López' },
  { email: 'ben.carter@zylker.com', firstName: 'Ben', lastName: 'Carter' },
  { email: 'kenji.sato@zylkeracademy.com', firstName: 'Kenji', lastName: 'Sato' },
]);

/** A client as the accounts server checks it. */
export interface RegisteredClient extends EmulatorClient {
  allowLoopbackRedirects: boolean;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  port: number;
  autoApprove: boolean;
  testApi: boolean;
  accessDeniedStatus: 200 | 400;
  invalidRedirectUriStatus: 200 | 400;
  maxActiveAccessTokens: number;
  grantCodeTtlMs: number;
  legacyExpiresShape: boolean;
  clients: readonly RegisteredClient[];
  users: readonly EmulatorUser[];
  stateFile: string | null;
}

/** @throws RangeError for a limit that is not a positive integer, no users, or an empty `stateFile`. */
export function resolveOptions(options: ZohoEmulatorOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = {
    port: options.port ?? 0,
    autoApprove: options.autoApprove ?? false,
    testApi: options.testApi ?? true,
    accessDeniedStatus: options.accessDeniedStatus ?? 200,
    invalidRedirectUriStatus: options.invalidRedirectUriStatus ?? 200,
    maxActiveAccessTokens: options.maxActiveAccessTokens ?? 15,
    grantCodeTtlMs: options.grantCodeTtlMs ?? 180_000,
    legacyExpiresShape: options.legacyExpiresShape ?? false,
    clients: options.clients
      ? options.clients.map((client) => ({ ...client, allowLoopbackRedirects: false }))
      : [{ ...EMULATOR_CLIENT, allowLoopbackRedirects: true }],
    users: options.users ?? DEFAULT_EMULATOR_USERS,
    stateFile: options.stateFile ?? null,
  };
  for (const name of ['maxActiveAccessTokens', 'grantCodeTtlMs'] as const) {
    if (!Number.isInteger(resolved[name]) || resolved[name] <= 0) {
      throw new RangeError(`${name} must be a positive integer`);
    }
  }
  if (resolved.users.length === 0) throw new RangeError('the emulator needs at least one user');
  if (resolved.stateFile !== null && (typeof resolved.stateFile !== 'string' || resolved.stateFile === '')) {
    throw new RangeError('stateFile must be a non-empty path');
  }
  return resolved;
}
