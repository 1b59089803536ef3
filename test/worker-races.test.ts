import { beforeAll, describe, expect, it } from 'vitest';
import { snooze } from '../src/index.js';
import { createRescuer } from '../src/maintenance/rescuer.js';
import { createQueries, type Queries } from '../src/queries.js';
import { Registry } from '../src/registry.js';
import { createWorker } from '../src/worker/create.js';
import { type TestDb, testLogger, useTestDb, waitFor } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

async function jobRow(id: string) {
  const [row] = await db.sql<{ state: string; attempt: number; lease_left_ms: number | null }[]>`
    select state::text, attempt,
           (extract(epoch from locked_until - now()) * 1000)::float8 as lease_left_ms
    from pgsched.jobs where id = ${id}`;
  return row!;
}

/** Resolves `open()` from outside: a gate a test opens when the interleaving it needs has happened. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('claim bookkeeping races', () => {
  it('a snooze whose write reply arrives after the job was claimed again keeps the new claim heartbeated', async () => {
    const registry = new Registry();
    const secondStarted = gate();
    const finishSecond = gate();
    let runs = 0;
    registry.define(
      'snooze-race',
      async () => {
        runs++;
        if (runs === 1) return snooze(0);
        secondStarted.open();
        await finishSecond.opened;
        return 'done';
      },
      { visibilityTimeout: 1_000 },
    );
    const real = createQueries(db.sql, 'pgsched');
    let delayed = 0;
    // The statements run for real; only the snooze's reply reaches the worker late: after the
    // same worker has claimed the job again and started it (what a slow settle connection does).
    const settle: Queries['settle'] = (workerId, batch, deleteCompleted) =>
      real.settle(workerId, batch, deleteCompleted).then(async (rows) => {
        if (batch.refunds.includes('1') && delayed++ === 0) {
          await Promise.race([secondStarted.opened, new Promise((r) => setTimeout(r, 5_000))]);
        }
        return rows;
      }) as unknown as ReturnType<Queries['settle']>;
    const queries: Queries = { ...real, settle };
    const worker = createWorker(db.sql, queries, registry, testLogger, {
      schema: 'pgsched',
      concurrency: 1,
      prefetch: null,
      queues: null,
      listenSql: null,
      pollIntervalMs: 50,
      maxResultBytes: 1_000_000,
      random: Math.random,
      deleteCompleted: false,
    });
    const id = await db.pgsched().enqueue('snooze-race', {});
    await worker.start();
    try {
      await waitFor(() => runs === 2, 5_000);
      // The second claim of the job runs under the same attempt number (the snooze gave it back).
      expect(await jobRow(id)).toMatchObject({ state: 'running', attempt: 1 });
      // 2.5 visibility timeouts later the heartbeat must still be extending this claim's lease,
      // and the rescuer must find nothing to take back.
      await new Promise((r) => setTimeout(r, 2_500));
      await createRescuer(db.sql, 'pgsched', testLogger).runOnce();
      const during = await jobRow(id);
      expect(during).toMatchObject({ state: 'running', attempt: 1 });
      expect(during.lease_left_ms).toBeGreaterThan(0);
      finishSecond.open();
      await waitFor(async () => (await jobRow(id)).state === 'completed', 5_000);
    } finally {
      finishSecond.open();
      await worker.stop(1_000);
    }
    expect(delayed).toBe(1);
    expect(runs).toBe(2);
    expect(await jobRow(id)).toMatchObject({ state: 'completed', attempt: 1 });
  });

  it('without LISTEN, a prefetched job cancelled while it waits never starts', async () => {
    const q = db.pgsched();
    const started: string[] = [];
    const finishFirst = gate();
    q.define('cancel-wait', async (p: { name: string }) => {
      started.push(p.name);
      if (p.name === 'a') await finishFirst.opened;
    });
    const a = await q.enqueue('cancel-wait', { name: 'a' }, { priority: 0 });
    const b = await q.enqueue('cancel-wait', { name: 'b' }, { priority: 1 });
    // One slot and one prefetched: a runs, b waits in the worker's buffer (claimed, `running`).
    await q.start({ concurrency: 1, prefetch: 1, pollOnly: true, pollInterval: 100, leader: false });
    try {
      await waitFor(async () => started.length === 1 && (await jobRow(b)).state === 'running', 5_000);
      // The NOTIFY a cancel sends reaches no one: this worker does not LISTEN.
      expect(await q.cancel(b)).toBe(true);
      // Long enough for b's claim to be older than the recheck age (the poll interval, at least
      // 500 ms) when a's slot frees.
      await new Promise((r) => setTimeout(r, 600));
      finishFirst.open();
      // c runs after b would have: once c is done, b had its chance to start.
      const c = await q.enqueue('cancel-wait', { name: 'c' }, { priority: 2 });
      await waitFor(async () => (await jobRow(c)).state === 'completed', 5_000);
    } finally {
      finishFirst.open();
      await q.stop();
    }
    expect(started).toEqual(['a', 'c']);
    expect((await jobRow(b)).state).toBe('cancelled');
    expect((await jobRow(a)).state).toBe('completed');
  });
});
