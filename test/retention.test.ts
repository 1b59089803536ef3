import { beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

async function rowsNamed(name: string) {
  return (await db.sql`
    select id, state::text as state, attempt, jsonb_array_length(errors) as errors
    from pgsched.jobs where name = ${name} order by id`) as unknown as {
    id: string;
    state: string;
    attempt: number;
    errors: number;
  }[];
}

describe('retention of completed jobs: 0', () => {
  it('deletes jobs as they complete and keeps retried, failed and cancelled ones', async () => {
    const q = db.pgsched();
    let ran = 0;
    q.define('zero-ok', async (p: { n: number }) => {
      ran++;
      return { n: p.n };
    });
    const flakyAttempts: number[] = [];
    q.define(
      'zero-flaky',
      async (_p, ctx) => {
        flakyAttempts.push(ctx.job.attempt);
        if (ctx.job.attempt === 1) throw new Error('first try fails');
      },
      { backoff: { type: 'fixed', base: 50 } },
    );
    q.define(
      'zero-doomed',
      async () => {
        throw new Error('always');
      },
      { maxAttempts: 1 },
    );
    await q.enqueueMany(
      'zero-ok',
      Array.from({ length: 300 }, (_, n) => ({ n })),
    );
    const flaky = await q.enqueue('zero-flaky', {});
    const doomed = await q.enqueue('zero-doomed', {});
    const cancelled = await q.enqueue('zero-ok', { n: -1 }, { delay: '1h' });
    await q.cancel(cancelled);

    await q.start({ retention: { completed: 0 }, pollInterval: 50 });
    await waitFor(async () => ran === 300 && (await rowsNamed('zero-ok')).length === 1, 10_000);
    await waitFor(async () => (await rowsNamed('zero-flaky')).length === 0, 10_000);
    await waitFor(async () => (await rowsNamed('zero-doomed'))[0]?.state === 'failed', 10_000);
    await q.stop();

    expect(ran).toBe(300);
    expect(flakyAttempts).toEqual([1, 2]);
    expect(await q.getJob(flaky)).toBeNull();
    expect(await rowsNamed('zero-ok')).toEqual([
      { id: cancelled, state: 'cancelled', attempt: 0, errors: 0 },
    ]);
    expect(await rowsNamed('zero-doomed')).toEqual([{ id: doomed, state: 'failed', attempt: 1, errors: 1 }]);
  });

  it('an attempt that lost its job writes nothing: the newer owner keeps the row', async () => {
    const q = db.pgsched();
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finished = false;
    q.define('zero-stale', async () => {
      await released; // ignores its signal, like a handler stuck in a call
      finished = true;
    });
    const id = await q.enqueue('zero-stale', {});
    await q.start({ retention: { completed: 0 }, pollInterval: 50 });
    await waitFor(async () => (await rowsNamed('zero-stale'))[0]?.state === 'running');
    // Another worker took the job over (what the rescuer and a second claim do after a lease expires).
    await db.sql`update pgsched.jobs set locked_by = 'someone-else', attempt = attempt + 1 where id = ${id}`;
    release();
    await waitFor(() => finished);
    await q.stop();
    const [row] = (await db.sql`
      select state::text as state, attempt, locked_by from pgsched.jobs where id = ${id}`) as unknown as {
      state: string;
      attempt: number;
      locked_by: string;
    }[];
    expect(row).toEqual({ state: 'running', attempt: 2, locked_by: 'someone-else' });
  });
});
