import type { Duration } from '../duration.js';
import type { JobOptions } from '../options.js';
import type { TriggerKind, TriggerSpec } from './triggers/index.js';

/**
 * What happens to occurrences that are more than `misfireGrace` late when the ticker gets to them
 * (the leader was down, or the schedule's database was unreachable):
 * - `all`: enqueue every one of them, oldest first;
 * - `last`: enqueue only the most recent due occurrence, skip the rest;
 * - `none`: skip them all;
 * - `{ max, within }`: enqueue the latest `max` of those due within `within` of now, skip the rest.
 *
 * Skipped occurrences are recorded; see {@link Pgsched.missedOccurrences}.
 */
export type CatchUpPolicy = 'all' | 'last' | 'none' | { max: number; within: Duration };

/**
 * While an earlier job of the same schedule is still pending or running:
 * - `allow`: enqueue anyway (jobs may run side by side);
 * - `skip`: do not enqueue, record the occurrence as missed;
 * - `queue`: enqueue, but run the schedule's jobs one at a time, in occurrence order.
 */
export type OverlapPolicy = 'allow' | 'skip' | 'queue';

/** How a change to an existing schedule takes effect. */
export type UpdatePolicy = 'immediate' | 'graceful';

/** Options of `schedule(name, options)`: a trigger, the job to enqueue, and policies. */
/**
 * Job options apply to every enqueued job as they do for `enqueue`: unset ones fall back to the
 * job definition (queue and priority to this process's definition, the rest to the worker's).
 */
export interface ScheduleOptions<J extends string = string, P = unknown> extends TriggerSpec, JobOptions {
  /** Name of the job each occurrence enqueues. */
  job: J;
  /** Payload of every enqueued job (validated against the job's schema if this process defines it). */
  payload?: P;
  /** Default `'last'`. */
  catchUp?: CatchUpPolicy;
  /** An occurrence at most this late is enqueued whatever `catchUp` says. Default `'1m'`. */
  misfireGrace?: Duration;
  /** Default `'allow'`. */
  overlap?: OverlapPolicy;
  /**
   * Apply only if the schedule is at this version (0: only if it does not exist yet); otherwise
   * throw {@link PgschedConflictError} and change nothing.
   */
  expectedVersion?: number;
  /**
   * For a schedule that exists: `immediate` (default) recomputes the next fire time from now with
   * the new definition; `graceful` lets the next occurrence that is already planned fire under the
   * old definition, then switches.
   */
  updatePolicy?: UpdatePolicy;
}

/** One entry of `start({ schedules })`. */
export interface ScheduleEntry<J extends string = string, P = unknown> extends ScheduleOptions<J, P> {
  name: string;
}

/** The stored definition of a schedule (also the shape of a pending graceful update). */
export interface ScheduleDefinition {
  kind: TriggerKind;
  /** The trigger as given: one of `{ cron }`, `{ every }`, `{ iso }`, `{ at }`. */
  spec: Pick<TriggerSpec, 'cron' | 'every' | 'iso'> & { at?: string };
  tz: string;
  startAt: Date | null;
  endAt: Date | null;
  job: string;
  payload: unknown;
  /** Job options with durations in milliseconds; `queue` and `priority` are always set. */
  options: StoredJobOptions;
  catchUp: 'all' | 'last' | 'none' | { max: number; withinMs: number };
  misfireGraceMs: number;
  overlap: OverlapPolicy;
}

export interface StoredJobOptions {
  queue: string;
  priority: number;
  maxAttempts?: number;
  timeoutMs?: number;
  visibilityMs?: number;
  backoff?: { type: string; base: number; max?: number; jitter?: number };
  delivery?: 'at-least-once' | 'at-most-once';
}

/** A schedule as `getSchedule` and `listSchedules` return it. */
export interface Schedule extends ScheduleDefinition {
  name: string;
  paused: boolean;
  version: number;
  /** The next occurrence the ticker will handle; null when the trigger has none left. */
  nextFireAt: Date | null;
  /** Fire time of the latest enqueued occurrence. */
  lastFireAt: Date | null;
  /** Occurrences enqueued so far. */
  runCount: number;
  /** How the latest change was applied. */
  updatePolicy: UpdatePolicy;
  /** A graceful update that takes over once `nextFireAt` has fired under the current definition. */
  pending: ScheduleDefinition | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A stretch of consecutive occurrences of one schedule that were not enqueued, for one reason. */
export interface MissedOccurrences {
  /** `catch-up`: more than misfireGrace late and dropped by the catchUp policy; `overlap`: overlap 'skip'. */
  reason: 'catch-up' | 'overlap';
  firstAt: Date;
  lastAt: Date;
  /** How many occurrences; null when more than 100,000. */
  count: number | null;
  recordedAt: Date;
}
