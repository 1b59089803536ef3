import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { type Pgsched, PgschedValidationError, type Schedule } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';
import {
  badDuration,
  expectRejected,
  footprint,
  goodDuration,
  MAX_DELAY,
  MAX_INSTANT,
  RUNS,
  settle,
  unstorableText,
  wrongType,
} from './support/fuzz.js';

/*
 * Property tests of schedule() specs: cron, ISO 8601 and interval specs, time zones and windows.
 * Generated specs are often valid and often not, so the property is "either": accepted, stored as
 * given and previewing increasing storable fire times; or a PgschedValidationError naming the field,
 * with nothing written. Never another error, never a hang.
 */

let db: TestDb;
let q: Pgsched;
let n = 0;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

/** Accepted and sane, or rejected naming `field` with nothing written. Returns the schedule if accepted. */
async function acceptedOrRejected(
  options: Record<string, unknown>,
  field: string | RegExp,
): Promise<Schedule | null> {
  const name = `s${++n}`;
  const before = await footprint(db.sql);
  const { error, value } = await settle(() => q.schedule(name, { job: 'tick', ...options } as never));
  if (error !== undefined) {
    if (!(error instanceof PgschedValidationError)) throw error;
    if (typeof field === 'string') expect(error.field).toBe(field);
    else expect(error.field).toMatch(field);
    expect(await footprint(db.sql)).toBe(before);
    return null;
  }
  const schedule = value as Schedule;
  const upcoming = await q.upcoming(name, 3);
  for (const [i, t] of upcoming.entries()) {
    expect(t.getTime()).toBeLessThanOrEqual(MAX_INSTANT);
    if (i > 0) expect(t.getTime()).toBeGreaterThan(upcoming[i - 1]!.getTime());
  }
  if (schedule.nextFireAt) expect(upcoming[0]).toEqual(schedule.nextFireAt);
  return schedule;
}

