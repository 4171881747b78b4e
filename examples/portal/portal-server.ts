import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openStore, type TokenLike } from 'zoho-token-store';
import { EMULATOR_CLIENT } from 'zoho-token-store/emulator';
import { adminDelete, adminRevoke, admin as adminRoute } from './admin-routes.js';
import { dashboard } from './dashboard-route.js';
import { errorReply, notFoundReply } from './error-replies.js';
import { type Reply, readForm, sendReply } from './http-reply.js';
import { type PortalConfig, portInUse } from './portal-config.js';
import type { PortalContext, PortalRequest, Route } from './portal-context.js';
import { loadSessionKey, sessionKeyPath } from './session-key.js';
import { Sessions } from './sessions.js';
import { finishSignIn, home, signOut, startSignIn } from './sign-in-routes.js';
import { SignedValues } from './signed-values.js';
import { UserTokens } from './user-tokens.js';
import { connectZoho, emulatorStatePath } from './zoho-connection.js';

/** Options of {@link startPortal} that are not configuration. */
export interface PortalOptions {
  /** Where the portal's log lines go. Default `console.log`. */
  log?: (line: string) => void;
  /** The `keys` option of `openStore` (encrypted stores), from `ZOHO_TOKEN_KEY`; passed only when set. */
  keys?: string | undefined;
}

/** A running portal. */
export interface RunningPortal {
  /** The origin browsers use, such as `http://localhost:3000`. */
  readonly url: string;
  /** What the routes work with: the store, the Zoho connection, the users' token managers. */
  readonly context: PortalContext;
  /** Which store holds the tokens, safe to print: `sqlite ./zohooauth.db`, `postgres on db:5432`. */
  readonly storeLabel: string;
  /** Stops taking requests, then closes the store and any emulator started for the portal. */
  close(): Promise<void>;
}

/**
 * Starts the "Login with Zoho" portal: opens the token store, loads the session key, connects to
 * Zoho (starting the emulator in this process when configured so) and listens.
 *
 * @example
 * ```ts
 * const portal = await startPortal(portalConfigFromEnv(process.env));
 * console.log(`portal on ${portal.url}`);
 * await portal.close();
 * ```
 */
export async function startPortal(config: PortalConfig, options: PortalOptions = {}): Promise<RunningPortal> {
  const log = options.log ?? console.log;
  const sessionKey = loadSessionKey({ secret: config.sessionSecret, file: sessionKeyPath(config.storeUrl) });
  const store = await openStore<TokenLike>(config.storeUrl, options.keys ? { keys: options.keys } : {});
  const server = createServer();
  const cleanup: Array<() => Promise<void>> = [() => store.close()];
  try {
    await listen(server, config.port, config.host);
    const url = config.publicUrl ?? `http://localhost:${(server.address() as AddressInfo).port}`;
    const redirectUri = config.redirectUrl ?? `${url}/oauth/callback`;
    const zoho = await connectZoho(config.zoho, redirectUri, {
      emulatorStateFile: emulatorStatePath(config.storeUrl),
    });
    const label = storeLabel(config.storeUrl);
    cleanup.unshift(() => zoho.close());
    // Without a list, nobody is an admin, except in the demo: the emulator with its own public client,
    // where nothing real is at stake.
    const admins = config.admins ?? (isDemo(config) ? null : []);
    const context: PortalContext = {
      sessions: new Sessions(new SignedValues(sessionKey), { secure: url.startsWith('https:') }),
      tokens: new UserTokens(store, zoho, log),
      zoho,
      store,
      footer: (viewer) => (viewer?.isAdmin ? `${zoho.label} · tokens in ${label}` : zoho.label),
      callbackPath: new URL(redirectUri).pathname,
      isAdmin: (email) => admins === null || admins.includes(email.toLowerCase()),
      log,
    };
    const routes = routeTable(context.callbackPath);
    server.on('request', (req, res) => {
      // Last resort: one request gone wrong must never take the portal down.
      handle(context, routes, req, res).catch((error: unknown) => {
        log(`${req.method} request failed: ${String((error as { name?: unknown }).name)}`);
        res.destroy();
      });
    });
    return {
      url,
      context,
      storeLabel: label,
      close: async () => {
        await stopListening(server);
        for (const step of cleanup) await step();
      },
    };
  } catch (error) {
    await stopListening(server);
    for (const step of cleanup) await step();
    throw error;
  }
}

/** The emulator on its default client, whose secret is public: a client of one's own is never a demo. */
function isDemo(config: PortalConfig): boolean {
  const { zoho } = config;
  return (
    zoho.kind === 'emulator' &&
    zoho.client.clientId === EMULATOR_CLIENT.clientId &&
    zoho.client.clientSecret === EMULATOR_CLIENT.clientSecret
  );
}

/** Request targets are paths; this base only makes them URLs (routes use the path and query). */
const REQUEST_BASE = 'http://portal.invalid';

function routeTable(callbackPath: string): ReadonlyMap<string, Route> {
  return new Map<string, Route>([
    ['GET /', home],
    ['GET /login', startSignIn],
    [`GET ${callbackPath}`, finishSignIn],
    ['GET /dashboard', dashboard],
    ['POST /logout', signOut],
    ['GET /admin', adminRoute],
    ['POST /admin/revoke', adminRevoke],
    ['POST /admin/delete', adminDelete],
  ]);
}

async function handle(
  context: PortalContext,
  routes: ReadonlyMap<string, Route>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
  // Node hands on any request target, even one that is no URL (`GET http://[`): that one gets the 404 page.
  const target = req.url ?? '/';
  const url = URL.canParse(target, REQUEST_BASE) ? new URL(target, REQUEST_BASE) : null;
  const request: PortalRequest = {
    method,
    url: url ?? new URL('/', REQUEST_BASE),
    cookieHeader: req.headers.cookie,
    session: context.sessions.read(req.headers.cookie),
    form: () => readForm(req),
  };
  let reply: Reply;
  try {
    const route = url && routes.get(`${method} ${url.pathname}`);
    reply = route ? await route(context, request) : notFoundReply(context, request);
  } catch (error) {
    reply = errorReply(context, request, error);
  }
  // Drain what a route did not read, so the connection can be reused.
  req.resume();
  sendReply(res, reply);
}

/** The store URL as the footer shows it: its scheme and, for local files, the path; never a password. */
function storeLabel(storeUrl: string): string {
  const local = /^(sqlite|file|memory):(.*)$/i.exec(storeUrl);
  if (local) return `${(local[1] as string).toLowerCase()}${local[2] ? ` ${local[2]}` : ''}`;
  return URL.canParse(storeUrl)
    ? `${new URL(storeUrl).protocol.replace(':', '')} on ${new URL(storeUrl).host}`
    : 'a store';
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => reject(portInUse(error, 'the portal', host, port, 'PORT'));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

function stopListening(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
