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
 * How long the worker waits for an answer to one of its statements before it gives up on it.
 * postgres.js can leave a query pending while a connection reconnects in a loop after the server
 * closed it during start-up (porsager/postgres#1193): after a restart, a claim waited 20–90 s and
 * held the worker's slots meanwhile, and a settle stuck for 10 s kept a thousand finished jobs
 * unwritten. No claim or settle takes this long on a live server; one cancelled on a loaded
 * server is simply sent again.
 */
export const NO_ANSWER_MS = 5_000;

/** A statement got no answer in time and was cancelled; if it had already run, it may still answer. */
export class NoAnswerError extends Error {
  constructor(what: string, ms: number) {
    super(`${what}: no answer from the database within ${ms} ms`);
    this.name = 'NoAnswerError';
  }
}

/**
 * `statement`, or a NoAnswerError after `ms`. The statement is cancelled then: one the driver never
 * sent is dropped and never runs (a claim that cannot leave orphaned jobs behind), one running on
 * the server is asked to stop. One that had already run may still answer: its result goes to
 * `onLate` (a claim's jobs are the worker's all the same).
 */
export function withinNoAnswer<T>(
  statement: PromiseLike<T> & { cancel?: () => unknown },
  what: string,
  ms = NO_ANSWER_MS,
  onLate?: (result: T) => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new NoAnswerError(what, ms));
      Promise.resolve(statement.cancel?.()).catch(() => {});
      if (onLate) statement.then(onLate, () => {});
    }, ms);
  });
  return Promise.race([statement, timeout]).finally(() => clearTimeout(timer));
}
