import { PgschedValidationError } from '../../errors.js';
import { daysInMonth, MAX_INSTANT, parseIsoDateTime, wallOf } from './instant.js';
import type { Sequence } from './types.js';
import { DAY, HOUR, MINUTE, SECOND, type Zone } from './zone.js';

export const ISO_EXPECTED =
  "expected an ISO 8601 repeating interval 'R[n]/<start>/<duration>' or 'R[n]/<start>/<end>', e.g. 'R10/2026-01-01T00:00:00Z/PT6H' (n ≥ 1; omit n for no limit)";

const REPEATING = /^R(\d*)\/([^/]+)\/([^/]+)$/i;
const DURATION =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;

/** A period split into the calendar part (done on the wall clock of the zone) and the exact part. */
interface Period {
  readonly months: number;
  readonly days: number;
  readonly exactMs: number;
}

/**
 * Parses an ISO 8601 repeating interval. `Rn` means n fire times: start, start + P, …, start + (n−1)·P.
 * Years, months, weeks and days are calendar units in the schedule's zone (P1D is 23h across spring
 * forward; P1M from Jan 31 gives Feb 28, then Mar 31), hours, minutes and seconds are exact.
 */
export function isoSequence(field: string, value: unknown, zone: Zone): Sequence {
  const fail = (why: string): never => {
    throw new PgschedValidationError(field, value, why ? `${ISO_EXPECTED}; ${why}` : ISO_EXPECTED);
  };
  const match = typeof value === 'string' ? REPEATING.exec(value.trim()) : null;
  if (!match) return fail('');
  const [, repeat = '', startText = '', tail = ''] = match;
  const count = repeat === '' ? null : Number(repeat);
  if (count === 0) return fail('R0 would never fire');
  const start = parseIsoDateTime(startText, zone) ?? fail(`bad start '${startText}'`);
  let period: Period;
  if (/^P/i.test(tail)) {
    period = parsePeriod(tail) ?? fail(`bad or zero duration '${tail}'`);
  } else {
    const end = parseIsoDateTime(tail, zone) ?? fail(`bad duration or end '${tail}'`);
    if (end <= start) fail(`end '${tail}' is not after the start`);
    period = { months: 0, days: 0, exactMs: end - start };
  }
  const at = occurrenceOf(zone, start, period);
  // Estimated length of one period, to jump near the answer instead of stepping from the start.
  const approx = period.months * 30.436875 * DAY + period.days * DAY + period.exactMs;

  return {
    hasSeconds: period.exactMs % MINUTE !== 0 || start % MINUTE !== 0,
    nextAfter(after: number): number | null {
      // Occurrences strictly increase with k, so correct the estimate in both directions.
      let k = Math.max(0, Math.floor((after - start) / approx));
      while (k > 0 && at(k - 1) > after) k--;
      while (at(k) <= after) k++;
      return count !== null && k >= count ? null : at(k);
    },
  };
}

function parsePeriod(text: string): Period | null {
  const m = DURATION.exec(text);
  // The regex also accepts 'P' and 'P1DT' (empty parts); both are malformed.
  if (!m || /T$/i.test(text) || m.slice(1).every((part) => part === undefined)) return null;
  const n = (i: number) => Number((m[i] ?? '0').replace(',', '.'));
  const period = {
    months: n(1) * 12 + n(2),
    days: n(3) * 7 + n(4),
    exactMs: Math.round(n(5) * HOUR + n(6) * MINUTE + n(7) * SECOND),
  };
  return period.months + period.days + period.exactMs > 0 ? period : null;
}

/**
 * k ↦ start + k·period, computed from the start each time so month-end clamping never accumulates
 * (Jan 31 + 2 months is Mar 31, not Mar 28).
 */
function occurrenceOf(zone: Zone, start: number, period: Period): (k: number) => number {
  if (period.months === 0 && period.days === 0) return (k) => start + k * period.exactMs;
  const wall = zone.toWall(start);
  const date = new Date(wall);
  const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
  const timeOfDay = wall - wallOf(year, month, day);
  return (k) => {
    const monthIndex = month + k * period.months;
    const y = year + Math.floor(monthIndex / 12);
    const m = monthIndex - Math.floor(monthIndex / 12) * 12;
    const d = Math.min(day, daysInMonth(y, m)) + k * period.days;
    const wallTime = wallOf(y, m, d) + timeOfDay;
    // Huge periods (P999999999Y) leave the Date range (NaN), where the zone lookup would throw: such
    // an occurrence is past every storable time, which ends the schedule (see clipToWindow).
    if (!(wallTime <= MAX_INSTANT + DAY)) return Number.POSITIVE_INFINITY;
    // Calendar maths on the wall clock, then back to an instant (a time in a DST gap means the gap's end).
    return zone.toInstant(wallTime) + k * period.exactMs;
  };
}
