// One app process of the fleet benchmark (bench/fleet.ts forks P of them). It serves the calls the
// parent sends for each simulated instant, at that instant: the parent's message carries the
// emulator's clock reading, which this process's TokenManagers (or the official SDK's Date) read.
import sdk from '@zohocrm/typescript-sdk-8.0';
import {
  createCrmClient,
  customEnvironment,
  isOAuthError,
  OAuthErrorCode,
  openStore,
  type TokenLike,
  TokenManager,
  type TokenStore,
} from 'zoho-token-store';
import { EMULATOR_CLIENT } from 'zoho-token-store/emulator';
import { officialToken } from './token-stores.js';

/** What a fleet process serves its calls through: our TokenManager on a store URL, or the official SDK. */
export type FleetSubject =
  | { kind: 'ours'; url: string }
  | { kind: 'official-db'; table: string }
  | { kind: 'official-file'; path: string };

export type ToWorker =
  | { type: 'init'; subject: FleetSubject; emulatorUrl: string; users: string[]; now: number }
  | { type: 'step'; now: number; calls: [user: number, due: boolean][] }
  | { type: 'finish' };

export interface WorkerStats {
  calls: number;
  failed: number;
  accessDenied: number;
  /** Failures by error code (or name), to say why calls failed. */
  errors: Record<string, number>;
  storeOps: number;
  /** µs inside getAccessToken, for calls with no refresh due and with one due. */
  overheadFree: number[];
  overheadDue: number[];
  /** Of the calls with no refresh due, those served from memory (no store read during the call). */
  overheadMemory: number[];
}

export type FromWorker = { type: 'ready' } | { type: 'done' } | { type: 'stats'; stats: WorkerStats };

const client = {
  clientId: EMULATOR_CLIENT.clientId,
  clientSecret: EMULATOR_CLIENT.clientSecret,
  redirectUri: EMULATOR_CLIENT.redirectUris[0],
};
const send = (message: FromWorker) => process.send?.(message);

let now = 0;
const stats: WorkerStats = {
  calls: 0,
  failed: 0,
  accessDenied: 0,
  errors: {},
  storeOps: 0,
  overheadFree: [],
  overheadDue: [],
  overheadMemory: [],
};
/** Lookups the store answered: a call during which none ran was served from memory. */
let storeReads = 0;
let counting = false;
let official = false;
const isAccessDenied = (error: unknown) =>
  (isOAuthError(error) && error.code === OAuthErrorCode.RATE_LIMITED) ||
  (error instanceof Error && /access denied/i.test(error.message));

/** The store with every method call counted (during steps), calling through to the real store. */
function counted<S extends object>(store: S): S {
  return new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        if (counting) stats.storeOps++;
        if (property === 'findToken' || property === 'findTokenById') storeReads++;
        return value.apply(target, args);
      };
    },
  });
}

/** A user's token (timed: the token overhead), then the API call that uses it. */
interface Call {
  token(due: boolean): Promise<unknown>;
  request(): Promise<unknown>;
}
let callFor: (user: number) => Call;
let close: () => Promise<void> = async () => {};

