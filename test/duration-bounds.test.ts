import { beforeAll, describe, expect, it } from 'vitest';
import { type Pgsched, PgschedValidationError, snooze } from '../src/index.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

/** 2³¹−1 ms: the largest value of an integer column and of a Node timer. */
const MAX_TIMER = 2_147_483_647;
const MAX_DELAY = 36_500 * 86_400_000;

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

async function rowCounts(): Promise<string> {
  const [row] = await db.sql`select (select count(*) from pgsched.jobs) || '/' ||
    (select count(*) from pgsched.schedules) as n`;
  return row!.n;
}

/** The call rejects with a PgschedValidationError naming `field` and showing `value`; nothing is written. */
async function rejects(call: () => unknown, field: string, value: unknown) {
  const before = await rowCounts();
  const error = await Promise.resolve()
    .then(call)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(error, `${field} = ${String(value)} accepted`).toBeInstanceOf(PgschedValidationError);
  expect((error as PgschedValidationError).field).toBe(field);
  expect((error as PgschedValidationError).value).toEqual(value);
  expect((error as Error).message).toContain(JSON.stringify(value));
  expect(await rowCounts()).toBe(before);
}

describe('durations are bounded by what their columns and timers hold', () => {
  it("rejects define({ visibilityTimeout: '60d' }) and timeouts past 2³¹−1 ms", async () => {
    const p = db.pgsched();
    await rejects(
      () => p.define('a', async () => {}, { visibilityTimeout: '60d' }),
      'define.options.visibilityTimeout',
      '60d',
    );
    await rejects(
      () => p.define('b', async () => {}, { timeout: MAX_TIMER + 1 }),
      'define.options.timeout',
      MAX_TIMER + 1,
    );
    await rejects(() => p.define('c', async () => {}, { timeout: '25d' }), 'define.options.timeout', '25d');
    await rejects(
      () => p.define('d', async () => {}, { backoff: { type: 'fixed', base: '36501d' } }),
      'define.options.backoff.base',
      '36501d',
    );
    await rejects(
      () => p.define('e', async () => {}, { backoff: { type: 'fixed', base: 1, max: 1e300 } }),
      'define.options.backoff.max',
      1e300,
    );
    // A timeout that rounds to 0 ms would break the timeout_ms > 0 check at the database.
    await rejects(() => p.define('f', async () => {}, { timeout: 0.4 }), 'define.options.timeout', 0.4);
    expect(p).toBeDefined();
  });

  it('rejects out-of-range enqueue and enqueueMany durations with nothing written', async () => {
    await rejects(
      () => q.enqueue('x', {}, { visibilityTimeout: '60d' }),
      'enqueue.options.visibilityTimeout',
      '60d',
    );
    await rejects(
      () => q.enqueue('x', {}, { timeout: 5_184_000_000 }),
      'enqueue.options.timeout',
      5_184_000_000,
    );
    await rejects(() => q.enqueue('x', {}, { timeout: '0.1ms' }), 'enqueue.options.timeout', '0.1ms');
    await rejects(() => q.enqueue('x', {}, { delay: MAX_DELAY + 1 }), 'enqueue.options.delay', MAX_DELAY + 1);
    await rejects(() => q.enqueue('x', {}, { delay: '1e308' }), 'enqueue.options.delay', '1e308');
    await rejects(() => q.enqueue('x', {}, { delay: 1e21 }), 'enqueue.options.delay', 1e21);
    await rejects(
      () => q.enqueue('x', {}, { backoff: { type: 'exponential', base: '1s', max: '40000d' } }),
      'enqueue.options.backoff.max',
      '40000d',
    );
    await rejects(
      () => q.enqueueMany('x', [{}], { visibilityTimeout: '30d' }),
      'enqueueMany.options.visibilityTimeout',
      '30d',
    );
    await rejects(() => q.enqueueMany('x', [{}], { delay: '36501d' }), 'enqueueMany.options.delay', '36501d');
  });

  it('rejects out-of-range start, stop, schedule and snooze durations', async () => {
    await rejects(() => db.pgsched().start({ pollInterval: '25d' }), 'start.options.pollInterval', '25d');
    await rejects(
      () => db.pgsched().start({ retention: { failed: 1e16 } }),
      'start.options.retention.failed',
      1e16,
    );
    await rejects(() => db.pgsched().stop({ timeout: '30d' }), 'stop.options.timeout', '30d');
    await rejects(() => db.pgsched().stop({ timeout: -1 }), 'stop.options.timeout', -1);
    await rejects(() => db.pgsched().stop({ timout: 5 } as never), 'stop.options.timout', 5);
    const base = { job: 'report', cron: '0 * * * *' };
    await rejects(() => q.schedule('s', { ...base, timeout: '60d' }), 'schedule.options.timeout', '60d');
    await rejects(
      () => q.schedule('s', { ...base, visibilityTimeout: MAX_TIMER + 1 }),
      'schedule.options.visibilityTimeout',
      MAX_TIMER + 1,
    );
    await rejects(
      () => q.schedule('s', { ...base, misfireGrace: '25d' }),
      'schedule.options.misfireGrace',
      '25d',
    );
    await rejects(
      () => q.schedule('s', { ...base, catchUp: { max: 1, within: '36501d' } }),
      'schedule.options.catchUp.within',
      '36501d',
    );
    await rejects(() => q.schedule('s', { job: 'report', every: 1e300 }), 'schedule.options.every', 1e300);
    await rejects(
      () => q.schedule('s', { job: 'report', cron: '@every 36501d' }),
      'schedule.options.cron',
      '@every 36501d',
    );
    expect(() => snooze('36501d')).toThrow(PgschedValidationError);
    expect(() => snooze('36501d')).toThrow(/snooze\.delay/);
  });

  it('accepts the largest values, and a worker claims, times and runs such jobs', async () => {
    const p = db.pgsched();
    p.define('long-lease', async () => 'ok', { visibilityTimeout: MAX_TIMER, timeout: MAX_TIMER });
    // Before the bound, a 2³¹ ms timer fired after 1 ms; this job must outlive 300 ms.
    p.define('slow', async () => new Promise((r) => setTimeout(() => r('slept'), 300)), { timeout: '24d' });
    const a = await p.enqueue('long-lease', {});
    const b = await p.enqueue('slow', {});
    const far = await p.enqueue('long-lease', {}, { delay: MAX_DELAY });
    await p.start({ pollInterval: 50 });
    await waitFor(
      async () => (await p.getJob(a))?.state === 'completed' && (await p.getJob(b))?.state === 'completed',
    );
    expect(await p.getJob(b)).toMatchObject({ result: 'slept', attempt: 1, errors: [] });
    const [lease] = await db.sql`select visibility_ms, timeout_ms from pgsched.jobs where id = ${a}`;
    expect(lease).toEqual({ visibility_ms: MAX_TIMER, timeout_ms: MAX_TIMER });
    const farJob = (await p.getJob(far))!;
    expect(farJob.state).toBe('pending');
    const years = (farJob.runAt.getTime() - farJob.createdAt.getTime()) / (365.25 * 86_400_000);
    expect(years).toBeGreaterThan(99.9);
    expect(years).toBeLessThan(100);
    await p.stop({ timeout: MAX_TIMER });
  });
});
