import postgres from 'postgres';
import { v5 } from 'uuid';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CatchUpPolicy, Pgsched } from '../src/index.js';
import { createTicker, OCCURRENCE_NAMESPACE } from '../src/schedule/ticker.js';
import { type TestDb, testLogger, useTestDb, waitFor } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

beforeEach(async () => {
  await db.sql`delete from pgsched.schedules`;
  await db.sql`delete from pgsched.jobs`;
});

/**
 * One ticker pass as if the database clock read `at` (the trigger maths use the same instant).
 * `wait` is the time to the next due occurrence: no poll cap in simulated time.
 */
async function tickAt(at: string, sql = db.sql) {
  const clock = () => new Date(at);
  const ticker = createTicker(sql, 'pgsched', testLogger, { clock, pollMs: Number.POSITIVE_INFINITY });
  const wait = await ticker.runOnce();
  return { ...ticker.stats, wait };
}

/** Simulated downtime: the schedule's cursor is moved back, as if nobody ticked since then. */
async function backdate(name: string, to: string) {
  await db.sql`update pgsched.schedules set next_fire_at = ${to} where name = ${name}`;
}

async function runAts(schedule: string): Promise<string[]> {
  const rows = await db.sql<{ run_at: Date }[]>`
    select run_at from pgsched.jobs where schedule = ${schedule} order by run_at`;
  return rows.map((r) => r.run_at.toISOString());
}

const misses = async (name: string) =>
  (await q.missedOccurrences(name)).map((m) => ({
    reason: m.reason,
    first: m.firstAt.toISOString(),
    last: m.lastAt.toISOString(),
    count: m.count,
  }));

const T = (hhmm: string) => `2030-01-01T${hhmm}:00.000Z`;

describe('catch-up after downtime (every 10 minutes, down from 00:00 to 01:05)', () => {
  const cases: [string, CatchUpPolicy, string[], { first: string; last: string; count: number }[]][] = [
    ['all', 'all', ['00:00', '00:10', '00:20', '00:30', '00:40', '00:50', '01:00'], []],
    ['last', 'last', ['01:00'], [{ first: T('00:00'), last: T('00:50'), count: 6 }]],
    ['none', 'none', [], [{ first: T('00:00'), last: T('01:00'), count: 7 }]],
    [
      '{ max: 2, within: 30m }',
      { max: 2, within: '30m' },
      ['00:50', '01:00'],
      [{ first: T('00:00'), last: T('00:40'), count: 5 }],
    ],
  ];
  it.each(cases)('catchUp %s', async (_label, catchUp, fired, missed) => {
    await q.schedule('c', { cron: '*/10 * * * *', job: 'x', catchUp });
    await backdate('c', T('00:00'));
    const stats = await tickAt('2030-01-01T01:05:00Z');
    expect(await runAts('c')).toEqual(fired.map(T));
    expect(await misses('c')).toEqual(missed.map((m) => ({ reason: 'catch-up', ...m })));
    expect(stats).toMatchObject({ fired: fired.length, missed: missed[0]?.count ?? 0 });
    const after = (await q.getSchedule('c'))!;
    expect(after.nextFireAt?.toISOString()).toBe(T('01:10'));
    expect(after.runCount).toBe(fired.length);
    expect(after.lastFireAt?.toISOString() ?? null).toBe(fired.length ? T(fired.at(-1)!) : null);
    // Woken again exactly when the next occurrence is due.
    expect(stats.wait).toBe(5 * 60_000);
  });

  it('an occurrence at most misfireGrace late is on time, whatever catchUp says', async () => {
    await q.schedule('g', { cron: '*/10 * * * *', job: 'x', catchUp: 'none', misfireGrace: '1m' });
    await backdate('g', T('00:00'));
    await tickAt('2030-01-01T01:00:59Z');
    expect(await runAts('g')).toEqual([T('01:00')]);
    expect(await misses('g')).toEqual([
      { reason: 'catch-up', first: T('00:00'), last: T('00:50'), count: 6 },
    ]);
  });

  it("a long outage under 'all' is enqueued in pages, oldest first, none lost", async () => {
    await q.schedule('a', { every: '1s', job: 'x', catchUp: 'all' });
    await backdate('a', T('00:00'));
    await tickAt('2030-01-01T01:00:00Z');
    const [row] = await db.sql`
      select count(*)::int as n, count(distinct run_at)::int as distinct, min(run_at) as min, max(run_at) as max
      from pgsched.jobs where schedule = 'a'`;
    expect(row).toMatchObject({ n: 3601, distinct: 3601 });
    expect(row!.min.toISOString()).toBe(T('00:00'));
    expect(row!.max.toISOString()).toBe(T('01:00'));
  });
});

