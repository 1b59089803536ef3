import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/split-worker.ts', import.meta.url));

let db: TestDb;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Started {
  started: string;
  at: number;
}

/** Forks a worker process with only `concurrency` set; resolves once it has started. */
async function worker(concurrency: number) {
  const child = fork(FIXTURE, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, DATABASE_URL: db.url, CONCURRENCY: String(concurrency) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const starts: Started[] = [];
  let ready = false;
  let stopped = false;
  child.on('message', (m: Record<string, unknown>) => {
    if (m.ready) ready = true;
    if (m.stopped) stopped = true;
    if (typeof m.started === 'string') starts.push(m as unknown as Started);
  });
  await waitFor(() => ready, 30_000);
  return {
    starts,
    async stop() {
      child.send({ stop: true });
      await waitFor(() => stopped, 10_000);
    },
  };
}

describe('adaptive claim size', () => {
  it('with only concurrency set, short jobs are claimed in batches of hundreds', async () => {
    const q = db.pgsched();
    let handled = 0;
    q.define('short', async () => {
      handled++;
    });
    await q.enqueueMany(
      'short',
      Array.from({ length: 5_000 }, (_, i) => ({ i })),
    );
    await q.start({ concurrency: 5, leader: false });
    try {
      await waitFor(async () => {
        const [r] = await db.sql`select count(*)::int as n from pgsched.jobs
          where name = 'short' and state = 'completed'`;
        return r!.n === 5_000;
      }, 30_000);
    } finally {
      await q.stop();
    }
    expect(handled).toBe(5_000);
    // Every job of one claim has the same started_at (the claim transaction's now()). With a
    // prefetch fixed at concurrency (the previous default) this drain took 1,000 claims of 5. While
    // the buffer holds work a claim waits for a quarter of the capacity (about 250 rows) to be free.
    const [claims] = await db.sql<{ n: number; largest: number }[]>`
      select count(*)::int as n, max(size)::int as largest from (
        select started_at, count(*) as size from pgsched.jobs where name = 'short' group by started_at) c`;
    expect(claims!.n).toBeLessThan(60);
    expect(claims!.largest).toBeGreaterThanOrEqual(250);
  });

  it('jobs that turn slow after a burst of fast ones are given back, not held', async () => {
    const q = db.pgsched();
    q.define('turns-slow', async (p: { ms: number }) => {
      if (p.ms > 0) await new Promise((r) => setTimeout(r, p.ms));
    });
    await q.start({ concurrency: 2, leader: false });
    try {
      // Fast jobs first: the worker learns to claim hundreds at a time.
      await q.enqueueMany(
        'turns-slow',
        Array.from({ length: 3_000 }, () => ({ ms: 0 })),
      );
      await waitFor(async () => {
        const [r] = await db.sql`select count(*)::int as n from pgsched.jobs
          where name = 'turns-slow' and state <> 'completed'`;
        return r!.n === 0;
      }, 15_000);
      // Then 200 jobs of 100 ms: one claim takes them all (20 s of work for 2 slots). Once the
      // worker has seen a few run, its next look at the buffer gives the rest back to the queue.
      const slow = await q.enqueueMany(
        'turns-slow',
        Array.from({ length: 200 }, () => ({ ms: 100 })),
      );
      await waitFor(async () => {
        const [r] = await db.sql`select count(*)::int as n from pgsched.jobs where id in ${db.sql(slow)}
          and state = 'running'`;
        return r!.n > 100;
      }, 5_000);
      const released = await waitFor(async () => {
        const [r] = await db.sql<{ n: number; attempts: number }[]>`
          select count(*)::int as n, coalesce(max(attempt), 0)::int as attempts
          from pgsched.jobs where id in ${db.sql(slow)} and state = 'pending'`;
        return r!.n >= 150 ? r! : null;
      }, 5_000);
      // Given back as never started: no attempt used.
      expect(released!.attempts).toBe(0);
    } finally {
      await q.stop();
    }
  });

  // Long jobs must not be hoarded: a worker busy with slow jobs leaves the queue to idle workers.
  it('two workers with only concurrency set share 100 jobs of 200 ms: both busy within a second, split within ±25%', async () => {
    const [a, b] = await Promise.all([worker(5), worker(5)]);
    const t0 = Date.now();
    await db.pgsched().enqueueMany(
      'sleep-200',
      Array.from({ length: 100 }, (_, i) => ({ i })),
    );
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from pgsched.jobs
        where name = 'sleep-200' and state = 'completed'`;
      return r!.n === 100;
    }, 30_000);
    await Promise.all([a.stop(), b.stop()]);

    // Every job ran exactly once.
    const ids = [...a.starts, ...b.starts].map((s) => s.started);
    expect(new Set(ids).size).toBe(100);
    expect(ids).toHaveLength(100);
    // Both busy within the first second (a worker hoarding the queue would leave the other idle).
    expect(Math.min(...a.starts.map((s) => s.at)) - t0).toBeLessThan(1_000);
    expect(Math.min(...b.starts.map((s) => s.at)) - t0).toBeLessThan(1_000);
    // 50 ± 25%.
    expect(a.starts.length).toBeGreaterThanOrEqual(38);
    expect(a.starts.length).toBeLessThanOrEqual(62);
    expect(b.starts.length).toBeGreaterThanOrEqual(38);
    expect(b.starts.length).toBeLessThanOrEqual(62);
  });
});
