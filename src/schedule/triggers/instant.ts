import { PgschedValidationError } from '../../errors.js';
import { HOUR, MINUTE, type Zone } from './zone.js';

export const DATE_TIME_EXPECTED =
  "expected a valid Date or an ISO 8601 date-time such as '2026-01-01T09:00:00Z' (without an offset it is read in the schedule's tz)";

// Only ISO 8601: `new Date(string)` also takes '1/2/2026' and reads it in the *process* zone, which would
// make a schedule depend on where it was parsed.
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * The instants pgsched stores (run times, schedule windows and fire times): from the Unix epoch to
 * the end of year 9999. Past 9999 the driver sends a 6-digit ISO year PostgreSQL rejects; before
 * year 100 it reads PostgreSQL's answer back as 19xx or 20xx, and before standard time zones
 * (most zones, before 1970) PostgreSQL prints offsets with seconds that a Date cannot parse.
 */
export const MIN_INSTANT = 0;
export const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export const INSTANT_RANGE = 'from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z';

/**
 * Epoch milliseconds of a Date or an ISO 8601 date-time string. A string without an offset is a wall
 * time in `zone`: a repeated time means its first occurrence, a skipped one the end of the gap.
 */
export function parseInstant(field: string, value: unknown, zone: Zone): number {
  let ms: number | null = null;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string') ms = parseIsoDateTime(value.trim(), zone);
  if (ms === null || Number.isNaN(ms)) throw new PgschedValidationError(field, value, DATE_TIME_EXPECTED);
  if (ms < MIN_INSTANT || ms > MAX_INSTANT) {
    throw new PgschedValidationError(field, value, `expected a time ${INSTANT_RANGE}`);
  }
  return ms;
}

/** Epoch milliseconds of an ISO 8601 date or date-time, or null if `text` is not one. */
export function parseIsoDateTime(text: string, zone: Zone): number | null {
  const m = ISO_DATE_TIME.exec(text);
  if (!m) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', offset] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month - 1)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const ms = Math.round(Number(`0.${frac || '0'}`) * 1000);
  const wall = wallOf(year, month - 1, day) + hour * HOUR + minute * MINUTE + second * 1000 + ms;
  if (offset === undefined) return zone.toInstant(wall);
  if (offset.toUpperCase() === 'Z') return wall;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  const offsetHours = Number(digits.slice(0, 2));
  const offsetMinutes = Number(digits.slice(2) || '0');
  if (offsetHours > 23 || offsetMinutes > 59) return null;
  return wall - sign * (offsetHours * HOUR + offsetMinutes * MINUTE);
}

/** Wall milliseconds of midnight on a calendar date; month is 0-based and may overflow, like Date.UTC. */
export function wallOf(year: number, month: number, day: number): number {
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  return date.getTime();
}

export function daysInMonth(year: number, month: number): number {
  return new Date(wallOf(year, month + 1, 0)).getUTCDate();
}
