import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';
import {
  badDuration,
  badJobOption,
  expectRejected,
  footprint,
  goodDuration,
  MAX_DELAY,
  MAX_INSTANT,
  MAX_TIMER,
  oddText,
  option,
  QUEUE_RE,
  RUNS,
  unstorableText,
  wrongType,
} from './support/fuzz.js';

/*
 * Property tests of the options of define, enqueue, enqueueMany and schedule: every
 * bad option is a PgschedValidationError naming it, with nothing written; every good set of options
 * is stored as given.
 */

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

/** Dates that are invalid, or outside 1970..9999. */
const badRunAt = fc.oneof(
  fc.date({ noInvalidDate: true }).filter((d) => d.getTime() < 0 || d.getTime() > MAX_INSTANT),
  fc.constant(new Date(Number.NaN)),
  fc.string({ maxLength: 30 }).filter((s) => !/^\d{4}-\d\d-\d\d/.test(s.trim())),
  fc.constantFrom(
    '1/2/2026',
    '0',
    'tomorrow',
    '2026-01-01T09:00:00',
    '2026-02-30T00:00:00Z',
    '2026-13-01',
    '0000-01-01T00:00:00Z',
    '+010000-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
  ),
  fc.integer(),
  wrongType.filter((v) => !(v instanceof Date)),
);

const badKey = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 1001, maxLength: 1010 }),
  unstorableText,
  wrongType,
);

/** Bad options only enqueue and enqueueMany have. */
const badEnqueueOption = fc.oneof(
  badDuration(MAX_DELAY, true).map(option('delay')),
  badRunAt.map(option('runAt')),
  fc
    .integer({ min: 0, max: 1000 })
    .map((delay) => ({ options: { runAt: new Date(), delay }, field: 'delay', value: delay })),
  badKey.map(option('serialKey')),
  fc
    .oneof(fc.constant(''), fc.string({ minLength: 201, maxLength: 210 }), unstorableText, wrongType)
    .map(option('group')),
  fc.oneof(fc.string(), fc.integer(), fc.object(), fc.func(fc.anything())).map(option('tx')),
  // Combinations that contradict each other, each named by the option that breaks the rule.
  fc.constantFrom(
    { options: { group: 'g', serialKey: 's' }, field: 'serialKey', value: 's' },
    { options: { onConflict: 'replace' }, field: 'onConflict', value: 'replace' },
    { options: { debounce: '1s' }, field: 'debounce', value: '1s' },
    { options: { key: 'k', debounce: '1s', onConflict: 'skip' }, field: 'onConflict', value: 'skip' },
    { options: { key: 'k', debounce: '1s', delay: 5 }, field: 'debounce', value: '1s' },
    { options: { key: 'k', debounceMaxWait: '1m' }, field: 'debounceMaxWait', value: '1m' },
  ),
);

/** Bad values of the keyed options (enqueue only). */
const badKeyedOption = fc.oneof(
  badKey.map(option('key')),
  fc
    .oneof(fc.string(), wrongType)
    .filter((v) => v !== 'skip' && v !== 'replace')
    .map((v) => ({ options: { key: 'k', onConflict: v }, field: 'onConflict', value: v })),
  fc.constantFrom('debounce', 'debounceMaxWait').chain((name) =>
    badDuration(1e12, false).map((v) => ({
      options: { key: 'k', debounce: '1s', [name]: v },
      field: name,
      value: v,
    })),
  ),
);

describe('job options (define, enqueue, enqueueMany, schedule)', () => {
  const badSchemaOption = fc
    .oneof(
      fc.string(),
      fc.integer(),
      fc.constant(null),
      fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 }),
    )
    .map(option('schema'));

  test.prop([fc.oneof(badJobOption, badSchemaOption)], { numRuns: RUNS })(
    'define rejects a bad option by name',
    async (bad) => {
      const p = db.pgsched();
      await expectRejected(
        db.sql,
        () => p.define('job', async () => {}, bad.options),
        `define.options.${bad.field}`,
        {
          is: bad.value,
        },
      );
    },
  );

  test.prop([fc.oneof(badJobOption, badEnqueueOption, badKeyedOption)], { numRuns: RUNS })(
    'enqueue rejects a bad option by name, writing nothing',
    async (bad) => {
      await expectRejected(
        db.sql,
        () => q.enqueue('job', {}, bad.options as never),
        `enqueue.options.${bad.field}`,
        {
          is: bad.value,
        },
      );
    },
  );

  test.prop([fc.oneof(badJobOption, badEnqueueOption)], { numRuns: RUNS })(
    'enqueueMany rejects a bad option by name, writing nothing',
    async (bad) => {
      await expectRejected(
        db.sql,
        () => q.enqueueMany('job', [{}, {}], bad.options),
        `enqueueMany.options.${bad.field}`,
        {
          is: bad.value,
        },
      );
    },
  );

  test.prop([badJobOption], { numRuns: RUNS })('schedule rejects a bad job option by name', async (bad) => {
    await expectRejected(
      db.sql,
      () => q.schedule('fuzz', { job: 'job', cron: '0 * * * *', ...bad.options }),
      `schedule.options.${bad.field}`,
      { is: bad.value },
    );
  });

  test.prop([fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.integer()), fc.bigInt())], {
    numRuns: 10,
  })('options that are not an object are rejected as a whole', async (options) => {
    await expectRejected(db.sql, () => q.enqueue('job', {}, options as never), 'enqueue.options', {
      is: options,
    });
    await expectRejected(db.sql, () => q.define('job', async () => {}, options as never), 'define.options', {
      is: options,
    });
  });
});

