import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Pgsched } from '../src/index.js';
import { type TestDb, testLogger, useTestDb, waitFor } from './support/db.js';

// A queue is often empty when its statistics are taken, and a worker's connections cache plans
// while it idles. The burst that follows must not be planned as if the table were still empty:
// with plans that trusted those statistics, each claim sorted the whole backlog and each settle
// rescanned the table per row, so this burst took more than 60 s instead of about 2 s.
let db: TestDb;
let workerSql: postgres.Sql;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
  // Few connections, so that each one runs the claim and the settle many times while idle.
  workerSql = postgres(db.url, { max: 3, onnotice: () => {} });
});

afterAll(async () => {
  await workerSql.end({ timeout: 5 });
});

it('a worker idle on an empty, analyzed queue drains a burst of 40,000 jobs at full speed', async () => {
  await db.sql`vacuum analyze pgsched.jobs`;
  const worker = new Pgsched({ sql: workerSql, logger: testLogger });
  let handled = 0;
  worker.define('burst', async () => {
    handled++;
  });
  // No leader: its VACUUM would refresh the statistics and hide the stale plans.
  await worker.start({ concurrency: 100, pollInterval: 20, retention: { completed: 0 }, leader: false });
  try {
    // A trickle of single jobs while idle: every connection plans (and caches) claim and settle.
    const producer = db.pgsched();
    for (let i = 0; i < 30; i++) {
      await producer.enqueue('burst', { i });
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor(() => handled === 30);

    const started = performance.now();
    for (let i = 0; i < 40; i++) {
      await producer.enqueueMany(
        'burst',
        Array.from({ length: 1_000 }, (_, n) => ({ n })),
      );
    }
    await waitFor(async () => {
      const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from pgsched.jobs`;
      return row!.n === 0;
    }, 60_000);
    const elapsedMs = Math.round(performance.now() - started);

    expect(handled).toBe(40_030);
    expect(elapsedMs, `burst drained in ${elapsedMs} ms`).toBeLessThan(15_000);
  } finally {
    await worker.stop();
  }
}, 90_000);
