// The fleet benchmark's day of traffic (issue #15): who calls when, from which process, and the
// fewest refreshes that traffic allows. Pure and seeded, so every run replays the same day.

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** One API call: when (ms after the start of the day, on a whole second), whose, and which process serves it. */
export interface FleetCall {
  at: number;
  user: number;
  process: number;
}

export interface TrafficOptions {
  users: number;
  processes: number;
  /** How long the simulated day is, in hours. */
  hours: number;
  seed: number;
}

/** mulberry32: a small seeded PRNG, so a run's traffic is reproducible from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A day of bursty, uneven traffic: 4 % of users busy all day (a burst of 1–4 calls every 20 minutes
 * on average), 70 % in one to three sessions of 5–60 minutes (a burst of 1–3 calls every 5 minutes on
 * average), 26 % seldom: one short session, half of them a second one at least 6 hours later. Calls
 * of a burst land within a few seconds, often the same second, on random processes.
 */
export function generateTraffic({ users, processes, hours, seed }: TrafficOptions): FleetCall[] {
  const random = seededRandom(seed);
  const day = hours * HOUR;
  const calls: FleetCall[] = [];
  const between = (low: number, high: number) => low + random() * (high - low);
  const exponential = (mean: number) => -Math.log(1 - random()) * mean;
  const session = (user: number, start: number, length: number, meanGap: number, maxBurst: number) => {
    const end = Math.min(day, start + length);
    for (let t = start; t < end; t += exponential(meanGap)) {
      const burst = 1 + Math.floor(random() * maxBurst);
      for (let k = 0; k < burst; k++) {
        const at = Math.floor((t + random() * 3 * SECOND) / SECOND) * SECOND;
        if (at < day) calls.push({ at, user, process: Math.floor(random() * processes) });
      }
    }
  };
  for (let user = 0; user < users; user++) {
    const kind = random();
    if (kind < 0.04) {
      session(user, exponential(20 * MINUTE), day, 20 * MINUTE, 4);
    } else if (kind < 0.74) {
      const sessions = 1 + Math.floor(random() * 3);
      for (let s = 0; s < sessions; s++) session(user, between(0, day), between(5, 60) * MINUTE, 5 * MINUTE, 3);
    } else {
      const first = between(0, day / 2);
      session(user, first, between(2, 15) * MINUTE, 5 * MINUTE, 2);
      if (random() < 0.5) session(user, first + between(6, 12) * HOUR, between(2, 15) * MINUTE, 5 * MINUTE, 2);
    }
  }
  return calls.sort((a, b) => a.at - b.at || a.user - b.user || a.process - b.process);
}

/**
 * Which calls find their user's access token due for renewal under a policy that renews when at
 * most `marginMs` is left (0: only once expired), each token lasting `lifetimeMs` from its renewal
 * and the first one from the start of the day. The flagged calls of a user at one instant all wait
 * for the same renewal; `refreshes` counts the renewals, one per instant flagged.
 */
export function refreshesDue(
  calls: readonly FleetCall[],
  { lifetimeMs, marginMs }: { lifetimeMs: number; marginMs: number },
): { due: boolean[]; refreshes: number } {
  const expiry = new Map<number, number>();
  const renewedAt = new Map<number, number>();
  let refreshes = 0;
  const due = calls.map(({ at, user }) => {
    if (renewedAt.get(user) === at) return true;
    if ((expiry.get(user) ?? lifetimeMs) - at > marginMs) return false;
    expiry.set(user, at + lifetimeMs);
    renewedAt.set(user, at);
    refreshes++;
    return true;
  });
  return { due, refreshes };
}

/** User-hours of activity: the (user, clock hour) pairs with at least one call. */
export function userHours(calls: readonly FleetCall[]): number {
  return new Set(calls.map(({ at, user }) => `${user}:${Math.floor(at / HOUR)}`)).size;
}
