import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { PgschedValidationError } from '../src/errors.js';
import { DST_RULES, parseTrigger, type Trigger, type TriggerSpec } from '../src/schedule/triggers/index.js';

const d = (text: string) => new Date(text);
const isoList = (dates: Date[]) => dates.map((date) => date.toISOString());
const between = (spec: TriggerSpec, from: string, to: string) =>
  isoList(parseTrigger(spec).between(d(from), d(to)));
const next = (spec: TriggerSpec, after: string) => parseTrigger(spec).next(d(after))?.toISOString() ?? null;

/** Chains next() by hand; between() must list exactly the same instants. */
function chainNext(trigger: Trigger, from: Date, to: Date): string[] {
  const out: string[] = [];
  for (let t = trigger.next(from); t !== null && t <= to; t = trigger.next(t)) out.push(t.toISOString());
  return out;
}

describe('cron expressions', () => {
  it('5 fields with steps, ranges and weekday names', () => {
    const spec = { cron: '*/15 9-17 * * MON-FRI' };
    // 2026-01-02 is a Friday; the weekend is skipped.
    expect(between(spec, '2026-01-02T17:40:00Z', '2026-01-05T09:20:00Z')).toEqual([
      '2026-01-02T17:45:00.000Z',
      '2026-01-05T09:00:00.000Z',
      '2026-01-05T09:15:00.000Z',
    ]);
    const trigger = parseTrigger(spec);
    expect(trigger.kind).toBe('cron');
    expect(trigger.hasSeconds).toBe(false);
  });

  it("6 fields, seconds first: '31 10-15 1 * * MON-FRI'", () => {
    const trigger = parseTrigger({ cron: '31 10-15 1 * * MON-FRI' });
    const fires = isoList(trigger.between(d('2026-01-01T00:00:00Z'), d('2026-01-06T00:00:00Z')));
    // Thu 1st, Fri 2nd and Mon 5th, six minutes each, at second 31; not Sat 3rd or Sun 4th.
    expect(fires).toHaveLength(18);
    expect(fires.slice(0, 7)).toEqual([
      '2026-01-01T01:10:31.000Z',
      '2026-01-01T01:11:31.000Z',
      '2026-01-01T01:12:31.000Z',
      '2026-01-01T01:13:31.000Z',
      '2026-01-01T01:14:31.000Z',
      '2026-01-01T01:15:31.000Z',
      '2026-01-02T01:10:31.000Z',
    ]);
    expect(fires.slice(12)).toEqual([
      '2026-01-05T01:10:31.000Z',
      '2026-01-05T01:11:31.000Z',
      '2026-01-05T01:12:31.000Z',
      '2026-01-05T01:13:31.000Z',
      '2026-01-05T01:14:31.000Z',
      '2026-01-05T01:15:31.000Z',
    ]);
    expect(trigger.hasSeconds).toBe(true);
    expect(parseTrigger({ cron: '0 * * * * *' }).hasSeconds).toBe(false);
  });

  it('month names and ranges, any case', () => {
    const fires = between({ cron: '0 8 * FEB-MAR SAT' }, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z');
    expect(fires).toEqual([
      '2026-02-07T08:00:00.000Z',
      '2026-02-14T08:00:00.000Z',
      '2026-02-21T08:00:00.000Z',
      '2026-02-28T08:00:00.000Z',
      '2026-03-07T08:00:00.000Z',
      '2026-03-14T08:00:00.000Z',
      '2026-03-21T08:00:00.000Z',
      '2026-03-28T08:00:00.000Z',
    ]);
    expect(between({ cron: '0 0 1 jan,jul *' }, '2025-12-31T00:00:00Z', '2026-12-31T00:00:00Z')).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-07-01T00:00:00.000Z',
    ]);
  });

  it.each([
    ['@yearly', '2027-01-01T00:00:00.000Z'],
    ['@annually', '2027-01-01T00:00:00.000Z'],
    ['@monthly', '2026-06-01T00:00:00.000Z'],
    ['@weekly', '2026-05-10T00:00:00.000Z'], // 2026-05-05 is a Tuesday; next Sunday
    ['@daily', '2026-05-06T00:00:00.000Z'],
    ['@midnight', '2026-05-06T00:00:00.000Z'],
    ['@hourly', '2026-05-05T11:00:00.000Z'],
  ])('%s', (cron, expected) => {
    expect(next({ cron }, '2026-05-05T10:20:00Z')).toBe(expected);
  });

  it('macros are read in the schedule tz', () => {
    expect(next({ cron: '@daily', tz: 'Europe/Berlin' }, '2026-05-05T10:20:00Z')).toBe(
      '2026-05-05T22:00:00.000Z',
    );
  });

  it("'@every 30s' is an epoch-anchored interval with sub-minute resolution", () => {
    const trigger = parseTrigger({ cron: '@every 30s' });
    expect(trigger.kind).toBe('cron');
    expect(trigger.hasSeconds).toBe(true);
    expect(trigger.next(d('2026-01-01T00:00:10Z'))?.toISOString()).toBe('2026-01-01T00:00:30.000Z');
    expect(isoList(trigger.between(d('2026-01-01T00:00:00Z'), d('2026-01-01T00:02:00Z')))).toEqual([
      '2026-01-01T00:00:30.000Z',
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:01:30.000Z',
      '2026-01-01T00:02:00.000Z',
    ]);
  });

  it("'@every 1h30m' is anchored at the epoch, or at startAt", () => {
    // 2026-01-01T00:00Z is a whole number of 90-minute steps after the epoch.
    expect(between({ cron: '@every 1h30m' }, '2026-01-01T00:00:00Z', '2026-01-01T06:00:00Z')).toEqual([
      '2026-01-01T01:30:00.000Z',
      '2026-01-01T03:00:00.000Z',
      '2026-01-01T04:30:00.000Z',
      '2026-01-01T06:00:00.000Z',
    ]);
    const anchored = { cron: '@every 1h30m', startAt: '2026-01-01T00:10:00Z' };
    expect(between(anchored, '2025-12-31T00:00:00Z', '2026-01-01T03:00:00Z')).toEqual([
      '2026-01-01T00:10:00.000Z',
      '2026-01-01T01:40:00.000Z',
    ]);
    expect(parseTrigger(anchored).hasSeconds).toBe(false);
  });

  it('cron fire times are whole seconds', () => {
    expect(next({ cron: '* * * * * *' }, '2026-01-01T00:00:00.500Z')).toBe('2026-01-01T00:00:01.000Z');
    expect(next({ cron: '* * * * *' }, '2026-01-01T00:00:00.001Z')).toBe('2026-01-01T00:01:00.000Z');
  });

  it('L and # day rules come from cron-parser', () => {
    expect(next({ cron: '0 0 L * *' }, '2026-02-01T00:00:00Z')).toBe('2026-02-28T00:00:00.000Z');
    // The fifth Monday of a February only exists in a leap year starting on a Monday.
    expect(next({ cron: '0 0 * 2 1#5' }, '2026-01-01T00:00:00Z')).toBe('2044-02-29T00:00:00.000Z');
  });
});

