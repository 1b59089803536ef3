import { type CronExpression, CronExpressionParser } from 'cron-parser';
import { PgschedValidationError } from '../../errors.js';
import { DAY, HOUR, MINUTE, SECOND } from './zone.js';

export const CRON_EXPECTED =
  "expected a cron expression with 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), one of @yearly @annually @monthly @weekly @daily @midnight @hourly, or '@every <duration>'";

// Our own table rather than cron-parser's: it also knows @minutely, @secondly, @weekdays and
// @weekends, and lacks @midnight; the accepted set should be what our docs say.
const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A Gregorian calendar repeats (weekdays included) every 400 years; no match in that span means never. */
const MAX_SCAN_DAYS = 146_097;

/**
 * The set of wall-clock times a cron expression matches, with no time zone attached. cron-parser does
 * the parsing and the day-of-month/day-of-week rules (L, #, the OR of both fields); the time-of-day
 * search and all time-zone handling are ours (see cron.ts for why).
 */
export class CronPattern {
  /** Hour field covers all 24 hours (`*`, `0-23`, `*\/1`): the schedule is periodic rather than a time of day. */
  readonly everyHour: boolean;
  /** Some fire times are not on a whole minute. */
  readonly hasSeconds: boolean;
  private readonly seconds: readonly number[];
  private readonly minutes: readonly number[];
  private readonly hours: readonly number[];
  private readonly months: ReadonlySet<number>;
  /** Milliseconds into a day of the first matching time, used to ask cron-parser about a whole day. */
  private readonly firstTimeOfDay: number;

  private constructor(private readonly expression: CronExpression) {
    const { second, minute, hour, month } = expression.fields;
    this.seconds = numbers(second.values);
    this.minutes = numbers(minute.values);
    this.hours = numbers(hour.values);
    this.months = new Set(numbers(month.values));
    this.everyHour = this.hours.length === 24;
    this.hasSeconds = this.seconds.length !== 1 || this.seconds[0] !== 0;
    this.firstTimeOfDay = this.hours[0]! * HOUR + this.minutes[0]! * MINUTE + this.seconds[0]! * SECOND;
  }

  static parse(field: string, value: string): CronPattern {
    const text = MACROS[value.trim().toLowerCase()] ?? value.trim();
    const parts = text.split(/\s+/);
    // cron-parser quietly accepts fewer fields (even '' means every minute), which hides typos.
    if (text.startsWith('@') || (parts.length !== 5 && parts.length !== 6)) {
      throw new PgschedValidationError(field, value, CRON_EXPECTED);
    }
    // 'H' is cron-parser's random "hash" value: unseeded it differs per process, so two workers would
    // disagree about when the schedule is due.
    if (parts.some((part) => /(^|,)H(?=$|[(/#,])/i.test(part))) {
      throw new PgschedValidationError(
        field,
        value,
        `${CRON_EXPECTED}; the random 'H' value is not supported`,
      );
    }
    let expression: CronExpression;
    try {
      // Spell out the seconds so both forms take the same path; parsed in UTC because only the
      // field values are used, never cron-parser's own iteration.
      expression = CronExpressionParser.parse(parts.length === 5 ? `0 ${text}` : text, { tz: 'UTC' });
    } catch (error) {
      throw new PgschedValidationError(field, value, `${CRON_EXPECTED}; ${(error as Error).message}`);
    }
    const pattern = new CronPattern(expression);
    if (pattern.nextMatch(Date.UTC(2000, 0, 1), Number.POSITIVE_INFINITY) === null) {
      throw new PgschedValidationError(field, value, `${CRON_EXPECTED}; this one never matches a date`);
    }
    return pattern;
  }

  /**
   * The first matching wall time at or after `from` (rounded up to a whole second), or null if there
   * is none up to `maxWall`.
   */
  nextMatch(from: number, maxWall: number): number | null {
    let day = Math.floor(from / DAY);
    let timeOfDay = Math.ceil((from - day * DAY) / SECOND) * SECOND;
    for (let scanned = 0; scanned < MAX_SCAN_DAYS && day * DAY <= maxWall; scanned++) {
      if (this.dayMatches(day)) {
        const time = this.firstTimeAtOrAfter(timeOfDay);
        if (time !== null) return day * DAY + time;
      }
      day++;
      timeOfDay = 0;
    }
    return null;
  }

  private dayMatches(day: number): boolean {
    // Month first: it is cheap and rules out most days of sparse schedules.
    if (!this.months.has(new Date(day * DAY).getUTCMonth() + 1)) return false;
    return this.expression.includesDate(new Date(day * DAY + this.firstTimeOfDay));
  }

  /** Odometer over the sorted hour, minute and second lists: earliest matching time of day ≥ `timeOfDay`. */
  private firstTimeAtOrAfter(timeOfDay: number): number | null {
    const total = timeOfDay / SECOND;
    const h0 = Math.floor(total / 3600);
    const m0 = Math.floor((total % 3600) / 60);
    const s0 = total % 60;
    for (const h of this.hours) {
      if (h < h0) continue;
      for (const m of this.minutes) {
        if (h === h0 && m < m0) continue;
        for (const s of this.seconds) {
          if (h === h0 && m === m0 && s < s0) continue;
          return h * HOUR + m * MINUTE + s * SECOND;
        }
      }
    }
    return null;
  }
}

function numbers(values: readonly (number | string)[]): number[] {
  return values.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
}
