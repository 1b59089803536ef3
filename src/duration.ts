import { PgschedValidationError } from './errors.js';

/** Milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'1h30m'`, `'2d'`. */
export type Duration = number | string;

/**
 * Upper bound of durations that end up in an `integer` column (timeout, visibility timeout, misfire
 * grace) or in a Node timer (setTimeout and setInterval fire after 1 ms when given more): 2³¹−1 ms,
 * about 24.8 days.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Upper bound of every other duration (delays, backoff, retention, intervals, catch-up windows):
 * 100 years. `now()` plus or minus this stays a valid JavaScript Date and PostgreSQL timestamptz,
 * and it is an exact integer in JavaScript and in a PostgreSQL bigint or interval.
 */
export const MAX_DELAY_MS = 36_500 * 86_400_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/;

export interface DurationBounds {
  /** Off for things like intervals and timeouts where zero would spin or make no sense. */
  allowZero?: boolean;
  /** Largest accepted value in milliseconds (after rounding). Default {@link MAX_DELAY_MS}. */
  max?: number;
}

/**
 * Parses a duration into whole milliseconds, or throws a validation error naming `field` and the
 * value. Zero and the upper bound are checked after rounding, so `0.4` is zero, not 1 ms; any
 * negative number is refused, however close to zero.
 */
export function parseDuration(
  field: string,
  value: unknown,
  { allowZero = true, max = MAX_DELAY_MS }: DurationBounds = {},
): number {
  const raw = toMs(value) ?? Number.NaN;
  const ms = Math.round(raw);
  // raw < 0, not ms < 0: -0.3 rounds to -0, which is not below zero.
  if (!Number.isFinite(ms) || raw < 0 || (!allowZero && ms === 0) || ms > max) {
    throw new PgschedValidationError(field, value, durationExpected(allowZero, max));
  }
  return ms;
}

/** The `expected` text of a rejected duration. */
export function durationExpected(allowZero: boolean, max: number): string {
  const kind = allowZero ? 'non-negative' : 'positive';
  return `expected a ${kind} duration of at most ${describeMax(max)}: milliseconds or a string like '500ms', '30s', '5m', '1h30m'`;
}

function describeMax(max: number): string {
  if (max === MAX_TIMER_MS) return `${MAX_TIMER_MS}ms (about 24.8 days)`;
  if (max === MAX_DELAY_MS) return '36500d (100 years)';
  return `${max}ms`;
}

function toMs(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  let rest = value.trim();
  if (rest === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(rest)) return Number(rest);
  let total = 0;
  while (rest.length > 0) {
    const match = DURATION_RE.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}
