/** A failure to inject into the emulator's next matching requests. */
export interface EmulatorFault {
  /** Path prefix the fault applies to, such as `/oauth/v2/token`. Default: every path. */
  path?: string;
  /**
   * `status`: answer with `status`; `latency`: wait `latencyMs`, then answer normally; `drop`: close the
   * connection without answering; `access-denied`: Zoho's throttled "Access Denied" body.
   */
  kind: 'status' | 'latency' | 'drop' | 'access-denied';
  /** For `status`: 400–599. Default 503. */
  status?: number;
  /** For `latency`. Default 1 000 ms. */
  latencyMs?: number;
  /** How many requests it affects. Default 1; `Infinity` until cleared. */
  times?: number;
}

/** A fault with its defaults applied, counting down. */
export interface ActiveFault {
  path: string;
  kind: EmulatorFault['kind'];
  status: number;
  latencyMs: number;
  remaining: number;
}

const KINDS: readonly string[] = ['status', 'latency', 'drop', 'access-denied'];

/** Injected faults, applied in the order they were added. */
export class FaultList {
  private faults: ActiveFault[] = [];

  /** @throws RangeError for an unknown kind or an out-of-range status, latency or count. */
  add(fault: EmulatorFault): void {
    const active: ActiveFault = {
      path: fault.path ?? '/',
      kind: fault.kind,
      status: fault.status ?? 503,
      latencyMs: fault.latencyMs ?? 1_000,
      remaining: fault.times ?? 1,
    };
    if (!KINDS.includes(active.kind)) throw new RangeError(`unknown fault kind ${String(active.kind)}`);
    if (typeof active.path !== 'string' || !active.path.startsWith('/')) {
      throw new RangeError('a fault path must start with /');
    }
    if (!Number.isInteger(active.status) || active.status < 400 || active.status > 599) {
      throw new RangeError('a fault status must be 400–599');
    }
    if (!Number.isFinite(active.latencyMs) || active.latencyMs < 0) {
      throw new RangeError('latencyMs must be a finite, non-negative number');
    }
    if (
      !(Number.isInteger(active.remaining) || active.remaining === Number.POSITIVE_INFINITY) ||
      active.remaining < 1
    ) {
      throw new RangeError('times must be a positive integer or Infinity');
    }
    this.faults.push(active);
  }

  clear(): void {
    this.faults = [];
  }

  /** The first fault for `path`, counted as used; undefined when none applies. */
  take(path: string): ActiveFault | undefined {
    const fault = this.faults.find((f) => path.startsWith(f.path));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
    return fault;
  }
}
