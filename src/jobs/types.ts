export type JobState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** One entry of `Job.errors`: a failed (or interrupted) attempt. */
export interface JobError {
  attempt: number;
  at: string;
  message: string;
  name?: string;
  stack?: string;
  kind?: string;
}

/**
 * How an attempt ended. `running`: the attempt in progress. `snoozed`: the handler snoozed (the
 * attempt number is given back, so the next attempt has the same number). `lease-expired`: the
 * worker stopped heartbeating and the rescuer took the job back. `shutdown`: the worker was
 * stopped before the handler finished.
 */
export type AttemptOutcome =
  | 'running'
  | 'completed'
  | 'failed'
  | 'snoozed'
  | 'cancelled'
  | 'lease-expired'
  | 'shutdown';

/** One attempt of a job, oldest first in `Job.attempts`. */
export interface JobAttempt {
  attempt: number;
  startedAt: Date;
  /** Null while the attempt runs. */
  finishedAt: Date | null;
  /** The id of the worker that ran it (as in `listWorkers()`); null if unknown. */
  worker: string | null;
  outcome: AttemptOutcome;
  /** The entry of `Job.errors` this attempt recorded, if any. */
  error?: JobError;
}

/** A job row as `getJob` and `listJobs` return it. */
export interface Job<P = unknown, R = unknown> {
  id: string;
  name: string;
  queue: string;
  /** The job's group within its queue, if enqueued with one. */
  group: string | null;
  state: JobState;
  priority: number;
  attempt: number;
  /** Null until first claimed when neither the enqueuer nor a local definition set it. */
  maxAttempts: number | null;
  payload: P;
  result: R | null;
  /** The latest value the handler reported with `ctx.progress()` (kept after the job ends); null if none. */
  progress: unknown;
  errors: JobError[];
  /** Every attempt so far, oldest first (the latest 100 that did not complete the job, plus the one that did). */
  attempts: JobAttempt[];
  key: string | null;
  runAt: Date;
  /** The worker holding the job while it runs; null otherwise. */
  lockedBy: string | null;
  lockedUntil: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Scheduled jobs: the schedule, the occurrence key (UUIDv5 of schedule and fire time) and the fire time. */
  schedule: string | null;
  occurrence: string | null;
  fireAt: Date | null;
}