const cronField = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '*',
      '0',
      '5',
      '59',
      '*/15',
      '1-5',
      '0,30',
      '?',
      'L',
      '1W',
      '5#2',
      'MON',
      'JAN',
    ),
  },
  { weight: 2, arbitrary: fc.tuple(fc.nat(70), fc.nat(70)).map(([a, b]) => `${a}-${b}`) },
  { weight: 2, arbitrary: fc.nat(100).map((s) => `*/${s}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom('H', 'H/5', '-1', '1-', ',', '**', '60', '32', '13', '8') },
);
const cronText = fc.oneof(
  { weight: 6, arbitrary: fc.array(cronField, { minLength: 4, maxLength: 7 }).map((f) => f.join(' ')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '@yearly',
      '@annually',
      '@monthly',
      '@weekly',
      '@daily',
      '@midnight',
      '@hourly',
      '@reboot',
      '@minutely',
      '@',
      '',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        goodDuration(MAX_DELAY, false),
        badDuration(MAX_DELAY, false)
          .filter((g) => typeof g === 'string' || typeof g === 'number')
          .map((g) => ({ given: g })),
      )
      .map((d) => `@every ${String(d.given)}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

const isoDateTime = fc.oneof(
  fc
    .date({ min: new Date(Date.UTC(1990, 0, 1)), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom(
    '2026-01-01T00:00:00Z',
    '2026-03-29T02:30:00',
    '2026-02-30T00:00:00Z',
    '2026-01-01',
    '9999-12-31T23:00:00Z',
    '0000-01-01T00:00:00Z',
    '2026-1-1T00:00:00Z',
    'now',
  ),
);
const isoPeriod = fc.oneof(
  fc
    .tuple(...['Y', 'M', 'W', 'D', 'H', 'Mi', 'S'].map(() => fc.option(fc.nat(40), { nil: undefined })))
    .map(([y, mo, w, d, h, mi, s]) => {
      const date = `${y !== undefined ? `${y}Y` : ''}${mo !== undefined ? `${mo}M` : ''}${w !== undefined ? `${w}W` : ''}${d !== undefined ? `${d}D` : ''}`;
      const time = `${h !== undefined ? `${h}H` : ''}${mi !== undefined ? `${mi}M` : ''}${s !== undefined ? `${s}S` : ''}`;
      return `P${date}${time ? `T${time}` : ''}`;
    }),
  fc.constantFrom(
    'PT0.5S',
    'PT1,5S',
    'P999999999Y',
    'PT99999999999999999999H',
    'P',
    'PT',
    'P1DT',
    'P-1D',
    'P1.5D',
  ),
);
const isoText = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(fc.option(fc.nat(20), { nil: '' }), isoDateTime, fc.oneof(isoPeriod, isoDateTime))
      .map(([r, start, tail]) => `R${r}/${start}/${tail}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

const zones = Intl.supportedValuesOf('timeZone');
const tz = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...zones) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'utc',
      'Etc/GMT+14',
      'EST5EDT',
      'Mars/Olympus',
      'Europe/Berlin ',
      '+05:00',
      'GMT',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.string({ maxLength: 12 }),
      unstorableText,
      wrongType.filter((v) => v !== null),
    ),
  },
);

const instant = fc.oneof(
  fc.date({ min: new Date(0), max: new Date(MAX_INSTANT), noInvalidDate: true }),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  isoDateTime,
  fc.constant(new Date(Number.NaN)),
  fc.string({ maxLength: 12 }),
  fc.integer(),
);

describe('schedule specs', () => {
  test.prop([cronText, fc.option(tz, { nil: undefined })], { numRuns: RUNS })('cron', async (cron, zone) => {
    const s = await acceptedOrRejected({ cron, tz: zone }, /^schedule\.options\.(cron|tz)$/);
    if (s) expect(s.spec).toEqual({ cron });
  });

  test.prop([isoText, fc.option(tz, { nil: undefined })], { numRuns: RUNS })(
    'ISO 8601 repeating intervals',
    async (iso, zone) => {
      const s = await acceptedOrRejected({ iso, tz: zone }, /^schedule\.options\.(iso|tz)$/);
      if (s) expect(s.spec).toEqual({ iso });
    },
  );

  test.prop(
    [
      fc.oneof(
        goodDuration(MAX_DELAY, false).map((d) => d.given),
        badDuration(MAX_DELAY, false),
      ),
    ],
    { numRuns: RUNS },
  )('intervals', async (every) => {
    const s = await acceptedOrRejected({ every }, 'schedule.options.every');
    if (s) expect(s.spec).toEqual({ every });
  });

  test.prop([tz], { numRuns: RUNS })('time zones', async (zone) => {
    const s = await acceptedOrRejected({ cron: '0 9 * * *', tz: zone }, 'schedule.options.tz');
    if (s) expect(s.tz).toBe(zone ?? 'UTC');
  });

  test.prop([fc.option(instant, { nil: undefined }), fc.option(instant, { nil: undefined }), instant], {
    numRuns: RUNS,
  })('windows and one-off times', async (startAt, endAt, at) => {
    const s = await acceptedOrRejected({ at, startAt, endAt }, /^schedule\.options\.(at|startAt|endAt)$/);
    if (s && startAt instanceof Date) expect(s.startAt).toEqual(startAt);
  });

  test.prop([fc.subarray(['cron', 'every', 'iso', 'at']).filter((k) => k.length !== 1)], { numRuns: 10 })(
    'zero or several triggers',
    async (kinds) => {
      const spec = {
        cron: '0 * * * *',
        every: '1h',
        iso: 'R/2030-01-01T00:00:00Z/PT1H',
        at: '2030-01-01T00:00:00Z',
      };
      const options = Object.fromEntries(kinds.map((k) => [k, spec[k as keyof typeof spec]]));
      await expectRejected(
        db.sql,
        () => q.schedule('multi', { job: 'tick', ...options } as never),
        'schedule.options',
      );
    },
  );
});
