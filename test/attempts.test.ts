import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancel, type Pgsched, PgschedValidationError, snooze } from '../src/index.js';
import { createRescuer } from '../src/maintenance/rescuer.js';
import { type TestDb, testLogger, useTestDb, waitFor } from './support/db.js';
import { type ManageProcess, startManageProcess } from './support/manage-process.js';

let db: TestDb;
let q: Pgsched;
let workerId: string;
const failOnce = new Set<string>();
const hang = new Map<string, () => void>();
const progressSeen: unknown[] = [];

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
  q.define(
    'flaky',
    async (_p, ctx) => {
      if (!failOnce.has(ctx.job.id)) {
        failOnce.add(ctx.job.id);
        throw new Error('first attempt fails');
      }
      return 'ok';
    },
    { backoff: { type: 'fixed', base: 0 } },
  );
  q.define('snoozy', async (_p, ctx) =>
    ctx.job.attempt === 1 && !failOnce.has(ctx.job.id) ? markThenSnooze(ctx.job.id) : 'ok',
  );
  q.define('self-cancel', async () => cancel('not needed'));
  q.define(
    'doomed',
    async () => {
      throw new Error('always');
    },
    { maxAttempts: 1 },
  );
  q.define('hold', async (_p, ctx) => {
    await new Promise<void>((resolve) => hang.set(ctx.job.id, resolve));
    return 'held';
  });
  q.define('chatty', async (_p, ctx) => {
    for (let i = 1; i <= 200; i++) void ctx.progress(i);
    await ctx.progress({ last: true });
    try {
      await ctx.progress(() => 1);
    } catch (error) {
      progressSeen.push(error);
    }
  });
  await q.start({ pollInterval: 50, concurrency: 5 });
  workerId = (await q.listWorkers())[0]!.id;
});

function markThenSnooze(id: string) {
  failOnce.add(id);
  return snooze(1);
}

const done = (id: string, state = 'completed') => waitFor(async () => (await q.getJob(id))?.state === state);

describe('attempt history', () => {
  it('a failed attempt then a completed one', async () => {
    const id = await q.enqueue('flaky', {});
    await done(id);
    const job = (await q.getJob(id))!;
    expect(job.attempts).toHaveLength(2);
    expect(job.attempts[0]).toMatchObject({
      attempt: 1,
      worker: workerId,
      outcome: 'failed',
      error: { attempt: 1, message: 'first attempt fails' },
    });
    expect(job.attempts[1]).toEqual({
      attempt: 2,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      worker: workerId,
      outcome: 'completed',
    });
    expect(job.attempts[0]!.finishedAt!.getTime()).toBeLessThanOrEqual(job.attempts[1]!.startedAt.getTime());
    expect(job.lockedBy).toBeNull();
  });

  it('snoozed, cancelled by the handler, failed for good', async () => {
    const [s, c, d] = await Promise.all([
      q.enqueue('snoozy', {}),
      q.enqueue('self-cancel', {}),
      q.enqueue('doomed', {}),
    ]);
    await Promise.all([done(s), done(c, 'cancelled'), done(d, 'failed')]);
    const outcomes = async (id: string) =>
      (await q.getJob(id))!.attempts.map((a) => [a.attempt, a.outcome, a.error?.kind]);
    expect(await outcomes(s)).toEqual([
      [1, 'snoozed', undefined],
      [1, 'completed', undefined],
    ]);
    expect(await outcomes(c)).toEqual([[1, 'cancelled', 'cancel']]);
    expect(await outcomes(d)).toEqual([[1, 'failed', undefined]]);
  });

  it('the running attempt, then one cancelled through the API', async () => {
    const id = await q.enqueue('hold', {});
    await waitFor(() => hang.has(id));
    const running = (await q.getJob(id))!;
    expect(running.attempts).toEqual([
      { attempt: 1, startedAt: running.startedAt, finishedAt: null, worker: workerId, outcome: 'running' },
    ]);
    expect(running.lockedBy).toBe(workerId);
    expect(await q.cancel(id)).toBe(true);
    const job = (await q.getJob(id))!;
    expect(job.attempts.map((a) => [a.outcome, a.worker])).toEqual([['cancelled', workerId]]);
    hang.get(id)!();
  });

  it('lease expired (rescuer) and shutdown', async () => {
    const [lost] = await q.enqueueMany('elsewhere', [{}]);
    await db.sql`
      update pgsched.jobs set state = 'running', attempt = 1, max_attempts = 3, locked_by = 'ghost',
        started_at = now() - interval '1 minute', locked_until = now() - interval '1 second'
      where id = ${lost!}`;
    await createRescuer(db.sql, 'pgsched', testLogger).runOnce();
    const rescued = (await q.getJob(lost!))!;
    expect(rescued.state).toBe('pending');
    expect(rescued.attempts).toEqual([
      {
        attempt: 1,
        startedAt: expect.any(Date),
        finishedAt: expect.any(Date),
        worker: 'ghost',
        outcome: 'lease-expired',
        error: expect.objectContaining({ kind: 'lease-expired' }),
      },
    ]);

    const other = db.pgsched();
    const started = new Set<string>();
    other.define('ignores-signal', async (_p, ctx) => {
      started.add(ctx.job.id);
      await new Promise(() => {});
    });
    const id = await other.enqueue('ignores-signal', {}, { queue: 'shut' });
    await other.start({ queues: ['shut'], pollInterval: 50 });
    await waitFor(() => started.has(id));
    await other.stop({ timeout: 50 });
    const job = (await q.getJob(id))!;
    expect(job.state).toBe('pending');
    // given back without an error (not the job's failure), as a snooze is, but recorded as a shutdown
    expect(job.attempt).toBe(0);
    expect(job.attempts.map((a) => [a.attempt, a.outcome, a.error])).toEqual([[1, 'shutdown', undefined]]);
  });
});

describe('ctx.progress', () => {
  let proc: ManageProcess | undefined;
  afterAll(() => proc?.kill());

  it('is readable through getJob from another process while the job runs, and kept after', async () => {
    proc = await startManageProcess({ DATABASE_URL: db.url });
    const id = await q.enqueue('report-progress', {});
    await proc.next((m) => m.started === id);
    const running = (await q.getJob(id))!;
    expect(running).toMatchObject({
      state: 'running',
      progress: { step: 1, of: 2 },
      lockedBy: proc.workerId,
    });
    proc.child.send({ finish: id });
    await done(id);
    expect((await q.getJob(id))!).toMatchObject({ progress: { step: 2, of: 2 }, result: 'done' });
  });

  it('coalesces a burst to its latest value and rejects a value that is not JSON at once', async () => {
    const id = await q.enqueue('chatty', {});
    await done(id);
    expect((await q.getJob(id))!.progress).toEqual({ last: true });
    expect(progressSeen).toHaveLength(1);
    expect(progressSeen[0]).toBeInstanceOf(PgschedValidationError);
    expect((progressSeen[0] as PgschedValidationError).field).toBe('ctx.progress.value');
  });
});
