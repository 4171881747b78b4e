// The fleet benchmark (bench/fleet.ts, issue #15) still runs, and its accounting adds up.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runFleet } from '../bench/fleet.js';
import { type FleetCall, generateTraffic, refreshesDue, userHours } from '../bench/fleet-traffic.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('fleet benchmark', () => {
  it('counts the fewest refreshes that keep a token valid at every call', () => {
    const call = (at: number, user = 0): FleetCall => ({ at, user, process: 0 });
    // The first token lasts the first hour. Expired at 61 min: renewed, valid to 121 min; 150 min: renewed.
    const calls = [
      call(0),
      call(30 * MINUTE),
      call(59 * MINUTE),
      call(61 * MINUTE),
      call(61 * MINUTE),
      call(150 * MINUTE),
    ];
    const strict = refreshesDue(calls, { lifetimeMs: HOUR, marginMs: 0 });
    assert.equal(strict.refreshes, 2);
    assert.deepEqual(strict.due, [false, false, false, true, true, true]);
    // A 2-minute window renews at 59 min already (valid to 119), and again at 150.
    const windowed = refreshesDue(calls, { lifetimeMs: HOUR, marginMs: 2 * MINUTE });
    assert.equal(windowed.refreshes, 2);
    assert.deepEqual(windowed.due, [false, false, true, false, false, true]);
    // Where the window costs a refresh: 59 and 118 min need one renewal exactly, two with the window.
    const tight = [call(59 * MINUTE), call(118 * MINUTE), call(10 * MINUTE, 1)];
    tight.sort((a, b) => a.at - b.at);
    assert.equal(refreshesDue(tight, { lifetimeMs: HOUR, marginMs: 0 }).refreshes, 1);
    assert.equal(refreshesDue(tight, { lifetimeMs: HOUR, marginMs: 2 * MINUTE }).refreshes, 2);
    assert.equal(userHours(tight), 3);
  });

  it('replays the same day from the same seed, and another from another', () => {
    const options = { users: 50, processes: 4, hours: 24, seed: 15 };
    const day = generateTraffic(options);
    assert.deepEqual(generateTraffic(options), day);
    assert.notDeepEqual(generateTraffic({ ...options, seed: 16 }), day);
    assert.ok(day.every((c, i) => i === 0 || (day[i - 1] as FleetCall).at <= c.at));
    assert.ok(day.every((c) => c.at >= 0 && c.at < 24 * HOUR && c.at % 1000 === 0 && c.process < 4));
    // Uneven: the busiest user makes many times the calls of the median one.
    const perUser = new Map<number, number>();
    for (const c of day) perUser.set(c.user, (perUser.get(c.user) ?? 0) + 1);
    const counts = [...perUser.values()].sort((a, b) => a - b);
    assert.ok((counts.at(-1) as number) >= 5 * (counts[Math.floor(counts.length / 2)] as number));
  });

  it('runs 2 processes, 20 users and 3 hours on SQLite with no failed call and no refresh below the minimum', async () => {
    const result = await runFleet({ processes: 2, users: 20, hours: 3, seed: 15, subjects: ['sqlite'] });
    const [row] = result.rows;
    assert.ok(row);
    assert.equal(row.calls, result.calls);
    assert.ok(result.calls > 0);
    assert.equal(row.overheadFree.n + row.overheadDue.n, row.calls);
    assert.ok(row.tokenRequests >= row.minimum, `${row.tokenRequests} refreshes, minimum ${row.minimum}`);
    assert.ok(row.minimum > 0);
    assert.ok(row.tokenRequests <= row.minimumWithWindow, `${row.tokenRequests} > ${row.minimumWithWindow}`);
    assert.equal(row.failed, 0, JSON.stringify(row.errors));
    assert.equal(row.accessDenied, 0);
    assert.ok(row.storeOps > 0);
  });
});
