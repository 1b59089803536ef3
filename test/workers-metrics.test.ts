import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DURATION_BUCKETS, formatPrometheus, type Pgsched } from '../src/index.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';
import { type ManageProcess, startManageProcess } from './support/manage-process.js';

let db: TestDb;
let q: Pgsched;
const procs: ManageProcess[] = [];

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

describe('listWorkers', () => {
  it('lists live processes; a killed one disappears within three intervals, a stopped one at once', async () => {
    const local = db.pgsched();
    local.define('noop', async () => {});
    await local.start({ queues: ['wq'], concurrency: 3, registryInterval: 300 });
    const proc = await startManageProcess({ DATABASE_URL: db.url, REGISTRY_MS: '300' });
    procs.push(proc);
    const workers = await q.listWorkers();
    expect(workers.map((w) => w.pid)).toEqual([process.pid, proc.child.pid]);
    expect(workers[0]).toEqual({
      id: expect.stringMatching(new RegExp(`^${hostname()}:${process.pid}:`)),
      host: hostname(),
      pid: process.pid,
      queues: ['wq'],
      names: ['noop'],
      concurrency: 3,
      leader: expect.any(Boolean),
      running: 0,
      startedAt: expect.any(Date),
      lastSeenAt: expect.any(Date),
      expiresAt: expect.any(Date),
    });
    expect(workers[1]).toMatchObject({
      id: proc.workerId,
      queues: null,
      names: ['report-progress'],
      concurrency: 2,
    });
    // the leader flag follows leadership at the next beat
    await waitFor(async () => (await q.listWorkers()).filter((w) => w.leader).length === 1, 10_000);

    // beats keep the entry alive past its first expiry
    const first = workers[1]!.expiresAt.getTime();
    await waitFor(
      async () => (await q.listWorkers()).find((w) => w.pid === proc.child.pid)!.expiresAt.getTime() > first,
    );

    const killedAt = Date.now();
    await proc.kill();
    await waitFor(async () => (await q.listWorkers()).every((w) => w.pid !== proc.child.pid), 5_000);
    expect(Date.now() - killedAt).toBeLessThan(3_000);
    // and its row is deleted by the next beat of a live process
    await waitFor(async () => {
      const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from pgsched.workers`;
      return row!.n === 1;
    });

    await local.stop();
    expect(await q.listWorkers()).toEqual([]);
  });
});

describe('stats and metrics', () => {
  it('counts by state, completed and failed in the last minute and per minute, whatever the retention', async () => {
    const w = db.pgsched();
    w.define('ok', async () => 'fine', { queue: 'st' });
    w.define(
      'bad',
      async () => {
        throw new Error('no');
      },
      { queue: 'st', maxAttempts: 1 },
    );
    // completed jobs are deleted as they are written: stats must still count them
    await w.start({ queues: ['st'], pollInterval: 50, retention: { completed: 0 }, leader: false });
    await w.enqueueMany(
      'ok',
      Array.from({ length: 30 }, () => ({})),
      { queue: 'st' },
    );
    await w.enqueueMany(
      'bad',
      Array.from({ length: 4 }, () => ({})),
      { queue: 'st' },
    );
    await w.enqueueMany('ok', [{}, {}], { queue: 'st', delay: '1h' });
    await waitFor(async () => {
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from pgsched.jobs where queue = 'st' and state not in ('pending', 'running')`;
      const [gone] = await db.sql<
        { n: number }[]
      >`select count(*)::int as n from pgsched.jobs where queue = 'st'`;
      return row!.n === 4 && gone!.n === 6;
    });

    const stats = await q.stats();
    const st = stats.find((s) => s.queue === 'st')!;
    expect(st.counts).toEqual({ pending: 2, running: 0, completed: 0, failed: 4, cancelled: 0 });
    expect(st.completedLastMinute).toBe(30);
    expect(st.failedLastMinute).toBe(4);
    expect(st.throughput).toHaveLength(60);
    const totals = st.throughput.reduce((t, p) => ({ c: t.c + p.completed, f: t.f + p.failed }), {
      c: 0,
      f: 0,
    });
    expect(totals).toEqual({ c: 30, f: 4 });
    // the last minute is the current one; points are one minute apart
    const last = st.throughput.at(-1)!.minute.getTime();
    expect(Math.abs(last - Math.floor(Date.now() / 60_000) * 60_000)).toBeLessThanOrEqual(60_000);
    expect(st.throughput[1]!.minute.getTime() - st.throughput[0]!.minute.getTime()).toBe(60_000);

    // this process's worker metrics
    const m = await w.metrics();
    expect(m.leader).toBe(false);
    expect(m.jobs.filter((j) => j.queue === 'st')).toEqual([
      { queue: 'st', state: 'pending', count: 2 },
      { queue: 'st', state: 'running', count: 0 },
      { queue: 'st', state: 'completed', count: 0 },
      { queue: 'st', state: 'failed', count: 4 },
      { queue: 'st', state: 'cancelled', count: 0 },
    ]);
    const ok = m.workers.find((x) => x.name === 'ok')!;
    const bad = m.workers.find((x) => x.name === 'bad')!;
    expect(ok).toMatchObject({ queue: 'st', completed: 30, failed: 0 });
    expect(bad).toMatchObject({ queue: 'st', completed: 0, failed: 4 });
    expect(ok.duration.count).toBe(30);
    expect(ok.duration.buckets).toHaveLength(DURATION_BUCKETS.length + 1);
    expect(ok.duration.buckets.at(-1)).toEqual({ le: Number.POSITIVE_INFINITY, count: 30 });
    // cumulative
    for (let i = 1; i < ok.duration.buckets.length; i++) {
      expect(ok.duration.buckets[i]!.count).toBeGreaterThanOrEqual(ok.duration.buckets[i - 1]!.count);
    }
    await w.stop();

    const text = formatPrometheus(m);
    expect(text).toContain('# TYPE pgsched_jobs gauge\n');
    expect(text).toContain('pgsched_jobs{queue="st",state="failed"} 4\n');
    expect(text).toContain('pgsched_jobs_completed_total{queue="st",name="ok"} 30\n');
    expect(text).toContain('pgsched_jobs_failed_total{queue="st",name="bad"} 4\n');
    expect(text).toContain('pgsched_job_duration_seconds_bucket{queue="st",name="ok",le="+Inf"} 30\n');
    expect(text).toContain('pgsched_job_duration_seconds_count{queue="st",name="ok"} 30\n');
    expect(text).toContain('pgsched_leader 0\n');
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(
        /^(# (HELP|TYPE) \w+ .+|\w+(\{(\w+="([^"\\\n]|\\.)*",?)+\})? [-+\d.e]+|\w+ [\d.]+)$/,
      );
    }
  });

  it('escapes label values', () => {
    const text = formatPrometheus({
      jobs: [],
      leader: true,
      workers: [
        {
          queue: 'q',
          name: 'a "quoted" \\ name\nwith a newline',
          completed: 1,
          failed: 0,
          duration: { buckets: [{ le: Number.POSITIVE_INFINITY, count: 1 }], sum: 0.5, count: 1 },
        },
      ],
    });
    expect(text).toContain(
      'pgsched_jobs_completed_total{queue="q",name="a \\"quoted\\" \\\\ name\\nwith a newline"} 1\n',
    );
    expect(text).toContain('pgsched_leader 1\n');
  });
});
