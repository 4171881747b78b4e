/** Counts events per key over a sliding window, for Zoho's "at most N per 10 minutes" limits. */
export class SlidingWindow {
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** True when another event for `key` at `now` stays within the limit. */
  allows(key: string, now: number): boolean {
    return this.recent(key, now).length < this.limit;
  }

  record(key: string, now: number): void {
    this.events.set(key, [...this.recent(key, now), now]);
  }

  forget(key: string): void {
    this.events.delete(key);
  }

  /** The events still inside the window at `now`, per key: what a restart must not forget. */
  snapshot(now: number): [string, number[]][] {
    return [...this.events.keys()]
      .map((key): [string, number[]] => [key, this.recent(key, now)])
      .filter(([, events]) => events.length > 0);
  }

  /** Replaces every event with a {@link snapshot}'s. */
  restore(entries: readonly (readonly [string, readonly number[]])[]): void {
    this.events.clear();
    for (const [key, events] of entries) this.events.set(key, [...events]);
  }

  private recent(key: string, now: number): number[] {
    return (this.events.get(key) ?? []).filter((at) => at > now - this.windowMs && at <= now);
  }
}
