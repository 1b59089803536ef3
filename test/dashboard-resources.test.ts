import { beforeAll, describe, expect, it } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type caller, dashboardWithFailedJob } from './support/dashboard.js';
import { useTestDb, waitFor } from './support/db.js';

const db = await useTestDb();
let pgsched: Pgsched;
let call: ReturnType<typeof caller>;
let failedId: string;

beforeAll(async () => {
  ({ pgsched, call, failedId } = await dashboardWithFailedJob(db));
});

describe('jobs', () => {
  it('enqueues with the library validation and shows the job', async () => {
    const created = await call('POST', '/dash/api/jobs', {
      body: {
        name: 'later',
        payload: { to: 'a@b.c' },
        options: { queue: 'other', delay: '1h', priority: 3 },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'later', queue: 'other', state: 'pending', priority: 3 });
    const row = await pgsched.getJob(created.body.id);
    expect(row).toMatchObject({ name: 'later', payload: { to: 'a@b.c' }, priority: 3 });
    const shown = await call('GET', `/dash/api/jobs/${created.body.id}`);
    expect(shown.body).toMatchObject({ id: created.body.id, payload: { to: 'a@b.c' } });
  });

  it('answers 400 naming the field for bad input, and writes nothing', async () => {
    const before = await db.sql`select count(*)::int as n from pgsched.jobs`;
    const cases: [unknown, string][] = [
      [{ name: 'x', options: { priority: 1.5 } }, 'enqueue.options.priority'],
      [{ name: 'x', options: { delay: 'soon' } }, 'enqueue.options.delay'],
      [{ name: '', payload: 1 }, 'enqueue.name'],
      [{ name: 'x', extra: 1 }, 'body.extra'],
      [{ name: 'x', options: { tx: {} } }, 'body.options.tx'],
      [{ name: 'x', options: [] }, 'body.options'],
    ];
    for (const [body, field] of cases) {
      const reply = await call('POST', '/dash/api/jobs', { body });
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error).toMatchObject({ code: 'validation', field });
      expect(reply.body.error.message).toContain(field);
    }
    const invalidJson = await call('POST', '/dash/api/jobs', {
      raw: '{"name":',
      contentType: 'application/json',
    });
    expect(invalidJson.status).toBe(400);
    expect(invalidJson.body.error.field).toBe('body');
    const notObject = await call('POST', '/dash/api/jobs', { body: [1] });
    expect(notObject.body.error.field).toBe('body');
    const after = await db.sql`select count(*)::int as n from pgsched.jobs`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('answers 404 for a missing job and 400 for a malformed id', async () => {
    expect((await call('GET', '/dash/api/jobs/987654321')).status).toBe(404);
    const bad = await call('GET', '/dash/api/jobs/abc');
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('getJob.id');
    expect((await call('POST', '/dash/api/jobs/987654321/retry')).status).toBe(404);
    expect((await call('POST', '/dash/api/jobs/987654321/cancel')).status).toBe(404);
  });

  it('retries a failed job and cancels a pending one; wrong states answer 409', async () => {
    const pending = await pgsched.enqueue('nobody-runs-this', {}, { queue: 'idle' });
    const notFailed = await call('POST', `/dash/api/jobs/${pending}/retry`);
    expect(notFailed.status).toBe(409);
    expect(notFailed.body.error.code).toBe('invalid_state');

    const cancelled = await call('POST', `/dash/api/jobs/${pending}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    expect((await pgsched.getJob(pending))!.state).toBe('cancelled');
    expect((await call('POST', `/dash/api/jobs/${pending}/cancel`)).status).toBe(409);

    const retried = await call('POST', `/dash/api/jobs/${pending}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body.state).toBe('pending');

    // The failed job goes back to the worker, which fails it again.
    const retry = await call('POST', `/dash/api/jobs/${failedId}/retry`);
    expect(retry.status).toBe(200);
    await waitFor(async () => {
      const job = await pgsched.getJob(failedId);
      return job?.state === 'failed' && job.attempt === 2;
    });
  });
});

describe('listing, deletion, bulk actions, stats and workers', () => {
  it('pages through jobs newest first with the next cursor', async () => {
    const ids = await pgsched.enqueueMany('paged', [1, 2, 3, 4, 5, 6, 7], { queue: 'paged' });
    const seen: string[] = [];
    let after: string | null = '';
    let pages = 0;
    while (after !== null) {
      const reply = await call(
        'GET',
        `/dash/api/jobs?queue=paged&limit=3${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      );
      expect(reply.status).toBe(200);
      expect(reply.body.jobs.length).toBeLessThanOrEqual(3);
      seen.push(...reply.body.jobs.map((j: { id: string }) => j.id));
      after = reply.body.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    const two = await call('GET', '/dash/api/jobs?state=failed,cancelled&queue=api');
    expect(two.body.jobs.map((j: { id: string }) => j.id)).toContain(failedId);
  });

  it('answers 400 naming the field for a bad filter, limit or cursor', async () => {
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=5000', 'limit'],
      ['limit=ten', 'limit'],
      ['after=not-a-cursor', 'after'],
      ['state=bogus', 'state'],
      ['queue=a%20b', 'queue'],
    ]) {
      const reply = await call('GET', `/dash/api/jobs?${query}`);
      expect(reply.status, query).toBe(400);
      expect(reply.body.error.code).toBe('validation');
      expect(reply.body.error.field, query).toContain(field);
    }
  });

  it('deletes a pending job, refuses a running one with 409', async () => {
    const id = await pgsched.enqueue('to-delete', {}, { queue: 'idle' });
    expect((await call('DELETE', `/dash/api/jobs/${id}`)).status).toBe(204);
    expect(await pgsched.getJob(id)).toBeNull();
    expect((await call('DELETE', `/dash/api/jobs/${id}`)).status).toBe(404);

    const running = await pgsched.enqueue('slow', {}, { queue: 'api' });
    await waitFor(async () => (await pgsched.getJob(running))?.state === 'running');
    const refused = await call('DELETE', `/dash/api/jobs/${running}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('invalid_state');
    expect((await call('POST', `/dash/api/jobs/${running}/cancel`)).body.state).toBe('cancelled');
  });

  it('cancels and retries by filter, and refuses an empty filter', async () => {
    await pgsched.enqueueMany('bulk', [1, 2, 3], { queue: 'bulk' });
    await pgsched.enqueue('bulk', 4, { queue: 'bulk-other' });
    const cancelled = await call('POST', '/dash/api/jobs/cancel', { body: { queue: 'bulk' } });
    expect(cancelled.body).toEqual({ count: 3 });
    const retried = await call('POST', '/dash/api/jobs/retry', {
      body: { queue: 'bulk', state: 'cancelled' },
    });
    expect(retried.body).toEqual({ count: 3 });
    const rows = await db.sql`select queue, state::text from pgsched.jobs where name = 'bulk' order by id`;
    expect(rows.map((r) => r.state)).toEqual(['pending', 'pending', 'pending', 'pending']);
    const empty = await call('POST', '/dash/api/jobs/cancel', { body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.error.field).toContain('cancelJobs.filter');
    const bad = await call('POST', '/dash/api/jobs/retry', { body: { state: 'nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toContain('state');
  });

  it('reports stats with an hour of throughput, and the live workers', async () => {
    const stats = await call('GET', '/dash/api/stats');
    expect(stats.status).toBe(200);
    const api = stats.body.queues.find((q: { queue: string }) => q.queue === 'api');
    expect(api.counts.failed).toBeGreaterThanOrEqual(1);
    expect(stats.body.throughput).toHaveLength(60);
    const failed = stats.body.throughput.reduce((n: number, p: { failed: number }) => n + p.failed, 0);
    expect(failed).toBeGreaterThanOrEqual(2);
    const workers = await call('GET', '/dash/api/workers');
    expect(workers.body.workers).toEqual([
      expect.objectContaining({ pid: process.pid, concurrency: 2, queues: ['api'] }),
    ]);
  });
});

describe('queues', () => {
  it('lists and shows queues, sets a policy, pauses and resumes', async () => {
    const list = await call('GET', '/dash/api/queues');
    expect(list.status).toBe(200);
    expect(list.body.queues.map((q: { name: string }) => q.name)).toContain('api');

    const set = await call('PUT', '/dash/api/queues/emails', {
      body: { concurrency: 5, rateLimit: { limit: 100, period: '1m' } },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      name: 'emails',
      concurrency: 5,
      rateLimit: { limit: 100, period: 60_000 },
    });
    expect(await pgsched.getQueue('emails')).toMatchObject({ concurrency: 5 });

    const bad = await call('PUT', '/dash/api/queues/emails', { body: { concurrency: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toContain('concurrency');
    const unknownOption = await call('PUT', '/dash/api/queues/emails', { body: { speed: 1 } });
    expect(unknownOption.status).toBe(400);
    expect(unknownOption.body.error.field).toContain('speed');
    const badName = await call('GET', '/dash/api/queues/a%20b');
    expect(badName.status).toBe(400);
    expect((await pgsched.getQueue('emails')).concurrency).toBe(5);

    const paused = await call('POST', '/dash/api/queues/emails/pause');
    expect(paused.body).toMatchObject({ name: 'emails', paused: true });
    expect((await pgsched.getQueue('emails')).paused).toBe(true);
    const shown = await call('GET', '/dash/api/queues/emails');
    expect(shown.body).toMatchObject({ paused: true, counts: { pending: 0 } });
    const resumed = await call('POST', '/dash/api/queues/emails/resume');
    expect(resumed.body.paused).toBe(false);
    expect((await pgsched.getQueue('emails')).paused).toBe(false);
  });
});

describe('schedules', () => {
  it('creates, updates with expectedVersion, answers 409 on a stale version, pauses, resumes, deletes', async () => {
    const created = await call('PUT', '/dash/api/schedules/nightly', {
      body: { job: 'report', cron: '0 2 * * *', tz: 'Europe/Berlin', expectedVersion: 0 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'nightly', version: 1, tz: 'Europe/Berlin', paused: false });
    expect(created.body.upcoming).toHaveLength(5);
    for (const t of created.body.upcoming) expect(new Date(t).getTime()).toBeGreaterThan(Date.now());

    const stale = await call('PUT', '/dash/api/schedules/nightly', {
      body: { job: 'report', cron: '0 3 * * *', expectedVersion: 0 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('version_conflict');
    expect((await pgsched.getSchedule('nightly'))!.spec.cron).toBe('0 2 * * *');

    const updated = await call('PUT', '/dash/api/schedules/nightly', {
      body: { job: 'report', cron: '0 3 * * *', tz: 'Europe/Berlin', expectedVersion: 1 },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ version: 2, spec: { cron: '0 3 * * *' } });

    const invalid = await call('PUT', '/dash/api/schedules/nightly', {
      body: { job: 'report', cron: 'nope' },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.field).toMatch(/cron/);

    const list = await call('GET', '/dash/api/schedules');
    expect(list.body.schedules.map((s: { name: string }) => s.name)).toEqual(['nightly']);

    const paused = await call('POST', '/dash/api/schedules/nightly/pause');
    expect(paused.body).toMatchObject({ paused: true, upcoming: [] });
    expect((await pgsched.getSchedule('nightly'))!.paused).toBe(true);
    const resumed = await call('POST', '/dash/api/schedules/nightly/resume');
    expect(resumed.body.paused).toBe(false);

    expect((await call('DELETE', '/dash/api/schedules/nightly')).status).toBe(204);
    expect(await pgsched.getSchedule('nightly')).toBeNull();
    for (const [method, path] of [
      ['GET', '/dash/api/schedules/nightly'],
      ['DELETE', '/dash/api/schedules/nightly'],
      ['POST', '/dash/api/schedules/nightly/pause'],
      ['POST', '/dash/api/schedules/nightly/resume'],
    ] as const) {
      const reply = await call(method, path);
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(reply.body.error.code).toBe('not_found');
    }
  });
});