describe('overlap', () => {
  it("'skip': no new job while the previous one is unfinished; consecutive skips share one record", async () => {
    await q.schedule('s', { cron: '* * * * *', job: 'x', overlap: 'skip' });
    await backdate('s', T('00:00'));
    await tickAt('2030-01-01T00:00:01Z');
    await tickAt('2030-01-01T00:01:01Z'); // 00:00's job is still pending
    await tickAt('2030-01-01T00:02:01Z');
    await db.sql`update pgsched.jobs set state = 'completed', finished_at = now() where schedule = 's'`;
    await tickAt('2030-01-01T00:03:01Z');
    await tickAt('2030-01-01T00:04:01Z');
    expect(await runAts('s')).toEqual([T('00:00'), T('00:03')]);
    expect(await misses('s')).toEqual([
      { reason: 'overlap', first: T('00:04'), last: T('00:04'), count: 1 },
      { reason: 'overlap', first: T('00:01'), last: T('00:02'), count: 2 },
    ]);
    expect(await q.getSchedule('s')).toMatchObject({ runCount: 2 });
  });

  it("'skip' with a catch-up backlog: the first one is enqueued, the rest would overlap it", async () => {
    await q.schedule('s', { cron: '* * * * *', job: 'x', overlap: 'skip', catchUp: 'all' });
    await backdate('s', T('00:00'));
    await tickAt('2030-01-01T00:03:30Z');
    expect(await runAts('s')).toEqual([T('00:00')]);
    expect(await misses('s')).toEqual([{ reason: 'overlap', first: T('00:01'), last: T('00:03'), count: 3 }]);
  });

  it("'queue': every occurrence is enqueued, and the jobs run one at a time in order", async () => {
    await q.schedule('qd', { cron: '* * * * * *', job: 'step', overlap: 'queue', catchUp: 'all' });
    const [{ now }] = await db.sql<[{ now: Date }]>`select now() as now`;
    await backdate('qd', new Date(Math.floor(now.getTime() / 1000) * 1000 - 4_000).toISOString());
    await createTicker(db.sql, 'pgsched', testLogger).runOnce();
    await q.pauseSchedule('qd');
    const count = (await runAts('qd')).length;
    expect(count).toBeGreaterThanOrEqual(5);
    const keys = await db.sql<
      { key: string }[]
    >`select distinct group_key as key from pgsched.jobs where group_max = 1`;
    expect(keys.map((k) => k.key)).toEqual(['schedule:qd']);

    const runs: { runAt: number; start: number; end: number }[] = [];
    const worker = db.pgsched();
    worker.define('step', async (_p, ctx) => {
      const start = Date.now();
      await new Promise((r) => setTimeout(r, 60));
      runs.push({ runAt: ctx.job.runAt.getTime(), start, end: Date.now() });
    });
    await worker.start({ concurrency: 5, leader: false, pollInterval: 50 });
    await waitFor(() => runs.length === count, 20_000);
    await worker.stop();
    for (let i = 1; i < runs.length; i++) {
      expect(runs[i]!.runAt).toBeGreaterThan(runs[i - 1]!.runAt);
      expect(runs[i]!.start).toBeGreaterThanOrEqual(runs[i - 1]!.end);
    }
  });
});

