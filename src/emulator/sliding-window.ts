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

  private recent(key: string, now: number): number[] {
    return (this.events.get(key) ?? []).filter((at) => at > now - this.windowMs && at <= now);
  }
}
