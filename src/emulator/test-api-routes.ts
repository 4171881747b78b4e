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
 * Headers every `/__emulator/…` request must carry. A web page cannot send a custom header or a JSON
 * body to another origin without a CORS preflight, which the emulator never approves.
 */
export const TEST_API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  'x-zoho-emulator': '1',
});

/** The `Host` values the emulator answers to: loopback names with its own port (DNS rebinding names another). */
function ownHost(req: ParsedRequest, url: string): boolean {
  const port = new URL(url).port || '80';
  const host = (req.header('host') ?? '').toLowerCase();
  return ['127.0.0.1', 'localhost', '[::1]'].some(
    (name) => host === `${name}:${port}` || (port === '80' && host === name),
  );
}

/** Why a request is not the test API's own caller's, or null: another Host, or what a cross-site page can send. */
function refusal(req: ParsedRequest, url: string): Reply | null {
  if (!ownHost(req, url)) return json(421, { error: 'the test API answers only to its own loopback host and port' });
  const type = (req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (req.header('x-zoho-emulator') !== '1' || (req.method !== 'GET' && type !== 'application/json')) {
    return json(403, { error: 'the test API needs the header X-Zoho-Emulator: 1 and a JSON content type' });
  }
  return null;
}

/**
 * `/__emulator/…`: the {@link ZohoEmulator} methods over HTTP, for other processes. Bad input → 400
 * `{"error": message}`; a request without {@link TEST_API_HEADERS} → 403, another `Host` → 421, and nothing changes.
 */
export function handleTestApi(emulator: ZohoEmulator, req: ParsedRequest): Reply {
  const refused = refusal(req, emulator.url);
  if (refused) return refused;
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
