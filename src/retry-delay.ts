/** Reconnect pacing for background loops: 100 ms doubling to 5 s, reset after a success. */
export class OutageBackoff {
  #next = 100;
  constructor(
    private readonly min = 100,
    private readonly max = 5_000,
  ) {
    this.#next = min;
  }
  /** The delay to wait now; the following one will be twice as long (capped). */
  next(): number {
    const delay = this.#next;
    this.#next = Math.min(this.max, this.#next * 2);
    return delay;
  }
  reset(): void {
    this.#next = this.min;
  }
}

/** A sleep that ends early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
