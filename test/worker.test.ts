import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { cancel, discard, PgschedValidationError, snooze } from '../src/index.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

async function stateOf(id: string) {
  const [row] = await db.sql`select state::text, attempt from pgsched.jobs where id = ${id}`;
  return row as { state: string; attempt: number };
}

describe('worker', () => {
  it('runs jobs by priority, then run time, and stores results', async () => {
    const q = db.pgsched();
    const order: number[] = [];
    q.define('ordered', async (p: { n: number }) => {
      order.push(p.n);
      return { doubled: p.n * 2 };
    });
    const past = (s: number) => new Date(Date.now() - s * 1000);
    await q.enqueue('ordered', { n: 4 }, { priority: 5, runAt: past(50) });
    await q.enqueue('ordered', { n: 2 }, { priority: 0, runAt: past(10) });
    await q.enqueue('ordered', { n: 1 }, { priority: 0, runAt: past(20) });
    await q.enqueue('ordered', { n: 0 }, { priority: -1, runAt: past(1) });
    const last = await q.enqueue('ordered', { n: 3 }, { priority: 0, runAt: past(5) });
    await q.start({ concurrency: 1, prefetch: 0 });
    await waitFor(() => order.length === 5);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    await waitFor(async () => (await q.getJob(last))?.state === 'completed');
    expect((await q.getJob(last))?.result).toEqual({ doubled: 6 });
    await q.stop();
  });

  it('does not run delayed jobs early', async () => {
    const q = db.pgsched();
    q.define('delayed', async () => {});
    const id = await q.enqueue('delayed', {}, { delay: '1500ms' });
    await q.start({ pollInterval: 100 });
    await sleep(1_000);
    expect((await stateOf(id)).state).toBe('pending');
    await waitFor(async () => (await stateOf(id)).state === 'completed', 5_000);
    const [row] =
      await db.sql`select extract(epoch from started_at - created_at) * 1000 as waited from pgsched.jobs where id = ${id}`;
    expect(Number(row!.waited)).toBeGreaterThanOrEqual(1_500);
    await q.stop();
  });

  for (const [type, expected] of [
    ['fixed', [300, 300, 300]],
    ['linear', [200, 400, 600]],
    ['exponential', [200, 400, 800]],
  ] as const) {
    it(`retries with ${type} backoff, records each error, then succeeds`, async () => {
      const q = db.pgsched();
      const starts: number[] = [];
      const name = `retry-${type}`;
      q.define(
        name,
        async (_p, ctx) => {
          starts.push(Date.now());
          if (ctx.job.attempt < 4) throw new Error(`fail ${ctx.job.attempt}`);
          return 'ok';
        },
        { maxAttempts: 4, backoff: { type, base: type === 'fixed' ? 300 : 200, jitter: 0 } },
      );
      const id = await q.enqueue(name, {});
      await q.start({ pollInterval: 50 });
      await waitFor(async () => (await stateOf(id)).state === 'completed', 10_000);
      const job = (await q.getJob(id))!;
      expect(job.attempt).toBe(4);
      expect(job.errors.map((e) => e.message)).toEqual(['fail 1', 'fail 2', 'fail 3']);
      expect(job.errors.every((e) => typeof e.stack === 'string' && !Number.isNaN(Date.parse(e.at)))).toBe(
        true,
      );
      const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
      gaps.forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(expected[i]! - 20);
        expect(gap).toBeLessThan(expected[i]! + 1_000);
      });
      await q.stop();
    });
  }

  it('fails a job once its attempts are used up', async () => {
    const q = db.pgsched();
    q.define(
      'always-fails',
      async () => {
        throw new Error('nope');
      },
      { maxAttempts: 2, backoff: { type: 'fixed', base: 10 } },
    );
    const id = await q.enqueue('always-fails', {});
    await q.start({ pollInterval: 50 });
    await waitFor(async () => (await stateOf(id)).state === 'failed');
    const job = (await q.getJob(id))!;
    expect(job.attempt).toBe(2);
    expect(job.errors).toHaveLength(2);
    expect(job.finishedAt).toBeInstanceOf(Date);
    await q.stop();
  });

  it('times out a handler that ignores its signal and frees the slot', async () => {
    const q = db.pgsched();
    let aborted = false;
    q.define(
      'stubborn',
      async (_p, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          aborted = true;
        });
        await sleep(5_000); // ignores the signal on purpose
      },
      { timeout: 300, maxAttempts: 1 },
    );
    q.define('quick', async () => 'done');
    const slow = await q.enqueue('stubborn', {});
    const t0 = Date.now();
    await q.start({ concurrency: 1, prefetch: 0, pollInterval: 50 });
    await waitFor(async () => (await stateOf(slow)).state === 'failed', 3_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(aborted).toBe(true);
    expect((await q.getJob(slow))!.errors[0]).toMatchObject({
      kind: 'timeout',
      message: 'timed out after 300ms',
    });
    // the single slot is free again although the first handler is still sleeping
    const quick = await q.enqueue('quick', {});
    await waitFor(async () => (await stateOf(quick)).state === 'completed', 3_000);
    expect(Date.now() - t0).toBeLessThan(4_000);
    await q.stop({ timeout: 100 });
  });

  it('lets handlers cancel, discard or snooze their own job', async () => {
    const q = db.pgsched();
    let snoozed = 0;
    q.define('self-cancel', async () => cancel('not needed'), { maxAttempts: 5 });
    q.define(
      'self-discard',
      async () => {
        throw discard('bad input');
      },
      { maxAttempts: 5 },
    );
    q.define('self-snooze', async () => {
      if (snoozed++ < 2) return snooze(100);
      return 'woke';
    });
    const [c, d, s] = await Promise.all([
      q.enqueue('self-cancel', {}),
      q.enqueue('self-discard', {}),
      q.enqueue('self-snooze', {}),
    ]);
    await q.start({ pollInterval: 50 });
    await waitFor(async () => (await stateOf(s)).state === 'completed', 5_000);
    expect(await stateOf(c)).toEqual({ state: 'cancelled', attempt: 1 });
    expect(await stateOf(d)).toEqual({ state: 'failed', attempt: 1 });
    expect((await q.getJob(d))!.errors[0]).toMatchObject({ kind: 'discard', message: 'bad input' });
    // snoozes do not use up attempts
    expect(await stateOf(s)).toEqual({ state: 'completed', attempt: 1 });
    expect(snoozed).toBe(3);
    await q.stop();
  });

  it('cancels pending and running jobs, and retries failed ones', async () => {
    const q = db.pgsched();
    let sawAbort = false;
    let failOnce = true;
    q.define('long', async (_p, ctx) => {
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      sawAbort = true;
    });
    q.define(
      'flaky',
      async () => {
        if (failOnce) {
          failOnce = false;
          throw new Error('first run fails');
        }
        return 'second run';
      },
      { maxAttempts: 1 },
    );
    const pending = await q.enqueue('long', {}, { delay: '1h' });
    expect(await q.cancel(pending)).toBe(true);
    expect((await stateOf(pending)).state).toBe('cancelled');
    expect(await q.cancel(pending)).toBe(false);

    const running = await q.enqueue('long', {});
    const flaky = await q.enqueue('flaky', {});
    await q.start({ pollInterval: 50 });
    await waitFor(async () => (await stateOf(running)).state === 'running');
    expect(await q.cancel(running)).toBe(true);
    await waitFor(() => sawAbort, 5_000);
    expect((await stateOf(running)).state).toBe('cancelled');

    await waitFor(async () => (await stateOf(flaky)).state === 'failed');
    expect(await q.retry(flaky)).toBe(true);
    await waitFor(async () => (await stateOf(flaky)).state === 'completed');
    expect((await q.getJob(flaky))!.result).toBe('second run');
    expect(await q.retry(flaky)).toBe(false);
    await q.stop();
  });

  it('stops gracefully: running jobs finish, prefetched ones go back to pending', async () => {
    const q = db.pgsched();
    const finished: number[] = [];
    const startedAt: number[] = [];
    q.define('graceful', async (p: { n: number }) => {
      startedAt.push(Date.now());
      await sleep(400);
      finished.push(p.n);
    });
    const ids = await q.enqueueMany(
      'graceful',
      Array.from({ length: 7 }, (_, n) => ({ n })),
    );
    await q.start({ concurrency: 2, prefetch: 5, pollInterval: 50 });
    await waitFor(async () => {
      const [r] =
        await db.sql`select count(*)::int as n from pgsched.jobs where name = 'graceful' and state = 'running'`;
      return r!.n === 7;
    });
    await q.stop({ timeout: '5s' });
    // stop() returned only after the two running handlers had run their 400 ms (timer slack aside).
    expect(startedAt).toHaveLength(2);
    expect(Date.now() - Math.max(...startedAt)).toBeGreaterThanOrEqual(390);
    expect(finished).toHaveLength(2);
    const rows = await db.sql`select state::text, attempt, count(*)::int as n from pgsched.jobs
      where id in ${db.sql(ids)} group by 1, 2 order by 1`;
    expect(rows).toEqual([
      { state: 'completed', attempt: 1, n: 2 },
      { state: 'pending', attempt: 0, n: 5 },
    ]);
  });

  it('after the stop timeout, aborts running jobs and releases them without using an attempt', async () => {
    const q = db.pgsched();
    let aborted = 0;
    const endless = async (_p: unknown, ctx: { signal: AbortSignal }) => {
      ctx.signal.addEventListener('abort', () => {
        aborted++;
      });
      await new Promise(() => {});
    };
    // On its last attempt: a deploy's stop must not end it failed.
    q.define('endless', endless, { maxAttempts: 1 });
    // At-most-once: it may have done its work, so it ends failed, as documented.
    q.define('endless-once', endless, { delivery: 'at-most-once' });
    const id = await q.enqueue('endless', {});
    const once = await q.enqueue('endless-once', {});
    await q.start({ pollInterval: 50 });
    await waitFor(
      async () => (await stateOf(id)).state === 'running' && (await stateOf(once)).state === 'running',
    );
    await sleep(50);
    await q.stop({ timeout: 300 });
    expect(aborted).toBe(2);
    const job = (await q.getJob(id))!;
    expect(job).toMatchObject({ state: 'pending', attempt: 0, errors: [] });
    const onceJob = (await q.getJob(once))!;
    expect(onceJob).toMatchObject({ state: 'failed', attempt: 1 });
    expect(onceJob.errors[0]).toMatchObject({ kind: 'shutdown', attempt: 1 });
    // Released, it runs again (attempt 1 of 1) and can still complete.
    const again = db.pgsched();
    again.define('endless', async () => 'done', { maxAttempts: 1 });
    await again.start({ pollInterval: 50, leader: false });
    await waitFor(async () => (await stateOf(id)).state === 'completed', 5_000);
    expect(await stateOf(id)).toEqual({ state: 'completed', attempt: 1 });
    await again.stop();
  });

  it('only claims its own queues, and works without LISTEN in pollOnly mode', async () => {
    const q = db.pgsched();
    const seen: string[] = [];
    q.define('queued', async (p: { q: string }) => {
      seen.push(p.q);
    });
    const a = await q.enqueue('queued', { q: 'a' }, { queue: 'qa' });
    const b = await q.enqueue('queued', { q: 'b' }, { queue: 'qb' });
    await q.start({ queues: ['qa'], pollOnly: true, pollInterval: 100 });
    await waitFor(async () => (await stateOf(a)).state === 'completed');
    await sleep(300);
    expect(seen).toEqual(['a']);
    expect((await stateOf(b)).state).toBe('pending');
    await q.stop();
  });

  it('validates payloads with a Standard Schema at enqueue and before running', async () => {
    const q = db.pgsched();
    let ran = 0;
    q.define(
      'typed',
      async () => {
        ran++;
      },
      { schema: z.object({ to: z.string().email() }) },
    );
    await expect(q.enqueue('typed', { to: 'not-an-email' })).rejects.toThrow(PgschedValidationError);
    await expect(q.enqueue('typed', { to: 'not-an-email' })).rejects.toThrow(/enqueue\.payload\.to/);
    // a producer that does not know the schema can still insert a bad payload; the worker discards it
    const bad = await db.pgsched().enqueue('typed', { to: 42 });
    const good = await q.enqueue('typed', { to: 'a@example.com' });
    await q.start({ pollInterval: 50 });
    await waitFor(async () => (await stateOf(good)).state === 'completed');
    await waitFor(async () => (await stateOf(bad)).state === 'failed');
    expect((await q.getJob(bad))!.errors[0]).toMatchObject({ kind: 'payload' });
    expect(ran).toBe(1);
    await q.stop();
  });

  it('runs jobs sharing a serial key one at a time, oldest first', async () => {
    const q = db.pgsched();
    const order: number[] = [];
    let active = 0;
    let maxActive = 0;
    q.define('serial', async (p: { n: number }) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(30);
      order.push(p.n);
      active--;
    });
    for (let n = 0; n < 5; n++) await q.enqueue('serial', { n }, { serialKey: 'customer:7' });
    const other = await q.enqueue('serial', { n: 99 }, { serialKey: 'customer:8' });
    await q.start({ concurrency: 10, pollInterval: 50 });
    await waitFor(() => order.length === 6, 10_000);
    expect(order.filter((n) => n !== 99)).toEqual([0, 1, 2, 3, 4]);
    expect(maxActive).toBe(2); // the two groups overlap, each group alone never does
    expect((await stateOf(other)).state).toBe('completed');
    await q.stop();
  });

  it('a job taken back and re-claimed by the same worker aborts the stale attempt and completes', async () => {
    const q = db.pgsched();
    let firstAborted = false;
    q.define('reclaimed', async (_p, ctx) => {
      if (ctx.job.attempt === 1) {
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        firstAborted = true;
        return 'stale';
      }
      return 'second';
    });
    const id = await q.enqueue('reclaimed', {});
    await q.start({ pollInterval: 50 });
    await waitFor(async () => (await stateOf(id)).state === 'running');
    // What the rescuer does to an expired lease, without waiting for one to expire.
    await db.sql`update pgsched.jobs set state = 'pending', locked_by = null, locked_until = null where id = ${id}`;
    await waitFor(async () => (await stateOf(id)).state === 'completed', 5_000);
    expect(firstAborted).toBe(true);
    expect(await q.getJob(id)).toMatchObject({ attempt: 2, result: 'second' });
    await q.stop();
  });

  it('outcomes jsonb cannot store (NUL, unpaired surrogates) fail their job, not the others', async () => {
    const q = db.pgsched();
    q.define('nul-result', async () => ({ s: 'a\u0000b' }), { maxAttempts: 1 });
    q.define(
      'nul-error',
      async () => {
        throw new Error('bad \u0000 message \ud800');
      },
      { maxAttempts: 1 },
    );
    q.define('fine', async () => 'ok');
    const [bad1, bad2, good] = await Promise.all([
      q.enqueue('nul-result', {}),
      q.enqueue('nul-error', {}),
      q.enqueue('fine', {}),
    ]);
    await q.start({ pollInterval: 50 });
    await waitFor(async () => (await stateOf(good)).state === 'completed', 5_000);
    await waitFor(async () => (await stateOf(bad1)).state === 'failed', 5_000);
    await waitFor(async () => (await stateOf(bad2)).state === 'failed', 5_000);
    expect((await q.getJob(bad1))!.errors[0]!.message).toContain('cannot store');
    expect((await q.getJob(bad2))!.errors[0]!.message).toBe('bad \uFFFD message \uFFFD');
    await q.stop();
  });

  it('a serial group moves on as soon as its job finishes, not at the next poll', async () => {
    const q = db.pgsched();
    q.define('serial-fast', async () => {});
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push(await q.enqueue('serial-fast', { n }, { serialKey: 'fast' }));
    const t0 = Date.now();
    await q.start({ pollInterval: '10s' });
    await waitFor(async () => (await stateOf(ids[4]!)).state === 'completed', 8_000);
    expect(Date.now() - t0).toBeLessThan(3_000);
    await q.stop();
  });
});
