import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { z } from 'zod';
import { type Duration, MAX_TIMER_MS } from './duration.js';
import { validateQueueName } from './identifiers.js';
import type { RetentionMs } from './maintenance/pruner.js';
import { duration, parseOptions } from './options.js';
import type { ScheduleEntry } from './schedule/index.js';

export interface PgschedOptions {
  /** A postgres.js client; pgsched runs every statement through it. */
  sql: Sql;
  /** Schema of pgsched's tables. Default `pgsched`. */
  schema?: string;
  /** A pino logger; default: pino at `info` (or `PGSCHED_LOG_LEVEL`). */
  logger?: Logger;
  /** Largest accepted payload (and result), serialised, in bytes. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** Source of randomness for backoff jitter; injectable for tests. */
  random?: () => number;
}

export interface StartOptions {
  /** Queues to claim from; default all. */
  queues?: string[];
  /** Jobs run at once. Default 10. */
  concurrency?: number;
  /**
   * Jobs claimed ahead of free slots, so a finishing job finds the next one already local.
   * Default: adaptive, from 0 to 1,000 — about as many jobs as the worker's slots finish during
   * a few claim round trips, measured as it runs: short jobs are claimed in batches of hundreds,
   * jobs much longer than a round trip only for free slots (nothing held that an idle worker could
   * run). Set a number to fix it (for example lower, for payloads of megabytes).
   */
  prefetch?: number;
  /** Fallback poll (also picks up delayed jobs and retries). Default 1s. */
  pollInterval?: Duration;
  /**
   * No LISTEN: for PgBouncer transaction pooling, where a LISTEN lands on a server connection
   * that other clients share. Jobs and schedule changes are then found by polling.
   */
  pollOnly?: boolean;
  /**
   * A direct (session) URL for LISTEN when `sql` goes through a transaction pooler: wake-ups
   * arrive at once instead of at the next poll. Ignored with `pollOnly`.
   */
  listenUrl?: string;
  /**
   * A leader that stops renewing its lease (dead, frozen, cut off) loses leadership this long
   * after its last renewal, and another process takes over every duty. Default 10s; 1s–5m.
   */
  leaderTimeout?: Duration;
  /** Take part in leader election (rescuer, pruner, schedules). Default true. */
  leader?: boolean;
  /**
   * How long finished jobs are kept before the pruner deletes them. Defaults: completed 1h,
   * failed and cancelled 7d. `completed: 0` deletes a job as its completion is written, which
   * is the fastest setting (a delete costs the database about half of an update), but then
   * `getJob()` no longer finds completed jobs or their results.
   */
  retention?: { completed?: Duration; failed?: Duration; cancelled?: Duration };
  /** Schedules to create or update before starting (unchanged ones are left alone). */
  schedules?: ScheduleEntry[];
  /** Delete stored schedules missing from `schedules`. Default false. */
  removeUnlistedSchedules?: boolean;
  /**
   * How often this process refreshes its entry in the workers registry (`listWorkers()`); an
   * entry not refreshed for three intervals (a killed process) is no longer listed. Default 10s.
   */
  registryInterval?: Duration;
}

export const clientSchema = z.strictObject({
  sql: z.custom<Sql>(
    (v) => typeof v === 'function' && typeof (v as { unsafe?: unknown }).unsafe === 'function',
    'expected a postgres.js client',
  ),
  schema: z.string().optional(),
  logger: z
    .custom<Logger>((v) => typeof v === 'object' && v !== null && 'child' in v, 'expected a pino logger')
    .optional(),
  maxPayloadBytes: z.number().int().positive().optional(),
  random: z.custom<() => number>((v) => typeof v === 'function', 'expected a function').optional(),
});

const startSchema = z.strictObject({
  queues: z.array(z.string()).min(1).optional(),
  concurrency: z.number().int().min(1).max(10_000).optional(),
  prefetch: z.number().int().min(0).max(100_000).optional(),
  pollInterval: duration(false, MAX_TIMER_MS).optional(),
  pollOnly: z.boolean().optional(),
  listenUrl: z.string().url().optional(),
  leaderTimeout: duration(false)
    .refine((ms) => ms >= 1_000 && ms <= 300_000, 'expected a duration from 1s to 5m')
    .optional(),
  leader: z.boolean().optional(),
  retention: z
    .strictObject({
      completed: duration(true).optional(),
      failed: duration(true).optional(),
      cancelled: duration(true).optional(),
    })
    .optional(),
  schedules: z.array(z.unknown()).optional(),
  removeUnlistedSchedules: z.boolean().optional(),
  registryInterval: duration(false, MAX_TIMER_MS).optional(),
});

const RETENTION_DEFAULTS: RetentionMs = {
  completed: 3_600_000,
  failed: 7 * 86_400_000,
  cancelled: 7 * 86_400_000,
};

/** Validates `start()` options (durations to ms, queue names) and fills retention defaults. */
export function parseStartOptions(options: StartOptions) {
  const opts = parseOptions(startSchema, options, 'start.options');
  return {
    ...opts,
    queues: opts.queues?.map((q, i) => validateQueueName(`start.options.queues[${i}]`, q)),
    retention: {
      completed: opts.retention?.completed ?? RETENTION_DEFAULTS.completed,
      failed: opts.retention?.failed ?? RETENTION_DEFAULTS.failed,
      cancelled: opts.retention?.cancelled ?? RETENTION_DEFAULTS.cancelled,
    },
  };
}

const stopSchema = z.strictObject({
  // the worker waits this long on a timer
  timeout: duration(true, MAX_TIMER_MS).optional(),
});

/** Validates `stop()` options; the timeout defaults to 30 s. */
export function parseStopOptions(options: unknown): { timeoutMs: number } {
  const opts = parseOptions(stopSchema, options, 'stop.options');
  return { timeoutMs: opts.timeout ?? 30_000 };
}
