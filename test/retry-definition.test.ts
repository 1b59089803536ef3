import { beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

describe('retry() of a job that never ran', () => {
  it("keeps maxAttempts unset, so the worker's definition applies (3 attempts, not 1)", async () => {
    // A producer that does not define the job: max_attempts stays NULL until the first claim.
    const producer = db.pgsched();
    const id = await producer.enqueue('flaky-report', { n: 1 });
    expect(await producer.cancel(id)).toBe(true);
    expect(await producer.retry(id)).toBe(true);
    const retried = (await producer.getJob(id))!;
    expect(retried).toMatchObject({ state: 'pending', attempt: 0, maxAttempts: null });

    const worker = db.pgsched();
    const attempts: number[] = [];
    worker.define(
      'flaky-report',
      async (_p, ctx) => {
        attempts.push(ctx.job.attempt);
        throw new Error(`fail ${ctx.job.attempt}`);
      },
      { maxAttempts: 3, backoff: { type: 'fixed', base: 0, jitter: 0 } },
    );
    await worker.start({ pollInterval: 50 });
    await waitFor(async () => (await worker.getJob(id))?.state === 'failed', 10_000);
    const job = (await worker.getJob(id))!;
    expect(attempts).toEqual([1, 2, 3]);
    expect(job).toMatchObject({ attempt: 3, maxAttempts: 3 });
    expect(job.errors.map((e) => e.message)).toEqual(['fail 1', 'fail 2', 'fail 3']);
    await worker.stop({ timeout: 1_000 });
  });

  it('still grants one more attempt to a job that used all of its attempts', async () => {
    const q = db.pgsched();
    q.define(
      'fails-once',
      async (_p, ctx) => {
        if (ctx.job.attempt === 1) throw new Error('first');
        return 'second';
      },
      { maxAttempts: 1 },
    );
    const id = await q.enqueue('fails-once', {});
    await q.start({ pollInterval: 50 });
    await waitFor(async () => (await q.getJob(id))?.state === 'failed', 10_000);
    expect(await q.retry(id)).toBe(true);
    await waitFor(async () => (await q.getJob(id))?.state === 'completed', 10_000);
    expect(await q.getJob(id)).toMatchObject({ attempt: 2, maxAttempts: 2, result: 'second' });
    await q.stop({ timeout: 1_000 });
  });
});
