import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ACCESS_DENIED_BODY, handleAuth, handleRevoke, handleToken } from './accounts-routes.js';
import { AccountsState } from './accounts-state.js';
import { createClock, type EmulatorClock } from './clock.js';
import type { EmulatorContext } from './context.js';
import { CrmDirectory } from './crm-directory.js';
import { handleCrm } from './crm-routes.js';
import { crmPathOf } from './crm-versions.js';
import { type EmulatorFault, FaultList } from './faults.js';
import { BodyTooLargeError, json, type ParsedRequest, parseRequest, type Reply, send } from './http-io.js';
import { resolveOptions, type ZohoEmulatorOptions } from './options.js';
import { parseScopes } from './scopes.js';
import { readStateFile, type SavedState, StateSaver } from './state-file.js';
import { handleTestApi } from './test-api-routes.js';

/** Scopes of codes from {@link ZohoEmulator.issueGrantCode} unless told otherwise: enough for the official SDK. */
export const DEFAULT_EMULATOR_SCOPE = 'ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ';

/** Options of {@link ZohoEmulator.issueGrantCode}. */
export interface GrantCodeOptions {
  /** Default: the first registered client. */
  clientId?: string;
  /** Default: the first user. */
  userEmail?: string;
  /** Comma-separated. Default {@link DEFAULT_EMULATOR_SCOPE}. */
  scope?: string;
  /** Default `offline`: the exchange then yields a refresh token. */
  accessType?: 'offline' | 'online';
  /** Default: the client's first registered redirect URI. The exchange must send the same one. */
  redirectUri?: string;
  /**
   * A code as a self client makes it in Zoho's API console: tied to no redirect URI, so its exchange
   * needs none (one sent is ignored). Not with `redirectUri`. Default false.
   */
  selfClient?: boolean;
}

/** A running emulator of Zoho's accounts server and a slice of the CRM API, versions v2, v2.1 and v3 to v8. */
export interface ZohoEmulator {
  /**
   * `http://127.0.0.1:PORT`: accounts (`/oauth/v2/…`) and CRM (`/crm/v2/…` … `/crm/v8/…`, see
   * `CRM_VERSIONS`); also the `api_domain` it hands out.
   */
  readonly url: string;
  /**
   * Starts at `Date.now()` (with a `stateFile`, at its saved time if that is later) and moves only when
   * told to; every expiry and rate limit follows it.
   */
  readonly clock: EmulatorClock;
  /**
   * Requests per endpoint since the last reset, faulted ones included: `auth` (consent page),
   * `auth.decision` (its form), `token.authorization_code`, `token.refresh_token`,
   * `token.client_credentials`, `token.other`,
   * `revoke`, `crm.users`, `crm.org`, `crm.settings.modules`, `crm.settings.fields`, `crm.leads`,
   * `crm.other`, each summed over the CRM API versions.
   */
  counters(): Record<string, number>;
  resetCounters(): void;
  /** Makes the next matching requests fail; faults apply before normal handling. @throws RangeError for a bad fault. */
  injectFault(fault: EmulatorFault): void;
  clearFaults(): void;
  /**
   * Skips the browser: a grant code as `/oauth/v2/auth` would issue after approval. Not subject to the
   * 10-codes-per-10-minutes limit of the consent page.
   *
   * @throws Error for an unknown client or user, a redirect URI the client did not register (or one
   * given with `selfClient`), or no scope.
   */
  issueGrantCode(options?: GrantCodeOptions): string;
  /**
   * Stops the server and drops open connections, keep-alive ones included; then writes the `stateFile`.
   *
   * @throws EmulatorStateError `STATE_FILE_FAILURE` when the state file cannot be written.
   */
  close(): Promise<void>;
}

function counterName(req: ParsedRequest): string | undefined {
  const path = req.url.pathname;
  const grantType = req.params.get('grant_type');
  if (path === '/oauth/v2/auth' && !(req.method === 'POST' && grantType === 'client_credentials')) {
    return req.method === 'POST' ? 'auth.decision' : 'auth';
  }
  if (path === '/oauth/v2/token' || path === '/oauth/v2/auth') {
    return grantType === 'authorization_code' || grantType === 'refresh_token' || grantType === 'client_credentials'
      ? `token.${grantType}`
      : 'token.other';
  }
  if (path === '/oauth/v2/token/revoke') return 'revoke';
  const crm = crmPathOf(path);
  const endpoint = crm && /^\/(users|org|settings\/modules|settings\/fields|leads)$/i.exec(crm.rest);
  if (endpoint) return `crm.${(endpoint[1] as string).toLowerCase().replace('/', '.')}`;
  return path.startsWith('/crm/') ? 'crm.other' : undefined;
}

function route(ctx: EmulatorContext, req: ParsedRequest): Reply {
  const path = req.url.pathname;
  if (path === '/oauth/v2/auth') return handleAuth(ctx, req);
  if (path === '/oauth/v2/token') return handleToken(ctx, req);
  if (path === '/oauth/v2/token/revoke') return handleRevoke(ctx, req);
  if (path.startsWith('/crm/')) return handleCrm(ctx, req);
  return json(404, { error: 'not_found' });
}

const stringOption = (options: GrantCodeOptions, name: keyof GrantCodeOptions): string | undefined => {
  const value = options[name];
  if (value !== undefined && typeof value !== 'string') throw new TypeError(`${name} must be a string`);
  return value;
};