describe('DST', () => {
  it('exports the rule text for the README', () => {
    expect(DST_RULES).toMatch(/first occurrence/);
    expect(DST_RULES).toMatch(/03:00/);
  });

  describe('Europe/Berlin spring forward (2026-03-29, 02:00 CET → 03:00 CEST at 01:00Z)', () => {
    const tz = 'Europe/Berlin';
    it('a skipped fixed time fires once at 03:00 local', () => {
      expect(between({ cron: '30 2 * * *', tz }, '2026-03-27T12:00:00Z', '2026-03-31T12:00:00Z')).toEqual([
        '2026-03-28T01:30:00.000Z', // 02:30 CET
        '2026-03-29T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST
        '2026-03-30T00:30:00.000Z', // 02:30 CEST
        '2026-03-31T00:30:00.000Z',
      ]);
    });
    it('several skipped times collapse into one fire', () => {
      expect(between({ cron: '15,45 2 * * *', tz }, '2026-03-28T12:00:00Z', '2026-03-30T12:00:00Z')).toEqual([
        '2026-03-29T01:00:00.000Z',
        '2026-03-30T00:15:00.000Z',
        '2026-03-30T00:45:00.000Z',
      ]);
    });
    it('every-hour crons follow real time and skip the missing hour', () => {
      expect(between({ cron: '0 * * * *', tz }, '2026-03-28T23:30:00Z', '2026-03-29T03:30:00Z')).toEqual([
        '2026-03-29T00:00:00.000Z', // 01:00 CET
        '2026-03-29T01:00:00.000Z', // 03:00 CEST
        '2026-03-29T02:00:00.000Z',
        '2026-03-29T03:00:00.000Z',
      ]);
      expect(between({ cron: '30 * * * *', tz }, '2026-03-29T00:00:00Z', '2026-03-29T02:00:00Z')).toEqual([
        '2026-03-29T00:30:00.000Z', // 01:30 CET
        '2026-03-29T01:30:00.000Z', // 03:30 CEST; 02:30 never happened
      ]);
      expect(
        between({ cron: '*/30 * * * *', tz }, '2026-03-29T00:00:00Z', '2026-03-29T02:00:00Z'),
      ).toHaveLength(4);
    });
  });

  describe('Europe/Berlin fall back (2026-10-25, 03:00 CEST → 02:00 CET at 01:00Z)', () => {
    const tz = 'Europe/Berlin';
    it('a repeated fixed time fires once, on the first occurrence', () => {
      expect(between({ cron: '30 2 * * *', tz }, '2026-10-23T12:00:00Z', '2026-10-27T12:00:00Z')).toEqual([
        '2026-10-24T00:30:00.000Z',
        '2026-10-25T00:30:00.000Z', // 02:30 CEST; not again at 02:30 CET (01:30Z)
        '2026-10-26T01:30:00.000Z',
        '2026-10-27T01:30:00.000Z',
      ]);
      expect(between({ cron: '*/20 2 * * *', tz }, '2026-10-24T12:00:00Z', '2026-10-25T12:00:00Z')).toEqual([
        '2026-10-25T00:00:00.000Z',
        '2026-10-25T00:20:00.000Z',
        '2026-10-25T00:40:00.000Z',
      ]);
    });
    it('every-hour crons fire in both passes of the repeated hour', () => {
      expect(between({ cron: '0 * * * *', tz }, '2026-10-24T22:30:00Z', '2026-10-25T03:30:00Z')).toEqual([
        '2026-10-24T23:00:00.000Z', // 01:00 CEST
        '2026-10-25T00:00:00.000Z', // 02:00 CEST
        '2026-10-25T01:00:00.000Z', // 02:00 CET
        '2026-10-25T02:00:00.000Z', // 03:00 CET
        '2026-10-25T03:00:00.000Z',
      ]);
      expect(
        between({ cron: '*/30 * * * *', tz }, '2026-10-24T23:50:00Z', '2026-10-25T02:00:00Z'),
      ).toHaveLength(5);
    });
    it('next() from inside the repeated hour', () => {
      // 02:10 CET, second pass: 02:30 already fired at 02:30 CEST.
      expect(next({ cron: '30 2 * * *', tz }, '2026-10-25T01:10:00Z')).toBe('2026-10-26T01:30:00.000Z');
      // 02:45 CEST, first pass: the hourly job's next fire is 02:00 CET.
      expect(next({ cron: '0 * * * *', tz }, '2026-10-25T00:45:00Z')).toBe('2026-10-25T01:00:00.000Z');
      expect(next({ cron: '*/30 * * * *', tz }, '2026-10-25T00:10:00Z')).toBe('2026-10-25T00:30:00.000Z');
    });
  });

  describe('America/New_York spring forward (2026-03-08, 02:00 EST → 03:00 EDT at 07:00Z)', () => {
    const tz = 'America/New_York';
    it('a skipped fixed time fires once at 03:00 local', () => {
      expect(between({ cron: '30 2 * * *', tz }, '2026-03-06T12:00:00Z', '2026-03-10T12:00:00Z')).toEqual([
        '2026-03-07T07:30:00.000Z',
        '2026-03-08T07:00:00.000Z',
        '2026-03-09T06:30:00.000Z',
        '2026-03-10T06:30:00.000Z',
      ]);
    });
    it('hourly fires every real hour', () => {
      expect(between({ cron: '0 * * * *', tz }, '2026-03-08T05:30:00Z', '2026-03-08T09:30:00Z')).toEqual([
        '2026-03-08T06:00:00.000Z', // 01:00 EST
        '2026-03-08T07:00:00.000Z', // 03:00 EDT
        '2026-03-08T08:00:00.000Z',
        '2026-03-08T09:00:00.000Z',
      ]);
    });
  });

  describe('America/New_York fall back (2026-11-01, 02:00 EDT → 01:00 EST at 06:00Z)', () => {
    const tz = 'America/New_York';
    it('a repeated fixed time fires once, on the first occurrence', () => {
      expect(between({ cron: '30 1 * * *', tz }, '2026-10-30T12:00:00Z', '2026-11-03T12:00:00Z')).toEqual([
        '2026-10-31T05:30:00.000Z',
        '2026-11-01T05:30:00.000Z', // 01:30 EDT; not again at 01:30 EST (06:30Z)
        '2026-11-02T06:30:00.000Z',
        '2026-11-03T06:30:00.000Z',
      ]);
      expect(between({ cron: '*/20 1 * * *', tz }, '2026-10-31T12:00:00Z', '2026-11-01T12:00:00Z')).toEqual([
        '2026-11-01T05:00:00.000Z',
        '2026-11-01T05:20:00.000Z',
        '2026-11-01T05:40:00.000Z',
      ]);
    });
    it('hourly fires in both passes', () => {
      expect(between({ cron: '0 * * * *', tz }, '2026-11-01T03:30:00Z', '2026-11-01T08:30:00Z')).toEqual([
        '2026-11-01T04:00:00.000Z', // 00:00 EDT
        '2026-11-01T05:00:00.000Z', // 01:00 EDT
        '2026-11-01T06:00:00.000Z', // 01:00 EST
        '2026-11-01T07:00:00.000Z', // 02:00 EST
        '2026-11-01T08:00:00.000Z',
      ]);
    });
  });

  it('agrees with a minute-by-minute brute force of the rules around every 2026 transition', () => {
    const zones = ['Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago'];
    const crons = ['0 * * * *', '*/20 * * * *', '30 2 * * *', '15,45 2 * * *', '45 0 * * *', '0 */2 * * *'];
    let transitions = 0;
    for (const tz of zones) {
      for (const at of transitionsIn2026(tz)) {
        transitions++;
        const from = at - 24 * HOUR;
        const to = at + 24 * HOUR;
        const clock = minuteByMinute(tz, from - 6 * HOUR, to + 6 * HOUR);
        for (const cron of crons) {
          const got = parseTrigger({ cron, tz }).between(new Date(from), new Date(to));
          expect(isoList(got), `${cron} in ${tz}`).toEqual(bruteForce(cron, clock, from, to).map(toIso));
        }
      }
    }
    expect(transitions).toBe(8);
  }, 30_000);
});

