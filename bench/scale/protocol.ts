/** Messages between bench/scale.ts (parent) and bench/scale/worker.ts (a forked worker process). */
export type ToWorker =
  /** Start the worker now: `Pgsched.start(options)`. */
  { type: 'go'; options: { concurrency: number; prefetch?: number; leader: boolean } } | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  /** Handler calls so far; sent every 50 ms while it changes. */
  | { type: 'progress'; handled: number }
  | { type: 'stopped'; handled: number; maxRssKb: number }
  | { type: 'error'; message: string };