const goodOptions = fc.record(
  {
    queue: fc.stringMatching(QUEUE_RE),
    priority: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    maxAttempts: fc.integer({ min: 1, max: 1_000_000 }),
    timeout: goodDuration(MAX_TIMER, false),
    visibilityTimeout: goodDuration(MAX_TIMER, false),
    backoff: fc.record(
      {
        type: fc.constantFrom('fixed', 'linear', 'exponential'),
        base: goodDuration(MAX_DELAY, true),
        max: goodDuration(MAX_DELAY, true),
        jitter: fc.double({ min: 0, max: 1, noNaN: true }),
      },
      { requiredKeys: ['type', 'base'] },
    ),
    delivery: fc.constantFrom('at-least-once', 'at-most-once'),
    when: fc.oneof(
      fc
        .date({ min: new Date(0), max: new Date(MAX_INSTANT), noInvalidDate: true })
        .map((d) => ({ runAt: d })),
      fc
        .date({ min: new Date(0), max: new Date(MAX_INSTANT), noInvalidDate: true })
        .map((d) => ({ runAt: d.toISOString() })),
      goodDuration(MAX_DELAY, true).map((d) => ({ delay: d })),
    ),
    grouping: fc.oneof(
      oddText(30)
        .filter((s) => s.length > 0)
        .map((serialKey) => ({ serialKey })),
      oddText(30)
        .filter((s) => s.length > 0 && s.length <= 200)
        .map((group) => ({ group })),
    ),
  },
  { requiredKeys: [] },
);

let serial = 0;

describe('accepted options are stored exactly', () => {
  test.prop([goodOptions, oddText(30)], { numRuns: RUNS })(
    'enqueue, then getJob and the row',
    async (o, keyText) => {
      const key = `${++serial}:${keyText}`;
      const options: Record<string, unknown> = { key };
      for (const name of ['queue', 'priority', 'maxAttempts', 'delivery'] as const) {
        if (o[name] !== undefined) options[name] = o[name];
      }
      Object.assign(options, o.grouping);
      if (o.timeout) options.timeout = o.timeout.given;
      if (o.visibilityTimeout) options.visibilityTimeout = o.visibilityTimeout.given;
      if (o.backoff) {
        const { base, max, ...rest } = o.backoff;
        options.backoff = { ...rest, base: base.given, ...(max ? { max: max.given } : {}) };
      }
      if (o.when && 'runAt' in o.when) options.runAt = o.when.runAt;
      if (o.when && 'delay' in o.when) options.delay = o.when.delay.given;

      const id = await q.enqueue('stored', { k: key }, options);
      const job = (await q.getJob(id))!;
      expect(job).toMatchObject({
        name: 'stored',
        state: 'pending',
        queue: o.queue ?? 'default',
        priority: o.priority ?? 0,
        maxAttempts: o.maxAttempts ?? null,
        key,
        payload: { k: key },
        attempt: 0,
      });
      if (o.when && 'runAt' in o.when) expect(job.runAt.getTime()).toBe(new Date(o.when.runAt).getTime());
      const [row] = await db.sql`
      select timeout_ms, visibility_ms, backoff, at_most_once, group_key, group_max,
             (extract(epoch from run_at - created_at) * 1000)::float8 as delay_ms
      from pgsched.jobs where id = ${id}`;
      expect(row).toMatchObject({
        timeout_ms: o.timeout?.ms ?? null,
        visibility_ms: o.visibilityTimeout?.ms ?? null,
        at_most_once: o.delivery === undefined ? null : o.delivery === 'at-most-once',
        group_key: o.grouping ? Object.values(o.grouping)[0] : null,
        // a serial key is a group of one running job
        group_max: o.grouping && 'serialKey' in o.grouping ? 1 : null,
      });
      if (o.backoff) {
        const { base, max, ...rest } = o.backoff;
        expect(row!.backoff).toEqual({ ...rest, base: base.ms, ...(max ? { max: max.ms } : {}) });
      } else expect(row!.backoff).toBeNull();
      if (o.when && 'delay' in o.when) expect(row!.delay_ms).toBe(o.when.delay.ms);
      if (!o.when) expect(row!.delay_ms).toBe(0);
    },
  );
});

test('nothing but the accepted jobs was written', async () => {
  // Every job row of this file comes from the accepted-options property; the rejections wrote none.
  const [row] = await db.sql`select count(*)::int as n from pgsched.jobs where name <> 'stored'`;
  expect(row!.n).toBe(0);
  expect(await footprint(db.sql)).toMatch(/^\d+\/0\/0$/);
});