describe('every', () => {
  it('is anchored at the epoch: 15m fires on the quarter hours, keeping ms precision', () => {
    const trigger = parseTrigger({ every: '15m' });
    expect(trigger.kind).toBe('every');
    expect(trigger.hasSeconds).toBe(false);
    expect(trigger.next(d('2026-01-01T10:07:12.345Z'))?.toISOString()).toBe('2026-01-01T10:15:00.000Z');
    expect(between({ every: 1500 }, '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z')).toEqual([
      '2026-01-01T00:00:01.500Z',
      '2026-01-01T00:00:03.000Z',
      '2026-01-01T00:00:04.500Z',
    ]);
  });

  it('is anchored at startAt when given, which fires itself', () => {
    const spec = { every: '15m', startAt: '2026-01-01T10:05:00Z' };
    expect(next(spec, '2026-01-01T09:00:00Z')).toBe('2026-01-01T10:05:00.000Z');
    expect(next(spec, '2026-01-01T10:07:00Z')).toBe('2026-01-01T10:20:00.000Z');
  });

  it('flags intervals that are not whole minutes', () => {
    expect(parseTrigger({ every: '1500ms' }).hasSeconds).toBe(true);
    expect(parseTrigger({ every: '90s' }).hasSeconds).toBe(true);
    expect(parseTrigger({ every: '1h' }).hasSeconds).toBe(false);
    expect(parseTrigger({ every: '1h', startAt: '2026-01-01T00:00:30Z' }).hasSeconds).toBe(true);
  });

  it('ignores DST: real elapsed time', () => {
    const spec = { every: '1h', tz: 'Europe/Berlin' };
    expect(between(spec, '2026-10-24T23:30:00Z', '2026-10-25T03:30:00Z')).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ]);
  });
});

