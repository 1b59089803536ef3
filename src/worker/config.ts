import type { ClaimDefaults } from '../queries.js';
import type { WorkerHooks } from './hooks.js';

/** What a Worker is built with (see createWorker). */
export interface WorkerConfig {
  workerId: string;
  concurrency: number;
  /**
   * Jobs claimed ahead of free slots, so a finishing job finds the next one already local; null
   * sizes it from measured job and claim times (see ClaimSizer).
   */
  prefetch: number | null;
  /**
   * A buffered job whose ownership was last confirmed longer ago than this is checked again (one
   * statement for the whole buffer) before it starts: a cancel is honoured before start even
   * without LISTEN. The poll interval, at least 500 ms.
   */
  recheckMs: number;
  queues: string[] | null;
  claimDefaults: ClaimDefaults;
  maxResultBytes: number;
  random: () => number;
  /** Completed jobs are deleted as they are written (retention of completed jobs is 0). */
  deleteCompleted: boolean;
  /** Whether a queue is paused (src/queues): its prefetched jobs go back instead of starting. */
  isPaused?: (queue: string) => boolean;
  /** Whether one of the worker's queues has a concurrency limit (src/queues): permits are renewed. */
  hasLimits?: () => boolean;
  /** Progress writes and per-attempt metrics (job management). */
  hooks?: WorkerHooks;
}
