import { lookupValue } from '../store/matching.js';
import type { LookupColumn, LookupKey } from '../store/record-backend.js';
import { refusedData } from '../store/refused-data.js';
import type { TokenRecord } from '../token/token-record.js';

/**
 * Reads the rows whose `column` equals any of `values` (distinct, at least one) in one query; the
 * rows may include loose matches (MySQL ignores trailing spaces), which the coalescer drops.
 */
export type BatchRead = (column: LookupColumn, values: readonly string[]) => Promise<readonly TokenRecord[]>;

/** Options for {@link LookupCoalescer}. */
export interface LookupCoalescerOptions {
  /** Most distinct values in one query; more waiting lookups go out as further queries at once. Default 256. */
  maxBatch?: number;
}

interface Waiter {
  resolve(rows: readonly TokenRecord[]): void;
  reject(error: unknown): void;
}

/** Lookups gathered since the last flush: per column, the callers waiting on each value. */
type Pending = Map<LookupColumn, Map<string, Waiter[]>>;

/**
 * Coalesces concurrent lookups: every `find` made before the event loop's next turn (the callers
 * of one burst, and every caller a finished query wakes) goes out as one query per column with
 * all their values, and each caller gets exactly the rows equal to its own value. A query is
 * only sent after every caller in it called, so each read starts after its caller asked — the
 * same as separate reads issued at that moment; nothing is cached between queries. When the
 * storage refuses the data of a query (an SQL data error: PostgreSQL refuses a NUL), each of its
 * values is read again alone, so only the caller of the refused value fails; any other failure
 * rejects every caller in it with its error, in one query. A lone caller waits one turn of the event
 * loop (a few microseconds), never for a timer. Internal: the SQL and Redis stores' `findBy`.
 *
 * @example
 * ```ts
 * const coalescer = new LookupCoalescer(async (column, values) => db.rowsWhereIn(column, values));
 * const [ana, bob] = await Promise.all([
 *   coalescer.find({ column: 'userName', value: 'ana@zylker.com' }),
 *   coalescer.find({ column: 'userName', value: 'bob@zylker.com' }),
 * ]); // one query
 * ```
 */
export class LookupCoalescer {
  readonly #read: BatchRead;
  readonly #maxBatch: number;
  #pending: Pending = new Map();
  #scheduled = false;

  constructor(read: BatchRead, options: LookupCoalescerOptions = {}) {
    const maxBatch = options.maxBatch ?? 256;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new TypeError('LookupCoalescer: maxBatch must be a positive integer');
    }
    this.#read = read;
    this.#maxBatch = maxBatch;
  }

  /** The rows whose column equals the key's value exactly, read by the next query of its column. */
  find(key: LookupKey): Promise<readonly TokenRecord[]> {
    return new Promise((resolve, reject) => {
      let byValue = this.#pending.get(key.column);
      if (byValue === undefined) {
        byValue = new Map();
        this.#pending.set(key.column, byValue);
      }
      const waiters = byValue.get(key.value);
      if (waiters) waiters.push({ resolve, reject });
      else byValue.set(key.value, [{ resolve, reject }]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        // setImmediate, not a microtask: callers woken by a finished query resume through several
        // promise hops, and all of them should make the next batch, not just the first.
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    for (const [column, byValue] of pending) {
      const values = [...byValue.keys()];
      for (let start = 0; start < values.length; start += this.#maxBatch) {
        void this.#run(column, values.slice(start, start + this.#maxBatch), byValue);
      }
    }
  }

  async #run(column: LookupColumn, values: readonly string[], byValue: Map<string, Waiter[]>): Promise<void> {
    // Only exact matches, grouped by value: a row goes to the callers that asked for its value.
    const byMatch = new Map<string, TokenRecord[]>();
    try {
      for (const row of await this.#read(column, values)) {
        const value = lookupValue(row, column);
        if (value === null || !byValue.has(value)) continue;
        const group = byMatch.get(value);
        if (group) group.push(row);
        else byMatch.set(value, [row]);
      }
    } catch (error) {
      // One caller's value the storage refuses must not fail the others: each asks alone. Any
      // other failure (the server down) would fail them alike, so it rejects them all at once.
      if (values.length > 1 && refusedData(error)) {
        await Promise.all(values.map((value) => this.#run(column, [value], byValue)));
        return;
      }
      // Nothing may leave a caller waiting: every failure, even a malformed answer, rejects them all.
      for (const value of values) for (const waiter of byValue.get(value) ?? []) waiter.reject(error);
      return;
    }
    for (const value of values) {
      const found = byMatch.get(value) ?? [];
      for (const waiter of byValue.get(value) ?? []) waiter.resolve(found.slice());
    }
  }
}

/** The option of the MySQL, PostgreSQL and Redis stores that turns lookup coalescing on or off. */
export interface CoalescingOptions {
  /**
   * Whether concurrent lookups of one column share a query (see {@link LookupCoalescer}): many
   * callers cost one round trip, and a lone caller waits one event-loop turn. Default true.
   */
  coalesceLookups?: boolean;
}