describe('iso', () => {
  it('Rn gives n fire times starting at the start, then null', () => {
    const trigger = parseTrigger({ iso: 'R3/2026-01-01T00:00:00Z/PT6H' });
    expect(trigger.kind).toBe('iso');
    expect(isoList(trigger.between(d('2025-12-31T00:00:00Z'), d('2026-12-31T00:00:00Z')))).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T06:00:00.000Z',
      '2026-01-01T12:00:00.000Z',
    ]);
    expect(trigger.next(d('2025-06-01T00:00:00Z'))?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(trigger.next(d('2026-01-01T06:00:00Z'))?.toISOString()).toBe('2026-01-01T12:00:00.000Z');
    expect(trigger.next(d('2026-01-01T12:00:00Z'))).toBeNull();
  });

  it('R without a count is unbounded', () => {
    const spec = { iso: 'R/2026-01-01T00:00:00Z/PT6H' };
    expect(next(spec, '2030-05-05T05:00:00Z')).toBe('2030-05-05T06:00:00.000Z');
    expect(between(spec, '2030-05-05T00:00:00Z', '2030-05-06T00:00:00Z')).toHaveLength(4);
  });

  it('weeks, and the start/end form', () => {
    const weekly = parseTrigger({ iso: 'R2/2026-01-01T00:00:00Z/P1W' });
    expect(weekly.next(d('2026-01-01T00:00:00Z'))?.toISOString()).toBe('2026-01-08T00:00:00.000Z');
    expect(weekly.next(d('2026-01-08T00:00:00Z'))).toBeNull();
    const startEnd = between(
      { iso: 'R5/2026-01-01T00:00:00Z/2026-01-01T06:00:00Z' },
      '2025-01-01T00:00:00Z',
      '2027-01-01T00:00:00Z',
    );
    expect(startEnd).toHaveLength(5);
    expect(startEnd.at(-1)).toBe('2026-01-02T00:00:00.000Z');
  });

  it('years, months and days are calendar units in the schedule tz', () => {
    // Month ends do not drift: Jan 31, Feb 28, Mar 31, Apr 30 at 09:00 Berlin time (CET, then CEST).
    expect(
      between(
        { iso: 'R/2026-01-31T09:00:00/P1M', tz: 'Europe/Berlin' },
        '2026-01-01T00:00:00Z',
        '2026-05-01T00:00:00Z',
      ),
    ).toEqual([
      '2026-01-31T08:00:00.000Z',
      '2026-02-28T08:00:00.000Z',
      '2026-03-31T07:00:00.000Z',
      '2026-04-30T07:00:00.000Z',
    ]);
    // P1D keeps 13:00 local across spring forward; in UTC it is 24h.
    expect(
      between(
        { iso: 'R3/2026-03-28T12:00:00Z/P1D', tz: 'Europe/Berlin' },
        '2026-03-01T00:00:00Z',
        '2026-04-01T00:00:00Z',
      ),
    ).toEqual(['2026-03-28T12:00:00.000Z', '2026-03-29T11:00:00.000Z', '2026-03-30T11:00:00.000Z']);
    expect(
      between({ iso: 'R3/2026-03-28T12:00:00Z/P1D' }, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'),
    ).toEqual(['2026-03-28T12:00:00.000Z', '2026-03-29T12:00:00.000Z', '2026-03-30T12:00:00.000Z']);
    expect(
      between(
        { iso: 'R2/2026-01-01T00:00:00Z/P1Y2M10DT2H30M' },
        '2025-01-01T00:00:00Z',
        '2030-01-01T00:00:00Z',
      ),
    ).toEqual(['2026-01-01T00:00:00.000Z', '2027-03-11T02:30:00.000Z']);
  });

  it('keeps fractional seconds', () => {
    const trigger = parseTrigger({ iso: 'R3/2026-01-01T00:00:00Z/PT0.5S' });
    expect(trigger.hasSeconds).toBe(true);
    expect(isoList(trigger.between(d('2025-12-31T00:00:00Z'), d('2026-01-02T00:00:00Z')))).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.500Z',
      '2026-01-01T00:00:01.000Z',
    ]);
  });
});

