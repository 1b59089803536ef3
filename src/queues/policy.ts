import { z } from 'zod';
import type { Duration } from '../duration.js';
import { PgschedValidationError } from '../errors.js';
import { duration, parseOptions } from '../options.js';

/** At most `limit` job starts per `period`, counted over every worker together. */
export interface RateLimit {
  /** Starts per period: an integer ≥ 1. */
  limit: number;
  /** Milliseconds or a duration string such as `'1s'`, `'1m'`. */
  period: Duration;
}

/**
 * A queue's policy, obeyed by every worker of the schema. In `setQueue`, an omitted field is kept
 * as it is and `null` removes that limit.
 */
export interface QueuePolicyOptions {
  /**
   * Jobs of this queue whose handlers run at once, all workers together. Each worker holds a share
   * (permits, renewed every 500 ms) and may claim jobs ahead of it, which wait in its buffer.
   */
  concurrency?: number | null;
  /** Job starts of this queue per period, all workers together. */
  rateLimit?: RateLimit | null;
  /**
   * Running jobs per group of this queue (see the `group` enqueue option). A worker that runs a
   * group's jobs alone may claim its next ones ahead and start them as this allows.
   */
  groupConcurrency?: number | null;
  /** Job starts per group of this queue per period. */
  groupRateLimit?: RateLimit | null;
}

/** A rate limit as stored: the period in milliseconds. */
export interface StoredRateLimit {
  limit: number;
  /** Milliseconds. */
  period: number;
}

/** Job counts of a queue by state. */
export interface QueueCounts {
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/** A queue as `getQueue` and `listQueues` return it: its policy (null: no limit) and its job counts. */
export interface QueueInfo {
  name: string;
  paused: boolean;
  concurrency: number | null;
  rateLimit: StoredRateLimit | null;
  groupConcurrency: number | null;
  groupRateLimit: StoredRateLimit | null;
  counts: QueueCounts;
}

const limit = z.number().int('expected an integer ≥ 1').min(1, 'expected an integer ≥ 1').max(2_147_483_647);
// Periods are added to timestamps in SQL: positive and at most ~31 years.
const period = duration(false).refine((ms) => ms <= 1e12, 'expected at most 1e12 ms');
const rate = z.strictObject({ limit, period });

const policySchema = z.strictObject({
  concurrency: limit.nullable().optional(),
  rateLimit: rate.nullable().optional(),
  groupConcurrency: limit.nullable().optional(),
  groupRateLimit: rate.nullable().optional(),
});

/** The parsed policy: undefined keeps a field, null clears it; periods in milliseconds. */
export type ParsedPolicy = z.output<typeof policySchema>;

export function parsePolicy(options: unknown, field: string): ParsedPolicy {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new PgschedValidationError(field, options, 'expected an object of queue options');
  }
  return parseOptions(policySchema, options, field);
}
