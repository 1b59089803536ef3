import { beforeAll, describe, expect, it } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

const unfinished = (name: string) =>
  db.sql<{ id: string; payload: unknown; state: string }[]>`
    select id, payload, state::text from pgsched.jobs
    where name = ${name} and state in ('pending', 'running') order by id`;

describe("onConflict: 'replace'", () => {
  it('gives the pending holder the new payload and run time', async () => {
    const id = await q.enqueue('recompute', { v: 1 }, { key: 'x', delay: '1h' });
    const runAt = new Date(Date.now() + 60_000);
    expect(await q.enqueue('recompute', { v: 2 }, { key: 'x', onConflict: 'replace', runAt })).toBe(id);
    const job = (await q.getJob(id))!;
    expect(job.payload).toEqual({ v: 2 });
    expect(job.runAt.getTime()).toBe(runAt.getTime());
    // 'skip' (the default) leaves it alone
    expect(await q.enqueue('recompute', { v: 3 }, { key: 'x' })).toBe(id);
    expect((await q.getJob(id))!.payload).toEqual({ v: 2 });
  });

  it('while the holder runs, 10 concurrent enqueuers make one next job; it runs once, after the holder', async () => {
    const w = db.pgsched();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const runs: unknown[] = [];
    let active = 0;
    let maxActive = 0;
    w.define('rebuild', async (p: { v: number }) => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs.push(p);
      if (runs.length === 1) await gate;
      active--;
    });
    const holder = await w.enqueue('rebuild', { v: 0 }, { key: 'doc' });
    await w.start({ concurrency: 5, pollInterval: 50 });
    await waitFor(async () => (await w.getJob(holder))!.state === 'running');
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        w.enqueue('rebuild', { v: i + 1 }, { key: 'doc', onConflict: 'replace' }),
      ),
    );
    expect(new Set(ids).size).toBe(1);
    const next = ids[0]!;
    expect(next).not.toBe(holder);
    const rows = await unfinished('rebuild');
    expect(rows.map((r) => [r.id, r.state])).toEqual([
      [holder, 'running'],
      [next, 'pending'],
    ]);
    const latest = rows[1]!.payload;
    await new Promise((r) => setTimeout(r, 200));
    expect(runs).toHaveLength(1); // the next job waits for its holder
    release();
    await waitFor(async () => (await w.getJob(next))!.state === 'completed', 5_000);
    expect(runs).toEqual([{ v: 0 }, latest]);
    expect(maxActive).toBe(1);
    await w.stop();
  });
});

describe('debounce', () => {
  it('each enqueue replaces the payload and pushes the run time, never past debounceMaxWait', async () => {
    const opts = { key: 'idx', debounce: '1s', debounceMaxWait: '1500ms' } as const;
    const id = await q.enqueue('reindex', { v: 1 }, opts);
    const first = (await q.getJob(id))!;
    expect(first.runAt.getTime() - first.createdAt.getTime()).toBe(1_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(await q.enqueue('reindex', { v: 2 }, opts)).toBe(id);
    const pushed = (await q.getJob(id))!;
    expect(pushed.payload).toEqual({ v: 2 });
    expect(pushed.runAt.getTime() - first.createdAt.getTime()).toBeGreaterThanOrEqual(1_250);
    await new Promise((r) => setTimeout(r, 400));
    expect(await q.enqueue('reindex', { v: 3 }, opts)).toBe(id);
    const capped = (await q.getJob(id))!;
    expect(capped.runAt.getTime() - first.createdAt.getTime()).toBe(1_500); // first enqueue + max wait
    expect(capped.payload).toEqual({ v: 3 });
  });

  it('10 concurrent enqueuers: one job, run once, after the quiet period, with a payload sent', async () => {
    const w = db.pgsched();
    const runs: { at: number; p: unknown }[] = [];
    w.define('digest', async (p: { v: number }) => {
      runs.push({ at: Date.now(), p });
    });
    await w.start({ concurrency: 5, pollInterval: 50 });
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        w.enqueue('digest', { v: i }, { key: 'user:1', debounce: '400ms' }),
      ),
    );
    const sent = Date.now();
    expect(new Set(ids).size).toBe(1);
    expect(await unfinished('digest')).toHaveLength(1);
    await waitFor(async () => (await w.getJob(ids[0]!))!.state === 'completed', 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(runs).toHaveLength(1);
    expect(runs[0]!.at - sent).toBeGreaterThanOrEqual(300);
    expect((runs[0]!.p as { v: number }).v).toBeGreaterThanOrEqual(0);
    expect((await w.getJob(ids[0]!))!.payload).toEqual(runs[0]!.p);
    await w.stop();
  });
});