describe('at (once)', () => {
  const spec = { at: '2026-06-01T12:00:00Z' };
  it('fires once when asked from before, never from at or after', () => {
    const trigger = parseTrigger(spec);
    expect(trigger.kind).toBe('at');
    expect(trigger.next(d('2026-05-01T00:00:00Z'))?.toISOString()).toBe('2026-06-01T12:00:00.000Z');
    expect(trigger.next(d('2026-06-01T12:00:00Z'))).toBeNull();
    expect(trigger.next(d('2026-07-01T00:00:00Z'))).toBeNull();
    expect(between(spec, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')).toEqual([
      '2026-06-01T12:00:00.000Z',
    ]);
  });

  it('takes a Date (ms kept) or a local date-time read in tz', () => {
    const precise = parseTrigger({ at: new Date('2026-06-01T12:00:00.250Z') });
    expect(precise.next(d('2026-01-01T00:00:00Z'))?.toISOString()).toBe('2026-06-01T12:00:00.250Z');
    expect(precise.hasSeconds).toBe(true);
    expect(next({ at: '2026-06-01T12:00:00', tz: 'America/New_York' }, '2026-01-01T00:00:00Z')).toBe(
      '2026-06-01T16:00:00.000Z',
    );
    // A local time in the spring-forward gap means the end of the gap.
    expect(next({ at: '2026-03-29T02:30:00', tz: 'Europe/Berlin' }, '2026-01-01T00:00:00Z')).toBe(
      '2026-03-29T01:00:00.000Z',
    );
  });

  it('outside its window it never fires', () => {
    expect(next({ ...spec, endAt: '2026-05-01T00:00:00Z' }, '2026-01-01T00:00:00Z')).toBeNull();
  });
});

