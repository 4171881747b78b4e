/** The emulator's clock: every expiry and rate limit reads it, and tests move it. */
export interface EmulatorClock {
  /** Milliseconds since the epoch, as the emulator sees it. */
  now(): number;
  /** Moves the clock forward. @throws RangeError for a negative or non-finite amount. */
  advance(ms: number): void;
  /** Sets the clock. @throws RangeError for a non-finite value. */
  set(ms: number): void;
}

/** A clock that starts at `start` and moves only when told to. */
export function createClock(start: number): EmulatorClock {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward by a finite amount');
      now += ms;
    },
    set(ms) {
      if (!Number.isFinite(ms)) throw new RangeError('the clock needs a finite time');
      now = ms;
    },
  };
}