async function init({ subject, emulatorUrl, users, now: start }: Extract<ToWorker, { type: 'init' }>) {
  now = start;
  const environment = customEnvironment({ apiBaseUrl: emulatorUrl, accountsUrl: emulatorUrl });
  const timed = async (due: boolean, get: () => Promise<unknown>) => {
    const [t0, reads] = [process.hrtime.bigint(), storeReads];
    try {
      return await get();
    } finally {
      const us = Number(process.hrtime.bigint() - t0) / 1000;
      (due ? stats.overheadDue : stats.overheadFree).push(us);
      if (!due && storeReads === reads) stats.overheadMemory.push(us);
    }
  };
  const request = (crm: ReturnType<typeof createCrmClient>) =>
    crm.request('GET', '/crm/v8/Leads', { query: { fields: 'Last_Name,Email', per_page: 5 } });

  if (subject.kind === 'ours') {
    const store = await openStore(subject.url);
    const shared = counted(store) as TokenStore<TokenLike>;
    close = () => store.close();
    const managers = new Map<number, TokenManager>();
    callFor = (user) => {
      let manager = managers.get(user);
      if (!manager) {
        manager = new TokenManager({
          environment,
          store: shared,
          client,
          token: { userName: users[user] as string },
          now: () => now,
          resolveUser: false,
        });
        manager.on('failed', (error) => {
          if (isAccessDenied(error)) stats.accessDenied++;
        });
        managers.set(user, manager);
      }
      const tokens = manager;
      return {
        token: (due) => timed(due, () => tokens.getAccessToken()),
        request: () => request(createCrmClient({ tokens })),
      };
    };
    return;
  }

  official = true;
  // The official SDK reads `new Date()` for expiry: in this process, Date follows the emulator's clock.
  const RealDate = Date;
  globalThis.Date = class extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(now);
      else super(...(args as [string]));
    }
    static override now() {
      return now;
    }
  } as DateConstructor;
  const store = counted(
    subject.kind === 'official-db'
      ? new sdk.DBBuilder()
          .host('127.0.0.1')
          .databaseName('test')
          .userName('root')
          .password('')
          .portNumber(3306)
          .tableName(subject.table)
          .build()
      : new sdk.FileStore(subject.path),
  );
  const tokenOf = (user: number) =>
    officialToken({ userName: users[user] as string, clientId: client.clientId, clientSecret: client.clientSecret });
  await new sdk.InitializeBuilder()
    .environment(new sdk.Environment(emulatorUrl, `${emulatorUrl}/oauth/v2/token`, emulatorUrl))
    .token(tokenOf(0))
    .store(store as never)
    .initialize();
  const apiDomain = { getAPIDomain: () => emulatorUrl } as TokenLike;
  callFor = (user) => {
    const token = tokenOf(user);
    // One getToken per call, as the app would make: the API call uses the token just timed.
    let accessToken: Promise<string> | undefined;
    const tokens = {
      environment,
      getAccessToken: () => (accessToken ??= token.getToken() as Promise<string>),
      getToken: async () => apiDomain,
      invalidate: () => {},
    };
    return { token: (due) => timed(due, tokens.getAccessToken), request: () => request(createCrmClient({ tokens })) };
  };
}

async function step({ now: at, calls }: Extract<ToWorker, { type: 'step' }>) {
  now = at;
  counting = true;
  // Each call's token first, one at a time, so its time is the token layer's own (memory, store,
  // Zoho) and not that of the other calls' HTTP work on this event loop; then the API calls
  // together, each asking its manager again (now from memory).
  const prepared = calls.map(([user]) => callFor(user));
  const tokenFailures = new Map<number, unknown>();
  for (const [i, [, due]] of calls.entries()) {
    await prepared[i]?.token(due).catch((error: unknown) => tokenFailures.set(i, error));
  }
  await Promise.all(
    calls.map(async (_, i) => {
      stats.calls++;
      try {
        if (tokenFailures.has(i)) throw tokenFailures.get(i);
        await prepared[i]?.request();
      } catch (error) {
        stats.failed++;
        // The official SDK reports Access Denied only as a failed call; ours through its 'failed' event.
        if (official && isAccessDenied(error)) stats.accessDenied++;
        const code = String((error as { code?: unknown }).code ?? (error as Error).name);
        stats.errors[code] = (stats.errors[code] ?? 0) + 1;
      }
    }),
  );
  counting = false;
}

process.on('message', (message: ToWorker) => {
  const work =
    message.type === 'init'
      ? init(message).then(() => send({ type: 'ready' }))
      : message.type === 'step'
        ? step(message).then(() => send({ type: 'done' }))
        : close().then(() => {
            send({ type: 'stats', stats });
            process.disconnect();
          });
  work.catch((error: unknown) => {
    process.stderr.write(`fleet worker: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
});
