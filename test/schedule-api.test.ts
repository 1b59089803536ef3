import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Pgsched, PgschedConflictError } from '../src/index.js';
import { createTicker } from '../src/schedule/ticker.js';
import { type TestDb, testLogger, useTestDb } from './support/db.js';

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

/** One ticker pass as if the database clock read `at`. */
async function tickAt(at: string) {
  const ticker = createTicker(db.sql, 'pgsched', testLogger, { clock: () => new Date(at) });
  await ticker.runOnce();
  return ticker.stats;
}

async function jobs(schedule: string) {
  return db.sql<{ name: string; run_at: Date; payload: unknown }[]>`
    select name, run_at, payload from pgsched.jobs where schedule = ${schedule} order by run_at`;
}

const iso = (dates: (Date | null)[]) => dates.map((d) => d?.toISOString() ?? null);

describe('schedule API', () => {
  it('creates a schedule and reads it back; listSchedules and upcoming', async () => {
    const created = await q.schedule('nightly', {
      cron: '0 30 2 * * *',
      tz: 'Europe/Berlin',
      job: 'report',
      payload: { kind: 'daily' },
      queue: 'reports',
      priority: 3,
      maxAttempts: 2,
      timeout: '5m',
      startAt: '2030-01-01T00:00:00Z',
    });
    expect(created).toMatchObject({
      name: 'nightly',
      kind: 'cron',
      spec: { cron: '0 30 2 * * *' },
      tz: 'Europe/Berlin',
      job: 'report',
      payload: { kind: 'daily' },
      options: { queue: 'reports', priority: 3, maxAttempts: 2, timeoutMs: 300_000 },
      catchUp: 'last',
      misfireGraceMs: 60_000,
      overlap: 'allow',
      paused: false,
      version: 1,
      lastFireAt: null,
      runCount: 0,
      pending: null,
    });
    expect(created.startAt?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(created.nextFireAt?.toISOString()).toBe('2030-01-01T01:30:00.000Z'); // 02:30 CET
    expect(await q.getSchedule('nightly')).toEqual(created);
    expect(await q.getSchedule('nope')).toBeNull();
    expect(iso(await q.upcoming('nightly', 3))).toEqual([
      '2030-01-01T01:30:00.000Z',
      '2030-01-02T01:30:00.000Z',
      '2030-01-03T01:30:00.000Z',
    ]);
    await q.schedule('a-first', { every: '1h', job: 'x' });
    expect((await q.listSchedules()).map((s) => s.name)).toEqual(['a-first', 'nightly']);
    expect(await q.unschedule('a-first')).toBe(true);
    expect(await q.unschedule('a-first')).toBe(false);
    expect(await q.upcoming('a-first', 3)).toEqual([]);
  });

  it('an identical upsert changes nothing; a change increments the version', async () => {
    const v1 = await q.schedule('s', { cron: '*/5 * * * *', job: 'x', payload: { a: 1, b: [1, 2] } });
    const again = await q.schedule('s', { payload: { b: [1, 2], a: 1 }, job: 'x', cron: '*/5 * * * *' });
    expect(again).toEqual(v1);
    const v2 = await q.schedule('s', { cron: '*/5 * * * *', job: 'x', payload: { a: 2 } });
    expect(v2.version).toBe(2);
    expect(v2.payload).toEqual({ a: 2 });
    // Only the payload changed: the next fire time stays.
    expect(v2.nextFireAt).toEqual(v1.nextFireAt);
  });

  it('expectedVersion: a stale writer gets PgschedConflictError and changes nothing; 0 means create-only', async () => {
    await q.schedule('v', { every: '1h', job: 'x', expectedVersion: 0 });
    const error = await q.schedule('v', { every: '1h', job: 'x', expectedVersion: 0 }).catch((e) => e);
    expect(error).toBeInstanceOf(PgschedConflictError);
    expect(error).toMatchObject({ entity: 'schedule', key: 'v', expectedVersion: 0, actualVersion: 1 });

    // Two writers read version 1; the first update wins, the second conflicts.
    await q.schedule('v', { every: '2h', job: 'x', expectedVersion: 1 });
    const stale = await q.schedule('v', { every: '3h', job: 'x', expectedVersion: 1 }).catch((e) => e);
    expect(stale).toBeInstanceOf(PgschedConflictError);
    expect(stale.message).toMatch(/version 2, expected 1/);
    expect(await q.getSchedule('v')).toMatchObject({ version: 2, spec: { every: '2h' } });
    const missing = await q.schedule('w', { every: '1h', job: 'x', expectedVersion: 3 }).catch((e) => e);
    expect(missing).toMatchObject({ name: 'PgschedConflictError', actualVersion: null });
    expect(await q.getSchedule('w')).toBeNull();
  });

  it("updatePolicy 'immediate' recomputes the next fire from now; 'graceful' fires the planned one first", async () => {
    await q.schedule('g', { cron: '0 * * * *', job: 'old', startAt: '2030-01-01T00:00:00Z' });
    const graceful = await q.schedule('g', {
      cron: '30 * * * *',
      job: 'new',
      startAt: '2030-01-01T00:00:00Z',
      updatePolicy: 'graceful',
    });
    expect(graceful).toMatchObject({ version: 2, job: 'old', updatePolicy: 'graceful' });
    expect(graceful.pending).toMatchObject({ job: 'new', spec: { cron: '30 * * * *' } });
    expect(graceful.nextFireAt?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(iso(await q.upcoming('g', 3))).toEqual([
      '2030-01-01T00:00:00.000Z',
      '2030-01-01T00:30:00.000Z',
      '2030-01-01T01:30:00.000Z',
    ]);
    await tickAt('2030-01-01T00:00:01Z');
    await tickAt('2030-01-01T00:30:01Z');
    expect((await jobs('g')).map((j) => [j.name, j.run_at.toISOString()])).toEqual([
      ['old', '2030-01-01T00:00:00.000Z'],
      ['new', '2030-01-01T00:30:00.000Z'],
    ]);
    expect(await q.getSchedule('g')).toMatchObject({ job: 'new', pending: null, version: 2, runCount: 2 });

    const immediate = await q.schedule('g', { every: '1h', job: 'new', startAt: '2030-06-01T00:00:00Z' });
    expect(immediate).toMatchObject({ version: 3, pending: null, updatePolicy: 'immediate' });
    expect(immediate.nextFireAt?.toISOString()).toBe('2030-06-01T00:00:00.000Z');
  });

  it('pause stops firing; resume continues from now without catching up the pause', async () => {
    await q.schedule('p', { cron: '*/10 * * * *', job: 'x', catchUp: 'all' });
    expect(await q.pauseSchedule('p')).toBe(true);
    expect(await q.pauseSchedule('p')).toBe(true);
    expect(await q.getSchedule('p')).toMatchObject({ paused: true, version: 2 });
    // An hour later (six occurrences due), still paused: nothing fires.
    expect(await tickAt(new Date(Date.now() + 3_600_000).toISOString())).toMatchObject({ fired: 0 });
    expect(await q.resumeSchedule('p')).toBe(true);
    const resumed = (await q.getSchedule('p'))!;
    expect(resumed).toMatchObject({ paused: false, version: 3 });
    // Resumed on the real clock: the next fire is after now, not the 2030 backlog.
    const [{ now }] = await db.sql<[{ now: Date }]>`select now() as now`;
    expect(resumed.nextFireAt!.getTime()).toBeGreaterThan(now.getTime());
    expect(resumed.nextFireAt!.getTime()).toBeLessThanOrEqual(now.getTime() + 600_000);
    expect(await q.pauseSchedule('nope')).toBe(false);
    expect(await q.resumeSchedule('nope')).toBe(false);
  });

  it('start({ schedules }) upserts the list; removeUnlistedSchedules deletes the others', async () => {
    await q.schedule('stale', { every: '1h', job: 'x' });
    await q.schedule('keep', { every: '1h', job: 'x' });
    const first = db.pgsched();
    await first.start({
      leader: false,
      schedules: [
        { name: 'keep', every: '1h', job: 'x' },
        { name: 'fresh', cron: '@daily', job: 'y' },
      ],
    });
    await first.stop();
    expect((await q.listSchedules()).map((s) => [s.name, s.version])).toEqual([
      ['fresh', 1],
      ['keep', 1],
      ['stale', 1],
    ]);
    const second = db.pgsched();
    await second.start({
      leader: false,
      schedules: [{ name: 'keep', every: '2h', job: 'x' }],
      removeUnlistedSchedules: true,
    });
    await second.stop();
    expect((await q.listSchedules()).map((s) => [s.name, s.version])).toEqual([['keep', 2]]);
  });
});

describe('triggers through the database', () => {
  it('ISO 8601 with a repetition count fires exactly that many times, then nextFireAt is null', async () => {
    await q.schedule('r3', { iso: 'R3/2030-01-01T00:00:00Z/PT1H', job: 'x', catchUp: 'all' });
    expect(iso(await q.upcoming('r3', 10))).toEqual([
      '2030-01-01T00:00:00.000Z',
      '2030-01-01T01:00:00.000Z',
      '2030-01-01T02:00:00.000Z',
    ]);
    await tickAt('2030-01-01T01:30:00Z');
    await tickAt('2030-01-01T09:00:00Z');
    expect(iso((await jobs('r3')).map((j) => j.run_at))).toEqual([
      '2030-01-01T00:00:00.000Z',
      '2030-01-01T01:00:00.000Z',
      '2030-01-01T02:00:00.000Z',
    ]);
    expect(await q.getSchedule('r3')).toMatchObject({ nextFireAt: null, runCount: 3 });
    expect(await q.upcoming('r3', 5)).toEqual([]);
  });

  it('ISO 8601 without a count, intervals within a window, and once (at)', async () => {
    await q.schedule('r', { iso: 'R/2030-01-01T00:00:00Z/P1D', job: 'x' });
    expect(await q.upcoming('r', 500)).toHaveLength(500);
    await q.schedule('every', {
      every: '45m',
      startAt: '2030-01-01T00:00:00Z',
      endAt: '2030-01-01T02:00:00Z',
      job: 'x',
      catchUp: 'all',
    });
    await q.schedule('once', { at: '2030-01-01T00:10:00Z', job: 'x' });
    await tickAt('2030-01-01T00:50:00Z');
    await tickAt('2030-01-01T05:00:00Z');
    expect(iso((await jobs('every')).map((j) => j.run_at))).toEqual([
      '2030-01-01T00:00:00.000Z',
      '2030-01-01T00:45:00.000Z',
      '2030-01-01T01:30:00.000Z',
    ]);
    expect(iso((await jobs('once')).map((j) => j.run_at))).toEqual(['2030-01-01T00:10:00.000Z']);
    expect(await q.getSchedule('every')).toMatchObject({ nextFireAt: null, runCount: 3 });
    expect(await q.getSchedule('once')).toMatchObject({ nextFireAt: null, runCount: 1 });
  });

  it.each([
    // 02:00 CET → 03:00 CEST: 02:30 does not exist and fires once, at 03:00 CEST.
    [
      'Europe/Berlin',
      'spring forward',
      '2030-03-30T12:00:00Z',
      '2030-03-31T01:00:00.000Z',
      '2030-04-01T00:30:00.000Z',
    ],
    // 03:00 CEST → 02:00 CET: 02:30 happens twice and fires on the first (CEST) only.
    [
      'Europe/Berlin',
      'fall back',
      '2030-10-26T12:00:00Z',
      '2030-10-27T00:30:00.000Z',
      '2030-10-28T01:30:00.000Z',
    ],
    // 02:00 EST → 03:00 EDT: 02:30 fires once at 03:00 EDT.
    [
      'America/New_York',
      'spring forward',
      '2030-03-09T12:00:00Z',
      '2030-03-10T07:00:00.000Z',
      '2030-03-11T06:30:00.000Z',
    ],
    // 02:00 EDT → 01:00 EST: with '30 1 * * *', 01:30 happens twice and fires on the first (EDT) only.
    [
      'America/New_York',
      'fall back',
      '2030-11-02T12:00:00Z',
      '2030-11-03T05:30:00.000Z',
      '2030-11-04T06:30:00.000Z',
    ],
  ])('DST through the database: %s %s', async (tz, _transition, startAt, first, second) => {
    const cron = first.startsWith('2030-11') ? '30 1 * * *' : '30 2 * * *';
    await q.schedule('dst', { cron, tz, startAt, job: 'x' });
    expect((await q.getSchedule('dst'))?.nextFireAt?.toISOString()).toBe(first);
    await tickAt(new Date(Date.parse(first) + 200).toISOString());
    expect((await q.getSchedule('dst'))?.nextFireAt?.toISOString()).toBe(second);
    // Just before the second fire: nothing more was enqueued in between (no double fire in a repeated hour).
    await tickAt(new Date(Date.parse(second) - 1).toISOString());
    expect(iso((await jobs('dst')).map((j) => j.run_at))).toEqual([first]);
  });
});
