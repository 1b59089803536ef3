import { beforeAll, describe, expect, it } from 'vitest';
import type { JobInfo } from '../src/index.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

describe('ctx.job', () => {
  it('matches the stored job, dates to the millisecond (microseconds truncated, as getJob does)', async () => {
    const q = db.pgsched();
    const seen: JobInfo[] = [];
    q.define('ctx-info', async (_p, ctx) => {
      seen.push(ctx.job);
    });
    const id = await q.enqueue('ctx-info', {}, { priority: 3, key: 'ctx-key', queue: 'ctx.q' });
    // Microsecond parts on both sides of a millisecond boundary, and an exact one.
    await db.sql`
      update pgsched.jobs set run_at = '2020-01-02 03:04:05.678999+00', created_at = '2020-01-02 03:04:05.001+00'
      where id = ${id}`;
    await q.start({ queues: ['ctx.q'], pollInterval: 50 });
    await waitFor(() => seen.length === 1);
    await q.stop();
    const job = (await q.getJob(id))!;
    expect(seen[0]).toEqual({
      id,
      name: 'ctx-info',
      queue: 'ctx.q',
      priority: 3,
      attempt: 1,
      maxAttempts: job.maxAttempts,
      key: 'ctx-key',
      group: null,
      runAt: new Date('2020-01-02T03:04:05.678Z'),
      createdAt: new Date('2020-01-02T03:04:05.001Z'),
      schedule: null,
      occurrence: null,
      fireAt: null,
    });
    expect(seen[0]!.runAt).toEqual(job.runAt);
    expect(seen[0]!.createdAt).toEqual(job.createdAt);
  });

  it('stores results exactly, whatever characters they hold', async () => {
    const q = db.pgsched();
    const tricky = [
      { s: 'quote " backslash \\ brace } { comma , NULL' },
      'NULL',
      '',
      ['a,b', '"', '\\', null],
      { unicode: 'żółw 🐢', nested: { deep: [1, 2.5, true] } },
      null,
      42,
    ];
    q.define('ctx-result', async (p: { i: number }) => tricky[p.i]);
    const ids = await q.enqueueMany(
      'ctx-result',
      tricky.map((_, i) => ({ i })),
    );
    await q.start({ pollInterval: 50 });
    await waitFor(async () => {
      const [row] =
        await db.sql`select count(*)::int as n from pgsched.jobs where name = 'ctx-result' and state = 'completed'`;
      return row!.n === tricky.length;
    });
    await q.stop();
    for (const [i, id] of ids.entries()) expect((await q.getJob(id))?.result).toEqual(tricky[i]);
  });

  it('ctx.signal first read after the attempt timed out is already aborted', async () => {
    const q = db.pgsched();
    let abortedWhenRead: boolean | undefined;
    q.define(
      'ctx-late-signal',
      async (_p, ctx) => {
        await new Promise((r) => setTimeout(r, 300)); // ignores the timeout, never looks at the signal
        abortedWhenRead = ctx.signal.aborted;
      },
      { timeout: '100ms', maxAttempts: 1 },
    );
    const id = await q.enqueue('ctx-late-signal', {});
    await q.start({ pollInterval: 50 });
    await waitFor(() => abortedWhenRead !== undefined, 5_000);
    await q.stop();
    expect(abortedWhenRead).toBe(true);
    expect((await q.getJob(id))?.errors[0]).toMatchObject({ kind: 'timeout' });
  });
});
