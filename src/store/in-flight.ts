/**
 * The calls of a store still under way, so that `close()` can let them finish before it
 * releases the connections or handles they use.
 *
 * @example
 * ```ts
 * const inFlight = new InFlight();
 * const save = inFlight.track(backend.write(record));
 * await inFlight.settled(); // in close(), before the backend closes
 * ```
 */
export class InFlight {
  readonly #calls = new Set<Promise<unknown>>();

  /** Returns `call`, remembered until it settles. */
  track<R>(call: Promise<R>): Promise<R> {
    this.#calls.add(call);
    const forget = () => this.#calls.delete(call);
    call.then(forget, forget);
    return call;
  }

  /** Resolves once no tracked call is under way, those started meanwhile included; never rejects. */
  async settled(): Promise<void> {
    while (this.#calls.size > 0) await Promise.allSettled([...this.#calls]);
  }
}
