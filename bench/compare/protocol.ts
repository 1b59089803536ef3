/** Messages between run.ts (parent) and worker.ts (the forked worker process). */
export type ToWorker =
  /** Start the worker now (the timed moment) and report once `expect` jobs have started. */
  | { type: 'go'; expect: number }
  /** Report once `expect` jobs in total have started. */
  | { type: 'expect'; expect: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'reached'; handled: number }
  /** Sent every second while the count of started jobs changes. */
  | { type: 'progress'; handled: number }
  | { type: 'stopped'; handled: number; latenciesMs: number[]; maxRssKb: number }
  | { type: 'error'; message: string };
