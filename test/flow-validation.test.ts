import { beforeAll, describe, expect, it } from 'vitest';
import { type Pgsched, PgschedValidationError } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

async function written(): Promise<number> {
  const [row] = await db.sql`
    select (select count(*) from pgsched.jobs) + (select count(*) from pgsched.queues) as n`;
  return Number(row!.n);
}

/** A PgschedValidationError naming the field and showing the value, and nothing written. */
async function rejects(call: () => Promise<unknown>, field: string, shown: string) {
  const before = await written();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${field} to be rejected`).toBeInstanceOf(PgschedValidationError);
  expect((error as PgschedValidationError).field).toBe(field);
  expect((error as Error).message).toContain(shown);
  expect(await written()).toBe(before);
}

const bad = (options: unknown) => () => q.setQueue('emails', options as never);

describe('queue options', () => {
  it('unknown option, limits that are not integers ≥ 1, periods that are not durations', async () => {
    await rejects(bad({ concurency: 5 }), 'setQueue.options.concurency', '5');
    await rejects(bad({ concurrency: 0 }), 'setQueue.options.concurrency', '0');
    await rejects(bad({ concurrency: 2.5 }), 'setQueue.options.concurrency', '2.5');
    await rejects(bad({ concurrency: '3' }), 'setQueue.options.concurrency', '"3"');
    await rejects(bad({ groupConcurrency: -1 }), 'setQueue.options.groupConcurrency', '-1');
    await rejects(bad({ rateLimit: { limit: 0, period: '1s' } }), 'setQueue.options.rateLimit.limit', '0');
    await rejects(
      bad({ rateLimit: { limit: 1.5, period: '1s' } }),
      'setQueue.options.rateLimit.limit',
      '1.5',
    );
    await rejects(
      bad({ rateLimit: { limit: 5, period: 'soon' } }),
      'setQueue.options.rateLimit.period',
      'soon',
    );
    await rejects(bad({ rateLimit: { limit: 5, period: 0 } }), 'setQueue.options.rateLimit.period', '0');
    await rejects(bad({ rateLimit: { limit: 5 } }), 'setQueue.options.rateLimit.period', 'undefined');
    await rejects(
      bad({ groupRateLimit: { limit: 5, period: '1s', burst: 2 } }),
      'setQueue.options.groupRateLimit.burst',
      '2',
    );
    await rejects(bad({ groupRateLimit: 10 }), 'setQueue.options.groupRateLimit', '10');
    await rejects(bad('fast'), 'setQueue.options', 'fast');
    await rejects(bad(null), 'setQueue.options', 'null');
  });

  it('queue names', async () => {
    await rejects(() => q.setQueue('no spaces', {}), 'setQueue.name', 'no spaces');
    await rejects(() => q.pauseQueue(''), 'pauseQueue.name', '""');
    await rejects(() => q.resumeQueue('x'.repeat(101)), 'resumeQueue.name', 'xxx');
    await rejects(() => q.getQueue(42 as never), 'getQueue.name', '42');
  });

  it('accepted policies round-trip, null removes a limit, and an empty policy leaves no row', async () => {
    const info = await q.setQueue('api', {
      concurrency: 5,
      rateLimit: { limit: 100, period: '1m' },
      groupConcurrency: 1,
      groupRateLimit: { limit: 10, period: 1_000 },
    });
    expect(info).toEqual({
      name: 'api',
      paused: false,
      concurrency: 5,
      rateLimit: { limit: 100, period: 60_000 },
      groupConcurrency: 1,
      groupRateLimit: { limit: 10, period: 1_000 },
      counts: { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
    });
    const kept = await q.setQueue('api', { concurrency: null, rateLimit: null });
    expect(kept).toMatchObject({ concurrency: null, rateLimit: null, groupConcurrency: 1 });
    await q.setQueue('api', { groupConcurrency: null, groupRateLimit: null });
    expect(await db.sql`select * from pgsched.queues`).toHaveLength(0);
    await q.pauseQueue('api');
    expect((await q.listQueues()).map((i) => [i.name, i.paused])).toEqual([['api', true]]);
    await q.resumeQueue('api');
    expect(await db.sql`select * from pgsched.queues`).toHaveLength(0);
  });
});

describe('enqueue flow options', () => {
  const enqueue = (options: unknown) => () => q.enqueue('job', {}, options as never);
  it('group, onConflict, debounce', async () => {
    await rejects(enqueue({ group: '' }), 'enqueue.options.group', '""');
    await rejects(enqueue({ group: 'g'.repeat(201) }), 'enqueue.options.group', 'ggg');
    await rejects(enqueue({ group: 7 }), 'enqueue.options.group', '7');
    await rejects(enqueue({ group: 'a', serialKey: 'b' }), 'enqueue.options.serialKey', 'b');
    await rejects(enqueue({ key: 'k', onConflict: 'merge' }), 'enqueue.options.onConflict', 'merge');
    await rejects(enqueue({ onConflict: 'replace' }), 'enqueue.options.onConflict', 'replace');
    await rejects(enqueue({ debounce: '5s' }), 'enqueue.options.debounce', '5s');
    await rejects(enqueue({ key: 'k', debounce: 'later' }), 'enqueue.options.debounce', 'later');
    await rejects(enqueue({ key: 'k', debounce: 0 }), 'enqueue.options.debounce', '0');
    await rejects(enqueue({ key: 'k', debounce: '1s', delay: '1s' }), 'enqueue.options.debounce', '1s');
    await rejects(
      enqueue({ key: 'k', debounce: '1s', onConflict: 'skip' }),
      'enqueue.options.onConflict',
      'skip',
    );
    await rejects(enqueue({ key: 'k', debounceMaxWait: '1m' }), 'enqueue.options.debounceMaxWait', '1m');
    await rejects(
      () => q.enqueueMany('job', [{}], { onConflict: 'replace' } as never),
      'enqueueMany.options.onConflict',
      'replace',
    );
    await rejects(() => q.enqueueMany('job', [{}], { group: '' }), 'enqueueMany.options.group', '""');
  });

  it('the SQL enqueue() refuses a bad on_conflict and debounce without a key, writing nothing', async () => {
    await expect(
      db.sql`select pgsched.enqueue('job', '{}', key => 'k', on_conflict => 'merge')`,
    ).rejects.toThrow(/on_conflict/);
    await expect(db.sql`select pgsched.enqueue('job', '{}', debounce_ms => 100)`).rejects.toThrow(/debounce/);
    expect(await written()).toBe(0);
  });

  it('a group round-trips to the row; enqueueMany puts every job in it', async () => {
    const id = await q.enqueue('job', {}, { group: 'tenant:42' });
    const many = await q.enqueueMany('job', [{}, {}], { group: 'tenant:7' });
    const rows =
      await db.sql`select group_key, group_max from pgsched.jobs where id = any(${[id, ...many]}::bigint[]) order by id`;
    expect(rows).toEqual([
      { group_key: 'tenant:42', group_max: null },
      { group_key: 'tenant:7', group_max: null },
      { group_key: 'tenant:7', group_max: null },
    ]);
    expect((await q.getJob(id))!.group).toBe('tenant:42');
    await db.sql`delete from pgsched.jobs`;
  });
});
