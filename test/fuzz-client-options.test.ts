import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { Pgsched, snooze } from '../src/index.js';
import { type TestDb, testLogger, useTestDb } from './support/db.js';
import {
  badDuration,
  badInteger,
  badQueue,
  expectRejected,
  footprint,
  goodDuration,
  MAX_DELAY,
  MAX_TIMER,
  option,
  RUNS,
  unknownKeyName,
} from './support/fuzz.js';

/*
 * Property tests of the options of start, stop, the constructor and snooze: every bad option is a
 * PgschedValidationError naming it; a rejected start leaves the instance startable.
 */

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

const badStartOption = fc.oneof(
  badInteger(1, 10_000).map(option('concurrency')),
  badInteger(0, 100_000).map(option('prefetch')),
  badDuration(MAX_TIMER, false).map(option('pollInterval')),
  fc
    .constantFrom('pollOnly', 'leader', 'removeUnlistedSchedules')
    .chain((name) => fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map(option(name))),
  fc.constantFrom('completed', 'failed', 'cancelled').chain((state) =>
    badDuration(MAX_DELAY, true).map((v) => ({
      options: { retention: { [state]: v } },
      field: `retention.${state}`,
      value: v,
    })),
  ),
  badQueue.map((v) => ({ options: { queues: ['ok', v] }, field: 'queues[1]', value: v })),
  fc.oneof(fc.string(), fc.integer(), fc.object()).map(option('schedules')),
  fc.tuple(unknownKeyName, fc.integer()).map(([k, v]) => option(k)(v)),
);

describe('start, stop and the constructor', () => {
  test.prop([badStartOption], { numRuns: RUNS })(
    'start rejects a bad option by name and starts nothing',
    async (bad) => {
      const p = db.pgsched();
      p.define('job', async () => {});
      await expectRejected(db.sql, () => p.start(bad.options as never), `start.options.${bad.field}`, {
        is: bad.value,
      });
      expect(p.isLeader).toBe(false);
      // Still startable: the rejected call left no half-started state behind.
      await p.start({ pollInterval: 1_000, leader: false });
      await p.stop({ timeout: 100 });
    },
  );

  test.prop(
    [
      fc.oneof(
        badDuration(MAX_TIMER, true).map(option('timeout')),
        fc.tuple(unknownKeyName, fc.integer()).map(([k, v]) => option(k)(v)),
      ),
    ],
    { numRuns: RUNS },
  )('stop rejects a bad option by name', async (bad) => {
    await expectRejected(db.sql, () => db.pgsched().stop(bad.options as never), `stop.options.${bad.field}`, {
      is: bad.value,
    });
  });

  test.prop(
    [
      fc.oneof(
        badInteger(1, Number.MAX_SAFE_INTEGER).map(option('maxPayloadBytes')),
        fc
          .oneof(fc.string(), fc.integer(), fc.object(), fc.constant(null), fc.func(fc.anything()))
          .map(option('sql')),
        fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map(option('logger')),
        fc.oneof(fc.string(), fc.integer(), fc.object()).map(option('random')),
        fc.tuple(unknownKeyName, fc.integer()).map(([k, v]) => option(k)(v)),
      ),
    ],
    { numRuns: RUNS },
  )('new Pgsched rejects a bad option by name', async (bad) => {
    const options = { sql: db.sql, logger: testLogger, ...bad.options };
    await expectRejected(db.sql, () => new Pgsched(options as never), `Pgsched.options.${bad.field}`, {
      is: bad.value,
    });
  });
});

describe('snooze', () => {
  test.prop([badDuration(MAX_DELAY, true)], { numRuns: RUNS })(
    'snooze(delay) refuses a bad delay by name',
    async (delay) => {
      await expectRejected(db.sql, () => snooze(delay as never), 'snooze.delay', { is: delay });
    },
  );

  test.prop([goodDuration(MAX_DELAY, true)], { numRuns: RUNS })(
    'snooze(delay) keeps the delay in ms',
    (d) => {
      expect(snooze(d.given).delayMs).toBe(d.ms);
    },
  );
});

test('nothing was written by any rejected call', async () => {
  expect(await footprint(db.sql)).toBe('0/0/0');
});
