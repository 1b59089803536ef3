import { beforeAll, describe, expect, it } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { countByState, type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

/** Defines `name` on `w` as a job that takes `ms`; `most()` is the most of them that ran at once. */
function defineCounted(w: Pgsched, name: string, ms: number): { most(): number } {
  let running = 0;
  let most = 0;
  w.define(name, async () => {
    most = Math.max(most, ++running);
    await new Promise((r) => setTimeout(r, ms));
    running--;
  });
  return { most: () => most };
}

describe('claims with policies in play', () => {
  it('a paused queue holds its jobs while other queues drain without waiting for a poll', async () => {
    await q.pauseQueue('held');
    await q.enqueueMany(
      'work',
      Array.from({ length: 500 }, () => ({})),
      { queue: 'held' },
    );
    await q.enqueueMany(
      'work',
      Array.from({ length: 3_000 }, () => ({})),
      { queue: 'free' },
    );
    await q.setQueue('limited', { concurrency: 2 });
    await q.enqueueMany(
      'work',
      Array.from({ length: 20 }, () => ({})),
      { queue: 'limited', group: 'a' },
    );
    const w = db.pgsched();
    const groups = new Set<string | null>();
    w.define('work', async (_p, ctx) => {
      groups.add(ctx.job.group);
    });
    const t0 = Date.now();
    // A 10 s poll: only claims that follow one another (batches, finished limited jobs) can drain this fast.
    await w.start({ concurrency: 20, pollInterval: '10s' });
    await waitFor(async () => (await countByState(db.sql)).completed === 3_020, 8_000, 20);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect((await q.getQueue('held')).counts).toMatchObject({ pending: 500, running: 0, completed: 0 });
    expect([...groups].sort()).toEqual(['a', null]); // ctx.job.group
    await q.resumeQueue('held');
    await waitFor(async () => (await countByState(db.sql)).completed === 3_520, 5_000, 20);
    await w.stop();
  });
});

describe('pause and the prefetch buffer', () => {
  it('jobs claimed ahead before a pause go back unstarted; the running one finishes; resume runs them', async () => {
    const w = db.pgsched();
    const started: { id: string; at: number }[] = [];
    w.define('long', async (_p, ctx) => {
      started.push({ id: ctx.job.id, at: Date.now() });
      await new Promise((r) => setTimeout(r, 300));
    });
    const ids = await q.enqueueMany(
      'long',
      Array.from({ length: 6 }, () => ({})),
      { queue: 'buffered' },
    );
    // One slot and five jobs claimed ahead: without the check they would start one after another.
    await w.start({ concurrency: 1, prefetch: 5, pollInterval: 1_000 });
    await waitFor(() => started.length === 1, 5_000);
    const [{ n: claimed }] = (await db.sql`
      select count(*)::int as n from pgsched.jobs where queue = 'buffered' and state = 'running'`) as unknown as [
      { n: number },
    ];
    expect(claimed).toBeGreaterThan(1); // the buffer holds claimed jobs
    await q.pauseQueue('buffered');
    const pausedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(started.filter((s) => s.at > pausedAt + 1_000)).toEqual([]);
    const rows = await db.sql<{ state: string; attempt: number }[]>`
      select state::text, attempt from pgsched.jobs where queue = 'buffered' order by id`;
    expect(rows.filter((r) => r.state === 'completed').length).toBe(started.length);
    // The rest are back to pending with their attempt unused.
    expect(rows.filter((r) => r.state === 'pending').every((r) => r.attempt === 0)).toBe(true);
    expect(rows.filter((r) => r.state === 'pending').length).toBe(6 - started.length);
    await q.resumeQueue('buffered');
    // Every job: two claims in flight may come back in either order, so the last id may not run last.
    await waitFor(async () => (await q.getQueue('buffered')).counts.completed === 6, 5_000);
    expect(new Set(started.map((s) => s.id))).toEqual(new Set(ids));
    await w.stop();
  });
});

describe('a worker restricted to some queues', () => {
  it('reads its queues policies: a rate-limited queue is claimed each time a period opens, not each poll', async () => {
    // The policy read runs on the worker's own connections, which bind arrays as literals only: it
    // once failed there for a worker with `queues` (quietly, so rate limits waited for the poll).
    await q.setQueue('rated', { rateLimit: { limit: 10, period: '1s' } });
    await q.enqueueMany(
      'rated-job',
      Array.from({ length: 30 }, () => ({})),
      { queue: 'rated' },
    );
    const w = db.pgsched();
    w.define('rated-job', async () => {});
    const t0 = Date.now();
    await w.start({ concurrency: 10, queues: ['rated'], pollInterval: '20s' });
    await waitFor(async () => (await w.getQueue('rated')).counts.completed === 30, 10_000, 50);
    // Three periods of 10: about 2 s after the first start; a poll-bound worker would need 40 s.
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(Date.now() - t0).toBeGreaterThan(1_800);
    await w.stop();
  });
});

describe('a limited group claims along with its settles', () => {
  it('outcomes that free room carry the next claim in their statement; a stop leaves nothing claimed', async () => {
    // Counted for the sessions opened from here on: the worker's own connections.
    const dbName = new URL(db.url).pathname.slice(1);
    await db.sql.unsafe(`alter database "${dbName}" set track_functions = 'all'`);
    await q.setQueue('capped', { groupConcurrency: 4 });
    await q.enqueueMany(
      'capped-job',
      Array.from({ length: 400 }, () => ({})),
      { queue: 'capped', group: 'one' },
    );
    const w = db.pgsched();
    const capped = defineCounted(w, 'capped-job', 2);
    const t0 = Date.now();
    // A 20 s poll: only claims that follow the settles can keep the queue moving.
    await w.start({ concurrency: 20, pollInterval: '20s' });
    await waitFor(async () => (await w.getQueue('capped')).counts.completed >= 200, 10_000, 20);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await w.stop();
    const { counts } = await q.getQueue('capped');
    expect(counts.running).toBe(0);
    expect(counts.pending + counts.completed).toBe(400);
    expect(capped.most()).toBeLessThanOrEqual(4);
    // Outcomes that freed room in the group carried claims (statistics arrive within moments);
    // a worker that holds the group's next jobs ahead starts them without one, so not every time.
    const calls = await waitFor(async () => {
      const [row] = await db.sql<{ n: number }[]>`
        select coalesce(sum(calls), 0)::int as n from pg_stat_user_functions
        where funcname = 'settle_and_claim_jobs'`;
      return row!.n;
    }, 5_000);
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(counts.completed);
    await db.sql.unsafe(`alter database "${dbName}" reset track_functions`);
  });
});

describe('a concurrency-limited queue runs on permits', () => {
  it('claims ahead of its permits, never runs more than its limit, drains without a poll, gives back everything', async () => {
    await q.setQueue('permitted', { concurrency: 4 });
    await q.enqueueMany(
      'permitted-job',
      Array.from({ length: 400 }, () => ({})),
      { queue: 'permitted' },
    );
    const w = db.pgsched();
    const permitted = defineCounted(w, 'permitted-job', 2);
    let claimedAhead = 0;
    const t0 = Date.now();
    // A 20 s poll: the queue must keep moving on the worker's own claims and buffer.
    await w.start({ concurrency: 20, pollInterval: '20s' });
    await waitFor(
      async () => {
        const { counts } = await w.getQueue('permitted');
        claimedAhead = Math.max(claimedAhead, counts.running);
        return counts.completed >= 200;
      },
      10_000,
      5,
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
    // More than 4 rows were out of the table at once (claimed, waiting in the buffer), 4 ran.
    expect(claimedAhead).toBeGreaterThan(4);
    const [permits] = await db.sql<{ held: number }[]>`
      select coalesce(sum(held), 0)::int as held from pgsched.queue_permits where queue = 'permitted'`;
    expect(permits!.held).toBe(4);
    await w.stop();
    const { counts } = await q.getQueue('permitted');
    expect(counts.running).toBe(0);
    expect(counts.pending + counts.completed).toBe(400);
    expect(permitted.most()).toBe(4);
    const left = await db.sql`select queue, worker, held from pgsched.queue_permits`;
    expect(left).toEqual([]);
  });
});

describe('a queue with both a concurrency limit and a rate limit', () => {
  it('obeys both: at most 2 handlers at once and at most 10 starts in any second', async () => {
    await q.setQueue('both', { concurrency: 2, rateLimit: { limit: 10, period: '1s' } });
    await q.enqueueMany(
      'both-job',
      Array.from({ length: 25 }, () => ({})),
      { queue: 'both' },
    );
    const w = db.pgsched();
    const both = defineCounted(w, 'both-job', 30);
    await w.start({ concurrency: 10 });
    await waitFor(async () => (await w.getQueue('both')).counts.completed === 25, 10_000, 20);
    await w.stop();
    expect(both.most()).toBe(2);
    const [row] = await db.sql<{ densest: number }[]>`
      with s as (select started_at as t from pgsched.jobs where queue = 'both')
      select max((select count(*) from s o where o.t >= s.t and o.t < s.t + interval '1 second'))::int as densest
      from s`;
    expect(row!.densest).toBeLessThanOrEqual(10);
    expect(row!.densest).toBeGreaterThanOrEqual(8);
  });
});
