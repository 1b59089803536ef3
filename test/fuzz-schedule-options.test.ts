import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';
import {
  badDuration,
  badInteger,
  expectRejected,
  MAX_DELAY,
  MAX_TIMER,
  option,
  RUNS,
  unknownKeyName,
  unstorableText,
  wrongType,
} from './support/fuzz.js';

/*
 * Property tests of schedule() policies and of schedule names across every schedule call: each bad
 * value is a PgschedValidationError naming it, with nothing written.
 */

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

const badScheduleOption = fc.oneof(
  fc
    .oneof(fc.string(), wrongType)
    .filter((v) => !['all', 'last', 'none'].includes(v as string) && typeof v !== 'object')
    .map(option('catchUp')),
  badInteger(1, 10_000).map((v) => ({
    options: { catchUp: { max: v, within: '1h' } },
    field: 'catchUp.max',
    value: v,
  })),
  badDuration(MAX_DELAY, false).map((v) => ({
    options: { catchUp: { max: 1, within: v } },
    field: 'catchUp.within',
    value: v,
  })),
  unknownKeyName.map((k) => ({
    options: { catchUp: { max: 1, within: '1h', [k]: 1 } },
    field: `catchUp.${k}`,
    value: 1,
  })),
  badDuration(MAX_TIMER, true).map(option('misfireGrace')),
  fc
    .oneof(fc.string(), wrongType)
    .filter((v) => !['allow', 'skip', 'queue'].includes(v as string))
    .map(option('overlap')),
  fc
    .oneof(fc.string(), wrongType)
    .filter((v) => !['immediate', 'graceful'].includes(v as string))
    .map(option('updatePolicy')),
  badInteger(0, 2 ** 31 - 1).map(option('expectedVersion')),
  fc
    .oneof(fc.constant(''), fc.string({ minLength: 201, maxLength: 210 }), unstorableText, wrongType)
    .map(option('job')),
  fc.tuple(unknownKeyName, fc.integer()).map(([k, v]) => option(k)(v)),
);

const badName = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 201, maxLength: 210 }),
  unstorableText,
  wrongType,
);

describe('schedule options and names', () => {
  test.prop([badScheduleOption], { numRuns: RUNS })('a bad option is refused by name', async (bad) => {
    await expectRejected(
      db.sql,
      () => q.schedule('opts', { job: 'tick', every: '1h', ...bad.options } as never),
      `schedule.options.${bad.field}`,
      {
        is: bad.value,
      },
    );
  });

  test.prop([badName], { numRuns: RUNS })(
    'a bad schedule name is refused by every schedule call',
    async (name) => {
      const is = { is: name };
      await expectRejected(
        db.sql,
        () => q.schedule(name as never, { job: 'tick', every: '1h' }),
        'schedule.name',
        is,
      );
      await expectRejected(db.sql, () => q.getSchedule(name as never), 'getSchedule.name', is);
      await expectRejected(db.sql, () => q.unschedule(name as never), 'unschedule.name', is);
      await expectRejected(db.sql, () => q.pauseSchedule(name as never), 'pauseSchedule.name', is);
      await expectRejected(db.sql, () => q.resumeSchedule(name as never), 'resumeSchedule.name', is);
      await expectRejected(db.sql, () => q.upcoming(name as never, 1), 'upcoming.name', is);
      await expectRejected(db.sql, () => q.missedOccurrences(name as never), 'missedOccurrences.name', is);
    },
  );

  test.prop([badInteger(1, 10_000)], { numRuns: RUNS })(
    'bad counts of upcoming and missedOccurrences',
    async (count) => {
      await expectRejected(db.sql, () => q.upcoming('any', count as never), 'upcoming.n', { is: count });
      await expectRejected(
        db.sql,
        () => q.missedOccurrences('any', { limit: count as never }),
        'missedOccurrences.options.limit',
        {
          is: count,
        },
      );
    },
  );

  test.prop([badScheduleOption, fc.nat(2)], { numRuns: 15 })(
    'start({ schedules }) names the entry and starts nothing',
    async (bad, at) => {
      const entries = [
        { name: 'a', job: 'tick', every: '1h' },
        { name: 'b', job: 'tick', cron: '0 * * * *' },
      ];
      entries.splice(at, 0, { name: 'c', job: 'tick', every: '1h', ...bad.options } as never);
      const p = db.pgsched();
      await expectRejected(
        db.sql,
        () => p.start({ schedules: entries as never, leader: false }),
        `start.options.schedules[${at}].${bad.field}`,
      );
    },
  );
});