describe('idempotence', () => {
  it('a leader with stale state cannot enqueue an occurrence twice (unique occurrence key)', async () => {
    await q.schedule('i', { cron: '* * * * *', job: 'x' });
    await backdate('i', T('00:00'));
    await tickAt('2030-01-01T00:00:01Z');
    // As if a second leader had read the row before the first one advanced it.
    await backdate('i', T('00:00'));
    const second = await tickAt('2030-01-01T00:00:02Z');
    expect(second.fired).toBe(0);
    expect(await runAts('i')).toEqual([T('00:00')]);
    expect(await q.getSchedule('i')).toMatchObject({ runCount: 1 });
    // The job carries the occurrence's deterministic key: UUIDv5 of schedule name and fire time.
    const [job] = await db.sql<
      [{ occurrence: string }]
    >`select occurrence from pgsched.jobs where schedule = 'i'`;
    expect(job.occurrence).toBe(v5(`i@${T('00:00')}`, OCCURRENCE_NAMESPACE));
  });

  it('the occurrence stays unique after its job is retried with a new run_at', async () => {
    await q.schedule('r', { cron: '* * * * *', job: 'x' });
    await backdate('r', T('00:00'));
    await tickAt('2030-01-01T00:00:01Z');
    // A failed attempt moves run_at (retry backoff); the occurrence is still the 00:00 one.
    await db.sql`update pgsched.jobs set run_at = ${T('00:07')} where schedule = 'r'`;
    await backdate('r', T('00:00'));
    const second = await tickAt('2030-01-01T00:00:02Z');
    expect(second.fired).toBe(0);
    const rows = await db.sql`select fire_at, run_at from pgsched.jobs where schedule = 'r'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.fire_at.toISOString()).toBe(T('00:00'));
    const job = (await q.getJob(
      String((await db.sql`select id from pgsched.jobs where schedule = 'r'`)[0]!.id),
    ))!;
    expect(job).toMatchObject({ schedule: 'r', occurrence: v5(`r@${T('00:00')}`, OCCURRENCE_NAMESPACE) });
    expect(job.fireAt?.toISOString()).toBe(T('00:00'));
  });

  it('a schedule this process cannot plan is skipped and left untouched; the others still fire', async () => {
    await q.schedule('good', { cron: '* * * * *', job: 'x' });
    await backdate('good', T('00:00'));
    // As a newer pgsched might write it during a rolling upgrade.
    await db.sql`
      insert into pgsched.schedules (name, spec, job, next_fire_at)
      values ('future', '{"rrule": "FREQ=DAILY"}', 'x', ${T('00:00')})`;
    const stats = await tickAt('2030-01-01T00:00:30Z');
    expect(await runAts('good')).toEqual([T('00:00')]);
    expect(await q.getSchedule('future')).toMatchObject({ runCount: 0, nextFireAt: new Date(T('00:00')) });
    // Not spinning on the due time it cannot handle: woken for the good schedule's next minute.
    expect(stats.wait).toBe(30_000);
  });

  it('two tickers on separate connections, ticking at once, enqueue each occurrence exactly once', async () => {
    const clients = [1, 2].map(() => postgres(db.url, { max: 2, onnotice: () => {} }));
    afterAll(() => Promise.all(clients.map((c) => c.end())));
    for (let i = 0; i < 200; i++) await q.schedule(`t${i}`, { every: '1s', job: 'x', catchUp: 'all' });
    await db.sql`update pgsched.schedules set next_fire_at = ${T('00:00')}`;
    const at = '2030-01-01T00:00:04.500Z';
    const tickers = clients.map((c) =>
      createTicker(c, 'pgsched', testLogger, { clock: () => new Date(at), batchSize: 20 }),
    );
    await Promise.all(tickers.map((t) => t.runOnce()));
    const [row] = await db.sql`
      select count(*)::int as n, count(distinct (schedule, run_at))::int as distinct from pgsched.jobs`;
    expect(row).toEqual({ n: 1000, distinct: 1000 });
    expect(tickers[0]!.stats.fired + tickers[1]!.stats.fired).toBe(1000);
  });
});