describe('startAt / endAt window', () => {
  it('clips a cron, both ends inclusive', () => {
    const spec = { cron: '0 * * * *', startAt: '2026-01-01T10:30:00Z', endAt: '2026-01-01T13:00:00Z' };
    expect(between(spec, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')).toEqual([
      '2026-01-01T11:00:00.000Z',
      '2026-01-01T12:00:00.000Z',
      '2026-01-01T13:00:00.000Z',
    ]);
    expect(next(spec, '2025-01-01T00:00:00Z')).toBe('2026-01-01T11:00:00.000Z');
    expect(next(spec, '2026-01-01T13:00:00Z')).toBeNull();
    expect(next({ cron: '0 * * * *', startAt: '2026-01-01T11:00:00Z' }, '2026-01-01T00:00:00Z')).toBe(
      '2026-01-01T11:00:00.000Z',
    );
  });

  it('clips ISO and interval triggers', () => {
    const iso = {
      iso: 'R/2026-01-01T00:00:00Z/PT6H',
      startAt: '2026-01-02T01:00:00Z',
      endAt: '2026-01-03T00:00:00Z',
    };
    expect(between(iso, '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')).toEqual([
      '2026-01-02T06:00:00.000Z',
      '2026-01-02T12:00:00.000Z',
      '2026-01-02T18:00:00.000Z',
      '2026-01-03T00:00:00.000Z',
    ]);
    const every = { every: '1h', endAt: '2026-01-01T02:30:00Z' };
    expect(between(every, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')).toEqual([
      '2026-01-01T01:00:00.000Z',
      '2026-01-01T02:00:00.000Z',
    ]);
    expect(next(every, '2026-01-01T02:00:00Z')).toBeNull();
  });
});

describe('next() and between() agree', () => {
  const cases: [string, TriggerSpec, string, string][] = [
    [
      'cron, Berlin, both transitions',
      { cron: '*/20 1-3 * * *', tz: 'Europe/Berlin' },
      '2026-03-27T00:00:00Z',
      '2026-10-27T00:00:00Z',
    ],
    [
      'hourly, New York',
      { cron: '0 * * * *', tz: 'America/New_York' },
      '2026-10-31T00:00:00Z',
      '2026-11-02T00:00:00Z',
    ],
    ['6-field', { cron: '31 10-15 1 * * MON-FRI' }, '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'],
    [
      'interval with window',
      { every: '7m', startAt: '2026-01-01T00:03:00Z', endAt: '2026-01-02T00:00:00Z' },
      '2026-01-01T00:00:00Z',
      '2026-01-03T00:00:00Z',
    ],
    [
      'iso, calendar',
      { iso: 'R20/2026-01-31T09:00:00/P1M', tz: 'Europe/Berlin' },
      '2025-01-01T00:00:00Z',
      '2030-01-01T00:00:00Z',
    ],
  ];
  it.each(cases)('%s', (_label, spec, from, to) => {
    const trigger = parseTrigger(spec);
    const listed = isoList(trigger.between(d(from), d(to)));
    expect(listed.length).toBeGreaterThan(2);
    expect(listed).toEqual(chainNext(trigger, d(from), d(to)));
  });

  it('between() honours limit and an empty range', () => {
    const trigger = parseTrigger({ cron: '* * * * *' });
    expect(trigger.between(d('2026-01-01T00:00:00Z'), d('2026-01-02T00:00:00Z'), 5)).toHaveLength(5);
    expect(trigger.between(d('2026-01-01T00:00:00Z'), d('2026-01-02T00:00:00Z'))).toHaveLength(1440);
    expect(trigger.between(d('2026-01-02T00:00:00Z'), d('2026-01-01T00:00:00Z'))).toEqual([]);
  });
});

