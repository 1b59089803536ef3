import { z } from 'zod';
import { type Duration, MAX_TIMER_MS, parseDuration } from './duration.js';
import { PgschedValidationError } from './errors.js';
import { isStorableText, UNSTORABLE_TEXT } from './identifiers.js';
import { INSTANT_RANGE, MAX_INSTANT, MIN_INSTANT, parseIsoDateTime } from './schedule/triggers/instant.js';
import { Zone } from './schedule/triggers/zone.js';

/** How long to wait before retry n (1-based count of failed attempts). */
export interface BackoffOptions {
  type: 'exponential' | 'linear' | 'fixed';
  /** Delay of the first retry. */
  base: Duration;
  /** Upper bound of any delay. Default 1h. */
  max?: Duration;
  /** Fraction 0–1 of each delay that is randomised (subtracted), so retries of many jobs spread out. Default 0.1. */
  jitter?: number;
}

/** Options that a definition sets as defaults and an enqueue may override per job. */
export interface JobOptions {
  /** Queue name; workers may restrict themselves to some queues. Default `'default'`. */
  queue?: string;
  /** Lower runs first (like Oban, River, graphile-worker). Integer. Default 0. */
  priority?: number;
  /** Attempts before the job is `failed`. Default 25. */
  maxAttempts?: number;
  /** An attempt fails once it runs this long, even if the handler ignores its signal. */
  timeout?: Duration;
  /** Lease of a running job, extended by heartbeat; after it expires the rescuer takes the job back. Default 30s. */
  visibilityTimeout?: Duration;
  backoff?: BackoffOptions;
  /** `at-most-once` jobs are never started twice: a lost or failed attempt ends `failed`. */
  delivery?: 'at-least-once' | 'at-most-once';
}

/** A zod field for text stored in a `text` column (keys): 1–max characters, no NUL or lone surrogate. */
export const textField = (max: number) => z.string().min(1).max(max).refine(isStorableText, UNSTORABLE_TEXT);

const int32 = z.number().int().min(-2_147_483_648).max(2_147_483_647);

/** A zod field for a Duration, parsed to milliseconds and bounded (see duration.ts). */
export const duration = (allowZero: boolean, max?: number) =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    try {
      return parseDuration('', value, { allowZero, max });
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as PgschedValidationError).expected });
      return z.NEVER;
    }
  });

const backoffSchema = z.strictObject({
  type: z.enum(['exponential', 'linear', 'fixed']),
  base: duration(true),
  max: duration(true).optional(),
  jitter: z.number().min(0).max(1).optional(),
});

export const jobOptionShape = {
  queue: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'expected 1–100 characters of A-Z a-z 0-9 _ . : -')
    .optional(),
  priority: int32.optional(),
  maxAttempts: z.number().int().min(1).max(1_000_000).optional(),
  // integer columns, and the worker's timers
  timeout: duration(false, MAX_TIMER_MS).optional(),
  visibilityTimeout: duration(false, MAX_TIMER_MS).optional(),
  backoff: backoffSchema.optional(),
  delivery: z.enum(['at-least-once', 'at-most-once']).optional(),
};

export type ParsedBackoff = z.output<typeof backoffSchema>;
export type ParsedJobOptions = z.output<z.ZodObject<typeof jobOptionShape>>;

/**
 * Validates `input` against a strict zod schema and turns the first problem into a
 * PgschedValidationError naming the dotted field and the offending value.
 */
export function parseOptions<T extends z.ZodType>(schema: T, input: unknown, field: string): z.output<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const path = [...issue.path, key];
    throw new PgschedValidationError(fieldAt(field, path), valueAt(input, path), 'unknown option');
  }
  throw new PgschedValidationError(fieldAt(field, issue.path), valueAt(input, issue.path), issue.message);
}

/** `start.options` + ['queues', 1] → `start.options.queues[1]`, as the hand-written checks name them. */
function fieldAt(field: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : `${name}.${String(key)}`),
    field,
  );
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  return value;
}

/** A full date-time with `Z` or an offset, or a bare date (UTC midnight, as `new Date` reads it). */
const ABSOLUTE_ISO = /^\d{4}-\d{2}-\d{2}(?:[T ].*(?:Z|[+-]\d{2}(?::?\d{2})?))?$/i;

/**
 * Accepts a Date or an ISO 8601 string within the storable range; anything else (or an invalid
 * date) is an error. Strings must say their offset: `new Date` would read '2026-01-01T09:00' in the
 * process's zone, and also takes non-ISO text such as '1/2/2026' or '0' (the year 2000).
 */
export const dateSchema = z.union([z.date(), z.string()]).transform((value, ctx) => {
  const ms =
    value instanceof Date
      ? value.getTime()
      : ABSOLUTE_ISO.test(value.trim())
        ? parseIsoDateTime(value.trim(), Zone.utc)
        : null;
  if (ms === null || Number.isNaN(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: "expected a valid Date or an ISO 8601 date-time with an offset, e.g. '2026-01-01T09:00:00Z'",
    });
    return z.NEVER;
  }
  if (ms < MIN_INSTANT || ms > MAX_INSTANT) {
    ctx.addIssue({ code: 'custom', message: `expected a time ${INSTANT_RANGE}` });
    return z.NEVER;
  }
  return new Date(ms);
});
