import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Pgsched, PgschedValidationError } from '../src/index.js';
import { countByState, type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

beforeEach(async () => {
  await db.sql`delete from pgsched.jobs`;
});

async function setState(ids: string[], state: string) {
  await db.sql`
    update pgsched.jobs set state = ${state}::pgsched.job_state, attempt = 1, max_attempts = 1,
      started_at = now(), locked_by = case when ${state} = 'running' then 'w' end,
      locked_until = case when ${state} = 'running' then now() + interval '1 minute' end,
      finished_at = case when ${state} in ('completed', 'failed', 'cancelled') then now() end
    where id = any(${ids}::bigint[])`;
}

async function snapshot() {
  return db.sql`select id, state, run_at, max_attempts, finished_at from pgsched.jobs order by id`;
}

describe('deleteJob', () => {
  it('deletes pending and finished jobs, never a running one', async () => {
    const [pending, running, completed, failed] = await q.enqueueMany('del', [{}, {}, {}, {}]);
    await setState([running!], 'running');
    await setState([completed!], 'completed');
    await setState([failed!], 'failed');
    expect(await q.deleteJob(pending!)).toBe(true);
    expect(await q.deleteJob(running!)).toBe(false);
    expect(await q.deleteJob(Number(completed))).toBe(true);
    expect(await q.deleteJob(BigInt(failed!))).toBe(true);
    expect(await q.deleteJob(pending!)).toBe(false);
    expect(await countByState(db.sql)).toEqual({ running: 1 });
    await expect(q.deleteJob('12abc')).rejects.toMatchObject({
      name: 'PgschedValidationError',
      field: 'deleteJob.id',
    });
  });
});

describe('retryJobs', () => {
  it('returns matching failed and cancelled jobs to pending and counts them', async () => {
    const r = await q.enqueueMany('bulk', [{}, {}, {}, {}, {}], { queue: 'r' });
    const other = await q.enqueueMany('bulk', [{}], { queue: 'other' });
    await setState(r.slice(0, 3), 'failed');
    await setState(r.slice(3, 4), 'cancelled');
    await setState(r.slice(4), 'completed');
    await setState(other, 'failed');

    expect(await q.retryJobs({ queue: 'r', state: 'cancelled' })).toBe(1);
    expect(await q.retryJobs({ queue: 'r' })).toBe(3);
    expect(await q.retryJobs({ queue: 'r' })).toBe(0);
    const rows = await db.sql<
      { id: string; state: string; max_attempts: number; finished_at: Date | null }[]
    >`
      select id, state, max_attempts, finished_at from pgsched.jobs order by id`;
    expect(rows.map((x) => x.state)).toEqual([
      'pending',
      'pending',
      'pending',
      'pending',
      'completed',
      'failed',
    ]);
    // one more attempt where none was left
    expect(rows[0]).toMatchObject({ max_attempts: 2, finished_at: null });
    expect(await q.retryJobs({ state: 'failed', since: new Date(Date.now() - 60_000) })).toBe(1);
  });

  it('retries only the newest of jobs sharing a key, and none while an unfinished job holds it', async () => {
    const [old, newest] = await q.enqueueMany('keyed', [{}, {}]);
    const [blocked] = await q.enqueueMany('keyed', [{}]);
    await setState([old!, newest!, blocked!], 'failed');
    await db.sql`update pgsched.jobs set key = 'dup' where id in (${old!}, ${newest!})`;
    await db.sql`update pgsched.jobs set key = 'held' where id = ${blocked!}`;
    await q.enqueue('keyed', {}, { key: 'held' });
    expect(await q.retryJobs({ name: 'keyed' })).toBe(1);
    const rows = await db.sql<{ id: string; state: string }[]>`
      select id, state from pgsched.jobs where id in (${old!}, ${newest!}, ${blocked!}) order by id`;
    expect(rows.map((x) => x.state)).toEqual(['failed', 'pending', 'failed']);
  });

  it('rejects an empty filter, states it cannot retry and unknown fields; nothing changes', async () => {
    const ids = await q.enqueueMany('bulk', [{}, {}]);
    await setState(ids, 'failed');
    const before = await snapshot();
    const cases: [unknown, string][] = [
      [{}, 'retryJobs.filter'],
      [undefined, 'retryJobs.filter'],
      [{ state: 'running' }, 'retryJobs.filter.state'],
      [{ state: ['failed', 'pending'] }, 'retryJobs.filter.state'],
      [{ queue: 'x', limit: 5 }, 'retryJobs.filter.limit'],
      [{ group: 7 }, 'retryJobs.filter.group'],
    ];
    for (const [filter, field] of cases) {
      const error = await q.retryJobs(filter as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(filter)).toBeInstanceOf(PgschedValidationError);
      expect((error as PgschedValidationError).field).toBe(field);
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('cancelJobs', () => {
  it('cancels matching pending jobs across several batches', async () => {
    await q.enqueueMany(
      'many',
      Array.from({ length: 6_000 }, () => ({})),
      { queue: 'c' },
    );
    await q.enqueueMany('many', [{}, {}], { queue: 'keep' });
    expect(await q.cancelJobs({ queue: 'c' })).toBe(6_000);
    expect(await countByState(db.sql)).toEqual({ cancelled: 6_000, pending: 2 });
  });

  it("aborts running jobs' signals, as cancel(id) does, and records the attempt", async () => {
    const worker = db.pgsched();
    const aborted: string[] = [];
    const started = new Set<string>();
    worker.define('wait-abort', async (_p, ctx) => {
      started.add(ctx.job.id);
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      aborted.push(ctx.job.id);
    });
    const ids = await q.enqueueMany('wait-abort', [{}, {}, {}], { queue: 'abort' });
    await q.enqueueMany('wait-abort', [{}], { queue: 'abort', delay: '1h' });
    await worker.start({ queues: ['abort'], pollInterval: 50 });
    await waitFor(() => started.size === 3);
    expect(await q.cancelJobs({ queue: 'abort', state: 'running' })).toBe(3);
    await waitFor(() => aborted.length === 3, 5_000);
    expect(new Set(aborted)).toEqual(new Set(ids));
    const job = (await q.getJob(ids[0]!))!;
    expect(job.state).toBe('cancelled');
    expect(job.attempts).toEqual([
      {
        attempt: 1,
        startedAt: job.startedAt,
        finishedAt: expect.any(Date),
        worker: (await worker.listWorkers())[0]!.id,
        outcome: 'cancelled',
      },
    ]);
    expect(await q.cancelJobs({ queue: 'abort' })).toBe(1); // the delayed one
    await worker.stop();
    expect(await countByState(db.sql)).toEqual({ cancelled: 4 });
  });

  it('rejects an empty filter and states it cannot cancel; nothing changes', async () => {
    await q.enqueueMany('bulk', [{}, {}]);
    const before = await snapshot();
    for (const [filter, field] of [
      [{}, 'cancelJobs.filter'],
      [{ state: 'failed' }, 'cancelJobs.filter.state'],
      [{ since: 'soon' }, 'cancelJobs.filter.since'],
    ] as const) {
      await expect(q.cancelJobs(filter as never)).rejects.toMatchObject({
        name: 'PgschedValidationError',
        field,
      });
    }
    expect(await snapshot()).toEqual(before);
  });
});
