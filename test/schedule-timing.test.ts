import { beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

describe('schedule timing (real clock)', () => {
  it('a 6-field cron every 2 s runs 5 times in a 10 s window, each within 1 s of its due second', async () => {
    const q = db.pgsched();
    const ran: { runAt: number; startedAt: number }[] = [];
    q.define('tick', async (_payload, ctx) => {
      ran.push({ runAt: ctx.job.runAt.getTime(), startedAt: Date.now() });
    });
    await q.start({ concurrency: 2 });
    await waitFor(() => q.isLeader, 10_000);
    // Created while the leader idles: the change notification wakes it for the first occurrence.
    const schedule = await q.schedule('every-2s', { cron: '*/2 * * * * *', job: 'tick' });
    const from = schedule.nextFireAt!.getTime();
    const to = from + 10_000;
    await waitFor(() => ran.some((r) => r.runAt >= to - 2_000), 20_000);
    await q.pauseSchedule('every-2s');
    await q.stop();

    const rows = await db.sql<{ run_at: Date; created_at: Date; started_at: Date; state: string }[]>`
      select run_at, created_at, started_at, state from pgsched.jobs
      where schedule = 'every-2s' and run_at >= ${new Date(from)} and run_at < ${new Date(to)} order by run_at`;
    expect(rows.map((r) => r.run_at.getTime())).toEqual([0, 2, 4, 6, 8].map((s) => from + s * 1_000));
    for (const row of rows) {
      expect(row.state).toBe('completed');
      expect(row.run_at.getTime() % 2_000).toBe(0);
      // Started within 1 s of the due second (database clock), and never before it: the ticker
      // prepares a little early but commits at the due time.
      expect(row.started_at.getTime() - row.run_at.getTime()).toBeLessThan(1_000);
      expect(row.started_at.getTime()).toBeGreaterThanOrEqual(row.run_at.getTime());
      expect(Math.abs(row.created_at.getTime() - row.run_at.getTime())).toBeLessThan(1_000);
    }
    expect(ran.filter((r) => r.runAt >= from && r.runAt < to)).toHaveLength(5);
  });
});
