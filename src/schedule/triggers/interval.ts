import { parseDuration } from '../../duration.js';
import { PgschedValidationError } from '../../errors.js';
import type { Sequence } from './types.js';
import { MINUTE } from './zone.js';

export const INTERVAL_EXPECTED =
  "expected a positive duration: milliseconds or a string like '500ms', '30s', '5m', '1h30m'";

/** Parses an `every` value into whole milliseconds (at least 1, so iteration always advances). */
export function parseInterval(field: string, value: unknown): number {
  const period = parseDuration(field, value, { allowZero: false });
  // parseDuration rounds after its zero check, so 0.4 would otherwise become a 0ms period.
  if (period < 1) throw new PgschedValidationError(field, value, INTERVAL_EXPECTED);
  return period;
}

/**
 * Fires at anchor + k·period for every integer k. Anchoring at the epoch (when there is no startAt)
 * makes the phase independent of when the schedule was created: `15m` always fires at :00, :15, :30, :45.
 * Plain arithmetic, so time zones and DST never matter.
 */
export function intervalSequence(period: number, anchor: number): Sequence {
  return {
    hasSeconds: mod(period, MINUTE) !== 0 || mod(anchor, MINUTE) !== 0,
    nextAfter(after: number): number {
      return anchor + (Math.floor((after - anchor) / period) + 1) * period;
    },
  };
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