/**
 * Starts the emulator on 127.0.0.1. It never logs tokens or secrets (it does not log at all).
 * With `stateFile`, tokens issued before a restart keep working after it.
 *
 * @throws EmulatorStateError when the `stateFile` is corrupt, unreadable or cannot be written.
 * @example
 * ```ts
 * const emulator = await startZohoEmulator();
 * const code = emulator.issueGrantCode({ userEmail: 'ana.lopez@zylker.com' });
 * // POST `${emulator.url}/oauth/v2/token` with EMULATOR_CLIENT's id and secret, then call `${emulator.url}/crm/v8/…`.
 * const selfClientCode = emulator.issueGrantCode({ selfClient: true }); // exchanged without redirect_uri
 * await emulator.close();
 *
 * // Tokens survive a restart:
 * const kept = await startZohoEmulator({ stateFile: 'zoho-emulator-state.json' });
 * await kept.close();
 * ```
 */
export async function startZohoEmulator(options: ZohoEmulatorOptions = {}): Promise<ZohoEmulator> {
  const resolved = resolveOptions(options);
  const saved = resolved.stateFile === null ? null : await readStateFile(resolved.stateFile);
  // Time passes while the emulator is down, and a clock a test moved ahead stays ahead.
  const clock = createClock(Math.max(Date.now(), saved?.clock ?? 0));
  const accounts = new AccountsState(resolved, clock);
  const directory = new CrmDirectory(resolved.users, clock);
  if (saved) {
    accounts.restore(saved.accounts);
    directory.restore(saved.crm);
  }
  const snapshot = (): SavedState => ({
    version: 1,
    clock: clock.now(),
    accounts: accounts.snapshot(),
    crm: directory.snapshot(),
  });
  const saver = resolved.stateFile === null ? null : new StateSaver(resolved.stateFile, snapshot);
  // Moving the clock expires tokens and closes rate windows: that is a change to save too.
  const emulatorClock: EmulatorClock = {
    now: () => clock.now(),
    advance(ms) {
      clock.advance(ms);
      saver?.schedule();
    },
    set(ms) {
      clock.set(ms);
      saver?.schedule();
    },
  };
  const faults = new FaultList();
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let url = '';
  const ctx: EmulatorContext = {
    get url() {
      return url;
    },
    options: resolved,
    clock: emulatorClock,
    accounts,
    directory,
  };

  const emulator: ZohoEmulator = {
    get url() {
      return url;
    },
    clock: emulatorClock,
    counters: () => Object.fromEntries(counts),
    resetCounters: () => counts.clear(),
    injectFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    issueGrantCode(grant = {}) {
      const clientId = stringOption(grant, 'clientId') ?? resolved.clients[0]?.clientId;
      const client = accounts.client(clientId);
      if (!client) throw new Error('issueGrantCode: unknown clientId');
      const user = directory.user(stringOption(grant, 'userEmail') ?? directory.allUsers()[0]?.email ?? '');
      if (!user) throw new Error('issueGrantCode: unknown userEmail');
      const selfClient = grant.selfClient ?? false;
      if (typeof selfClient !== 'boolean') throw new TypeError('selfClient must be a boolean');
      if (selfClient && grant.redirectUri !== undefined) {
        throw new Error('issueGrantCode: a self-client code has no redirectUri');
      }
      const redirectUri = selfClient ? null : (stringOption(grant, 'redirectUri') ?? client.redirectUris[0]);
      if (redirectUri === undefined || (redirectUri !== null && !accounts.redirectAllowed(client, redirectUri))) {
        throw new Error('issueGrantCode: the client did not register that redirectUri');
      }
      const scopes = parseScopes(stringOption(grant, 'scope') ?? DEFAULT_EMULATOR_SCOPE);
      if (scopes.length === 0) throw new Error('issueGrantCode: no scope');
      const accessType = stringOption(grant, 'accessType') ?? 'offline';
      if (accessType !== 'offline' && accessType !== 'online') {
        throw new Error('issueGrantCode: accessType must be offline or online');
      }
      const request = { clientId: client.clientId, userEmail: user.email, scopes, accessType, redirectUri } as const;
      const code = accounts.issueCode(request, { throttle: false }) as string;
      saver?.schedule();
      return code;
    },
    close,
  };

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  /** The reply to a request, or null when a fault drops the connection. */
  async function answer(req: IncomingMessage): Promise<Reply | null> {
    const parsed = await parseRequest(req, url);
    if (parsed.url.pathname.startsWith('/__emulator/')) {
      return resolved.testApi ? handleTestApi(emulator, parsed) : json(404, { error: 'not_found' });
    }
    const name = counterName(parsed);
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
    const fault = faults.take(parsed.url.pathname);
    switch (fault?.kind) {
      case 'drop':
        return null;
      case 'status':
        return json(fault.status, { code: 'INTERNAL_ERROR', details: {}, message: 'emulated fault', status: 'error' });
      case 'access-denied':
        return json(resolved.accessDeniedStatus, ACCESS_DENIED_BODY);
      case 'latency':
        await delay(fault.latencyMs);
    }
    const reply = route(ctx, parsed);
    // Most requests change nothing; the saver writes only when the state differs.
    saver?.schedule();
    return reply;
  }

  const server = createServer((req, res) => {
    answer(req)
      .catch((error: unknown) =>
        // The error's message is not sent: it could quote a request value.
        error instanceof BodyTooLargeError
          ? json(413, { error: 'request_too_large' })
          : json(500, { code: 'INTERNAL_ERROR', details: {}, message: 'emulator error', status: 'error' }),
      )
      .then((reply) => {
        if (reply === null) req.socket.destroy();
        else if (!res.destroyed) send(res, reply);
      });
  });

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    }).then(() => saver?.flush());
    return closing;
  }

  // Before listening: a state file that cannot be written fails the start, not a later save.
  await saver?.flush();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return emulator;
}
