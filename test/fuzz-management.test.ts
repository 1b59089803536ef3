import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';
import {
  badDuration,
  badInteger,
  badQueue,
  expectRejected,
  footprint,
  oddText,
  option,
  RUNS,
  unknownKeyName,
  unstorableText,
  wrongType,
} from './support/fuzz.js';

/*
 * Property tests of the management inputs: listJobs / retryJobs / cancelJobs filters, deleteJob ids,
 * and queue names and policies (setQueue, pauseQueue, resumeQueue, getQueue). Bad input is a
 * PgschedValidationError naming it with nothing changed; any valid filter answers without error.
 */

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
  await q.enqueueMany('listed', [{ n: 1 }, { n: 2 }, { n: 3 }], { group: 'g' });
});

const STATES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;

const badText = (max: number) =>
  fc.oneof(fc.constant(''), fc.string({ minLength: max + 1, maxLength: max + 5 }), unstorableText, wrongType);

/** One bad filter field, shared by listJobs, retryJobs and cancelJobs. */
const badFilter = fc.oneof(
  fc
    .oneof(fc.string(), wrongType)
    .filter((v) => !(STATES as readonly unknown[]).includes(v))
    .map(option('state')),
  fc.constant([]).map(option('state')),
  badQueue.map(option('queue')),
  badText(200).map(option('name')),
  badText(200).map(option('group')),
  badText(1000).map(option('key')),
  fc
    .oneof(
      fc.constant(new Date(Number.NaN)),
      fc.constantFrom('yesterday', '1/2/2026', '2026-01-01T00:00'),
      fc.integer(),
    )
    .map(option('since')),
  fc.tuple(unknownKeyName, fc.integer()).map(([k, v]) => option(k)(v)),
);

const goodFilter = fc.record(
  {
    state: fc.oneof(fc.constantFrom(...STATES), fc.subarray([...STATES], { minLength: 1 })),
    queue: fc.stringMatching(/^[A-Za-z0-9_.:-]{1,100}$/),
    name: oddText(20).filter((s) => s.length > 0),
    group: oddText(20).filter((s) => s.length > 0),
    key: oddText(20).filter((s) => s.length > 0),
    since: fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0, 1)), noInvalidDate: true }),
  },
  { requiredKeys: [] },
);

describe('job filters', () => {
  test.prop(
    [
      fc.oneof(
        badFilter,
        badInteger(1, 1000).map(option('limit')),
        fc.oneof(fc.string({ maxLength: 40 }), wrongType).map(option('after')),
        fc
          .oneof(fc.string(), wrongType)
          .filter((v) => v !== 'newest' && v !== 'oldest')
          .map(option('order')),
      ),
    ],
    { numRuns: RUNS },
  )('listJobs refuses a bad option by name', async (bad) => {
    await expectRejected(db.sql, () => q.listJobs(bad.options as never), `listJobs.options.${bad.field}`, {
      is: bad.value,
    });
  });

  test.prop([badFilter], { numRuns: RUNS })(
    'retryJobs and cancelJobs refuse a bad filter and change nothing',
    async (bad) => {
      const before = await db.sql`select id, state from pgsched.jobs order by id`;
      await expectRejected(db.sql, () => q.retryJobs(bad.options as never), `retryJobs.filter.${bad.field}`);
      await expectRejected(
        db.sql,
        () => q.cancelJobs(bad.options as never),
        `cancelJobs.filter.${bad.field}`,
      );
      expect(await db.sql`select id, state from pgsched.jobs order by id`).toEqual(before);
    },
  );

  test.prop([goodFilter, fc.integer({ min: 1, max: 1000 })], { numRuns: RUNS })(
    'any valid filter lists without error, matching what it asks for',
    async (filter, limit) => {
      const page = await q.listJobs({ ...filter, limit });
      expect(page.jobs.length).toBeLessThanOrEqual(limit);
      for (const job of page.jobs) {
        if (filter.name !== undefined) expect(job.name).toBe(filter.name);
        if (filter.queue !== undefined) expect(job.queue).toBe(filter.queue);
      }
    },
  );

  test('an empty bulk filter is refused: it would touch every job', async () => {
    await expectRejected(db.sql, () => q.cancelJobs({}), 'cancelJobs.filter');
    expect(await footprint(db.sql)).toBe('3/0/0');
  });
});

describe('queues', () => {
  test.prop([badQueue], { numRuns: RUNS })('queue calls refuse a bad queue name by name', async (name) => {
    const is = { is: name };
    await expectRejected(db.sql, () => q.setQueue(name as never, { concurrency: 1 }), 'setQueue.name', is);
    await expectRejected(db.sql, () => q.pauseQueue(name as never), 'pauseQueue.name', is);
    await expectRejected(db.sql, () => q.resumeQueue(name as never), 'resumeQueue.name', is);
    await expectRejected(db.sql, () => q.getQueue(name as never), 'getQueue.name', is);
  });

  const badPolicy = fc.oneof(
    fc.constantFrom('concurrency', 'groupConcurrency').chain((k) =>
      badInteger(1, 2 ** 31 - 1)
        .filter((v) => v !== null)
        .map(option(k)),
    ),
    fc.constantFrom('rateLimit', 'groupRateLimit').chain((k) =>
      fc.oneof(
        badInteger(1, 2 ** 31 - 1).map((v) => ({
          options: { [k]: { limit: v, period: '1s' } },
          field: `${k}.limit`,
          value: v,
        })),
        badDuration(1e12, false).map((v) => ({
          options: { [k]: { limit: 1, period: v } },
          field: `${k}.period`,
          value: v,
        })),
      ),
    ),
    fc.tuple(unknownKeyName, fc.integer()).map(([k, v]) => option(k)(v)),
  );

  test.prop([badPolicy], { numRuns: RUNS })(
    'setQueue refuses a bad policy by name and stores nothing',
    async (bad) => {
      const before = await db.sql`select count(*)::int as n from pgsched.queues`;
      await expectRejected(
        db.sql,
        () => q.setQueue('fuzzed', bad.options as never),
        `setQueue.options.${bad.field}`,
        {
          is: bad.value,
        },
      );
      expect(await db.sql`select count(*)::int as n from pgsched.queues`).toEqual(before);
    },
  );
});
