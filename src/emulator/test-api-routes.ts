import type { EmulatorFault } from './faults.js';
import { json, type ParsedRequest, type Reply } from './http-io.js';
import type { ZohoEmulator } from './zoho-emulator.js';

/** JSON cannot say Infinity: the test API also takes `"times": "Infinity"`. */
function faultOf(body: unknown): EmulatorFault {
  if (typeof body !== 'object' || body === null) throw new RangeError('the body must be a fault object');
  const fault = body as Omit<EmulatorFault, 'times'> & { times?: number | string };
  return fault.times === 'Infinity'
    ? { ...fault, times: Number.POSITIVE_INFINITY }
    : { ...fault, times: fault.times as number | undefined };
}

function msOf(req: ParsedRequest): number {
  const raw = req.url.searchParams.get('ms');
  if (raw === null || raw.trim() === '') throw new RangeError('ms is required');
  return Number(raw);
}

const jsonBody = (req: ParsedRequest): unknown => JSON.parse(req.body.toString('utf8') || '{}');

/**
 * `/__emulator/…`: the {@link ZohoEmulator} methods over HTTP, for other processes. Bad input → 400
 * `{"error": message}`.
 */
export function handleTestApi(emulator: ZohoEmulator, req: ParsedRequest): Reply {
  const route = `${req.method} ${req.url.pathname}`;
  try {
    switch (route) {
      case 'GET /__emulator/counters':
        return json(200, emulator.counters());
      case 'POST /__emulator/counters/reset':
        emulator.resetCounters();
        return json(200, emulator.counters());
      case 'GET /__emulator/clock':
        return json(200, { now: emulator.clock.now() });
      case 'POST /__emulator/clock/advance':
        emulator.clock.advance(msOf(req));
        return json(200, { now: emulator.clock.now() });
      case 'POST /__emulator/clock/set':
        emulator.clock.set(msOf(req));
        return json(200, { now: emulator.clock.now() });
      case 'POST /__emulator/faults':
        emulator.injectFault(faultOf(jsonBody(req)));
        return json(201, { status: 'success' });
      case 'DELETE /__emulator/faults':
        emulator.clearFaults();
        return json(200, { status: 'success' });
      case 'POST /__emulator/grant-codes':
        return json(201, { code: emulator.issueGrantCode(jsonBody(req) as object) });
      default:
        return json(404, { error: `no test API route ${route}` });
    }
  } catch (error) {
    return json(400, { error: error instanceof Error ? error.message : String(error) });
  }
}
