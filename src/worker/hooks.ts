import type { ClaimedRow } from '../queries.js';
import type { Settlement } from './settlement.js';

/**
 * What job management and metrics need from the worker, kept out of the loop itself: progress
 * writes for ctx.progress() and one call per ended attempt (for this process's metrics).
 */
export interface WorkerHooks {
  /** Stores a running attempt's progress (JSON text); never rejects. */
  progress(workerId: string, row: ClaimedRow, json: string): Promise<void>;
  /** Once per attempt: its outcome (null when nothing is written) and how long it ran. */
  ended(row: ClaimedRow, settlement: Settlement | null, durationMs: number): void;
}