describe('bad input', () => {
  function expectInvalid(run: () => unknown, field: string, shown: string): void {
    let error: unknown;
    try {
      run();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PgschedValidationError);
    const validation = error as PgschedValidationError;
    expect(validation.field).toBe(field);
    expect(validation.message).toContain(field);
    expect(validation.message).toContain(shown);
  }

  it.each([
    ['not a cron'],
    ['61 * * * *'],
    ['* * * *'], // cron-parser would accept 4 fields
    ['* * * * * * *'],
    ['0 0 30 2 *'],
    ['H * * * *'], // random per process
    ['@never'],
    ['@every 0s'],
    ['@every soon'],
    ['@every'],
  ])('cron %j', (cron) => {
    expectInvalid(() => parseTrigger({ cron }), 'schedule.cron', JSON.stringify(cron));
  });

  it('empty or non-string cron', () => {
    expectInvalid(() => parseTrigger({ cron: '' }), 'schedule.cron', '""');
    expectInvalid(() => parseTrigger({ cron: 5 as unknown as string }), 'schedule.cron', '5');
  });

  it('unknown tz', () => {
    expectInvalid(
      () => parseTrigger({ cron: '* * * * *', tz: 'Mars/Phobos' }),
      'schedule.tz',
      '"Mars/Phobos"',
    );
    expectInvalid(() => parseTrigger({ every: '1m', tz: '' }), 'schedule.tz', '""');
  });

  it.each([[0], [-5], ['0s'], ['-1m'], ['abc'], [0.4]])('every %j', (every) => {
    expectInvalid(() => parseTrigger({ every }), 'schedule.every', JSON.stringify(every));
  });

  it.each([
    ['R5/2026-01-01T00:00:00Z'],
    ['R5/2026-13-01T00:00:00Z/PT1H'],
    ['R5/2026-01-01T00:00:00Z/PT'],
    ['R5/2026-01-01T00:00:00Z/P'],
    ['R5/2026-01-01T00:00:00Z/P0D'],
    ['R5/2026-01-01T00:00:00Z/P1.5D'],
    ['R-1/2026-01-01T00:00:00Z/PT1H'],
    ['R3/2026-01-01T06:00:00Z/2026-01-01T00:00:00Z'],
    ['every 6 hours'],
  ])('malformed iso %j', (iso) => {
    expectInvalid(() => parseTrigger({ iso }), 'schedule.iso', JSON.stringify(iso));
  });

  it('R0', () => {
    expectInvalid(
      () => parseTrigger({ iso: 'R0/2026-01-01T00:00:00Z/PT1H' }),
      'schedule.iso',
      'R0/2026-01-01T00:00:00Z/PT1H',
    );
  });

  it('bad dates', () => {
    expectInvalid(() => parseTrigger({ at: 'tomorrow' }), 'schedule.at', '"tomorrow"');
    expectInvalid(() => parseTrigger({ at: '2026-02-30T00:00:00Z' }), 'schedule.at', '2026-02-30');
    expectInvalid(() => parseTrigger({ at: new Date(Number.NaN) }), 'schedule.at', 'Invalid Date');
    expectInvalid(() => parseTrigger({ every: '1m', startAt: 'soon' }), 'schedule.startAt', '"soon"');
  });

  it('endAt not after startAt', () => {
    const startAt = '2026-01-02T00:00:00Z';
    expectInvalid(
      () => parseTrigger({ cron: '* * * * *', startAt, endAt: '2026-01-01T00:00:00Z' }),
      'schedule.endAt',
      '2026-01-01T00:00:00Z',
    );
    expectInvalid(() => parseTrigger({ every: '1m', startAt, endAt: startAt }), 'schedule.endAt', startAt);
  });

  it('none, or two, of cron/every/iso/at', () => {
    expectInvalid(() => parseTrigger({}), 'schedule', '{}');
    expectInvalid(
      () => parseTrigger({ tz: 'UTC' }),
      'schedule',
      'schedule.cron, schedule.every, schedule.iso, schedule.at',
    );
    expectInvalid(
      () => parseTrigger({ cron: '* * * * *', every: '5m' }),
      'schedule',
      'schedule.cron and schedule.every',
    );
    expectInvalid(() => parseTrigger({ cron: '* * * * *', every: '5m' }), 'schedule', '"every":"5m"');
  });

  it('uses the caller’s field prefix', () => {
    expectInvalid(() => parseTrigger({ every: 0 }, 'schedules.nightly'), 'schedules.nightly.every', '0');
  });

  it('bad arguments to next() and between()', () => {
    const trigger = parseTrigger({ every: '1m' });
    expectInvalid(() => trigger.next(new Date(Number.NaN)), 'after', 'Invalid Date');
    expectInvalid(
      () => trigger.between(d('2026-01-01T00:00:00Z'), d('2026-01-02T00:00:00Z'), 0),
      'limit',
      '0',
    );
  });
});

