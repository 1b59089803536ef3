import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pgsched } from '../src/index.js';
import { createQueries } from '../src/queries.js';
import { toSettleBatch } from '../src/worker/settlement.js';
import { type TestDb, testLogger, useTestDb, waitFor } from './support/db.js';

// After five executions on a connection PostgreSQL may switch a prepared statement to its generic
// plan, which believes every array parameter holds 10 elements. A long-lived worker gets there on
// every connection; here each statement is generic from its first execution.
let db: TestDb;
let generic: postgres.Sql;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
  generic = postgres(db.url, {
    max: 10,
    onnotice: () => {},
    connection: { plan_cache_mode: 'force_generic_plan' },
  });
});

afterAll(async () => {
  await generic.end({ timeout: 5 });
});

/** 20,000 jobs in calls of 1,000, then fresh statistics, as after a burst in production. */
async function fill(q: Pgsched, name: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await q.enqueueMany(
      name,
      Array.from({ length: 1_000 }, (_, n) => ({ n })),
    );
  }
  await db.sql`analyze pgsched.jobs`;
}

const DEFAULTS = { names: ['generic'], maxAttempts: [25], visibilityMs: [30_000], atMostOnce: [0] };

describe('statements under generic plans', () => {
  for (const deleteCompleted of [true, false]) {
    it(`a settle batch stays one primary-key probe per row (completed ${deleteCompleted ? 'deleted' : 'kept'})`, async () => {
      const q = db.pgsched();
      const queries = createQueries(generic, 'pgsched');
      await db.sql`delete from pgsched.jobs`;
      const slowest: number[] = [];
      let settled = 0;
      // The bad plan (a nested loop over a scan of the whole table, ~1 s per batch of 1,000 at
      // 20,000 rows) appeared once the statistics had seen a table drained and filled again.
      for (let round = 0; round < 4; round++) {
        await fill(q, 'generic');
        let worst = 0;
        for (;;) {
          const rows = await queries.claim('generic-worker', 1_000, null, DEFAULTS);
          if (rows.length === 0) break;
          const batch = rows.map((r) => ({
            id: r.id,
            attempt: r.attempt,
            claimedAt: r.claimed_at,
            state: 'completed' as const,
            resultJson: '{"ok":true}',
          }));
          const started = performance.now();
          const written = await queries.settle(
            'generic-worker',
            toSettleBatch(batch, !deleteCompleted),
            deleteCompleted,
          );
          worst = Math.max(worst, performance.now() - started);
          expect(written).toHaveLength(rows.length);
          settled += written.length;
        }
        slowest.push(Math.round(worst));
        if (!deleteCompleted) await db.sql`delete from pgsched.jobs where state = 'completed'`;
      }
      expect(settled).toBe(80_000);
      const [left] = await db.sql<{ n: number }[]>`select count(*)::int as n from pgsched.jobs`;
      expect(left!.n).toBe(0);
      // An index probe per row writes 1,000 rows in ~10-30 ms; the scan plan took ~1 s.
      expect(Math.max(...slowest), `slowest settle per round (ms): ${slowest.join(', ')}`).toBeLessThan(400);
    }, 120_000);
  }

  it('a worker whose connections use generic plans drains round after round at full speed', async () => {
    const q = new Pgsched({ sql: generic, logger: testLogger });
    let handled = 0;
    q.define('generic-e2e', async () => {
      handled++;
    });
    const roundMs: number[] = [];
    for (let round = 0; round < 3; round++) {
      await fill(q, 'generic-e2e');
      const started = performance.now();
      await q.start({ concurrency: 200, prefetch: 200, retention: { completed: 0 }, leader: false });
      await waitFor(async () => {
        const [row] = await db.sql<{ n: number }[]>`
            select count(*)::int as n from pgsched.jobs where name = 'generic-e2e'`;
        return row!.n === 0;
      }, 60_000);
      roundMs.push(Math.round(performance.now() - started));
      await q.stop();
    }
    expect(handled).toBe(60_000);
    // Under a second per round of 20,000; with the scan plan the old statement took 10 s and more.
    expect(Math.max(...roundMs), `drain per round (ms): ${roundMs.join(', ')}`).toBeLessThan(8_000);
  }, 180_000);
});
