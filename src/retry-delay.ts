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

/**
 * How long the worker waits for an answer to one of its statements before it stops waiting.
 * postgres.js can leave a query pending while a connection reconnects in a loop after the server
 * closed it during start-up (porsager/postgres#1193): after a restart, a claim waited 20–90 s and
 * held the worker's slots meanwhile. No claim or settle takes this long on a live server.
 */
export const NO_ANSWER_MS = 10_000;

/** A statement got no answer within {@link NO_ANSWER_MS}; it may still complete later. */
export class NoAnswerError extends Error {
  constructor(what: string) {
    super(`${what}: no answer from the database within ${NO_ANSWER_MS} ms`);
    this.name = 'NoAnswerError';
  }
}

/** `promise`, or a NoAnswerError after {@link NO_ANSWER_MS}; the statement itself is not cancelled. */
export function withinNoAnswer<T>(promise: PromiseLike<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswerError(what)), NO_ANSWER_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