// --- brute-force reference for the DST rules, independent of the implementation's search ---------

const HOUR = 3_600_000;
const toIso = (ms: number) => new Date(ms).toISOString();

function wallClock(format: Intl.DateTimeFormat, instant: number): number {
  const p: Record<string, number> = {};
  for (const part of format.formatToParts(instant))
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

function formatFor(tz: string): Intl.DateTimeFormat {
  const fields = {
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  } as const;
  return new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', ...fields });
}

/** The instants at which the zone's UTC offset changes during 2026 (daily scan, then minute by minute). */
function transitionsIn2026(tz: string): number[] {
  const format = formatFor(tz);
  const offset = (t: number) => wallClock(format, t) - t;
  const found: number[] = [];
  for (let day = Date.UTC(2026, 0, 1); day < Date.UTC(2027, 0, 1); day += 24 * HOUR) {
    if (offset(day) === offset(day + 24 * HOUR)) continue;
    let t = day;
    while (offset(t) === offset(day)) t += 60_000;
    found.push(t);
  }
  return found;
}

interface Clock {
  /** Every whole minute in the range, with the wall time it shows. */
  readonly minutes: readonly [instant: number, wall: number][];
  /** Wall time → the instants showing it. */
  readonly occurrences: ReadonlyMap<number, number[]>;
}

function minuteByMinute(tz: string, from: number, to: number): Clock {
  const format = formatFor(tz);
  const minutes: [number, number][] = [];
  const occurrences = new Map<number, number[]>();
  for (let t = from; t <= to; t += 60_000) {
    const wall = wallClock(format, t);
    minutes.push([t, wall]);
    occurrences.set(wall, [...(occurrences.get(wall) ?? []), t]);
  }
  return { minutes, occurrences };
}

/**
 * The DST rules applied literally: each matching wall time fires at all its occurrences (every-hour
 * crons) or its first one, and one that never occurs fires at the first real minute after it
 * (fixed-hour crons) or not at all (every-hour crons).
 */
function bruteForce(cron: string, { minutes, occurrences }: Clock, from: number, to: number): number[] {
  const expression = CronExpressionParser.parse(cron, { tz: 'UTC' });
  // The `values` getters copy, so read them once.
  const hours: number[] = [...expression.fields.hour.values];
  const minuteValues: number[] = [...expression.fields.minute.values];
  const everyHour = hours.length === 24;
  const fires = new Set<number>();
  const walls = minutes.map(([, wall]) => wall);
  const last = Math.max(...walls);
  for (let wall = Math.min(...walls); wall <= last; wall += 60_000) {
    const date = new Date(wall);
    // Cheap field checks first; includesDate is slow enough to matter over thousands of minutes.
    if (!hours.includes(date.getUTCHours()) || !minuteValues.includes(date.getUTCMinutes())) continue;
    if (!expression.includesDate(date)) continue;
    const real = occurrences.get(wall) ?? [];
    if (real.length > 0) for (const t of everyHour ? real : real.slice(0, 1)) fires.add(t);
    else if (!everyHour) fires.add(minutes.find(([, w]) => w > wall)![0]);
  }
  return [...fires].filter((t) => t > from && t <= to).sort((a, b) => a - b);
}
