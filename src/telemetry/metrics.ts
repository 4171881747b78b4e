import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

// The few members of `@opentelemetry/api` used here, so the package is needed only at run time,
// and only if installed: its types never reach ours.
type Attributes = Record<string, string>;
interface Counter {
  add(value: number, attributes?: Attributes): void;
}
interface Histogram {
  record(value: number, attributes?: Attributes): void;
}
interface Meter {
  createCounter(name: string, options: { description: string; unit: string }): Counter;
  createHistogram(name: string, options: { description: string; unit: string }): Histogram;
}
interface MetricsApi {
  metrics: { getMeterProvider(): { getMeter(name: string): Meter } };
}

interface Instruments {
  refreshes: Counter;
  exchanges: Counter;
  lockWait: Histogram;
  storeDuration: Histogram;
}

/** What a refresh or exchange came to: the `outcome` attribute of its counter. */
export type RenewalOutcome = 'success' | 'refused' | 'rate_limited' | 'error' | 'superseded' | 'deleted';

let api: MetricsApi | null | undefined;
let current: { provider: object; instruments: Instruments } | null = null;

/**
 * The instruments of the global meter provider, or null when `@opentelemetry/api` is not
 * installed. Made again when the application registers its provider after our first use: the
 * API hands out no proxy for meters, so instruments of the no-op provider would stay no-ops.
 */
function instruments(): Instruments | null {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)('@opentelemetry/api') as MetricsApi;
    } catch {
      // Not installed (an optional peer dependency), or broken: metrics never cost a token.
      api = null;
    }
  }
  if (api === null) return null;
  const provider = api.metrics.getMeterProvider();
  if (current?.provider !== provider)
    current = { provider, instruments: create(provider.getMeter('zoho-token-store')) };
  return current.instruments;
}

function create(meter: Meter): Instruments {
  return {
    refreshes: meter.createCounter('zoho_token_store.refreshes', {
      description: 'Access token refreshes at Zoho (and client credentials grants run again), by outcome',
      unit: '{refresh}',
    }),
    exchanges: meter.createCounter('zoho_token_store.exchanges', {
      description: 'Grant token exchanges at Zoho (and first client credentials grants), by outcome',
      unit: '{exchange}',
    }),
    lockWait: meter.createHistogram('zoho_token_store.lock.wait', {
      description: 'Time a TokenManager waited for the refresh lock, by outcome',
      unit: 'ms',
    }),
    storeDuration: meter.createHistogram('zoho_token_store.store.duration', {
      description: 'Duration of the store calls a TokenManager makes, by operation',
      unit: 'ms',
    }),
  };
}

/** Counts one refresh or exchange at Zoho that ended with `outcome`. */
export function countRenewal(kind: 'refresh' | 'exchange', outcome: RenewalOutcome): void {
  const found = instruments();
  (kind === 'refresh' ? found?.refreshes : found?.exchanges)?.add(1, { outcome });
}

/**
 * Runs `work` under `lock` (a store's `withRefreshLock` bound to a key), recording how long it
 * waited: `acquired` when the work started, `failed` when the lock was not taken (a timeout).
 */
export async function timeLockWait<R>(
  lock: (work: () => Promise<R>) => Promise<R>,
  work: () => Promise<R>,
): Promise<R> {
  const histogram = instruments()?.lockWait;
  if (histogram === undefined) return lock(work);
  const asked = performance.now();
  let acquired = false;
  try {
    return await lock(() => {
      acquired = true;
      histogram.record(performance.now() - asked, { outcome: 'acquired' });
      return work();
    });
  } catch (error) {
    if (!acquired) histogram.record(performance.now() - asked, { outcome: 'failed' });
    throw error;
  }
}

/** Runs a store call, recording its duration under `operation` (with `error.type` when it fails). */
export async function timeStore<R>(operation: string, call: () => Promise<R>): Promise<R> {
  const histogram = instruments()?.storeDuration;
  if (histogram === undefined) return call();
  const started = performance.now();
  try {
    const result = await call();
    histogram.record(performance.now() - started, { operation });
    return result;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    histogram.record(performance.now() - started, {
      operation,
      'error.type': typeof code === 'string' ? code : 'other',
    });
    throw error;
  }
}
