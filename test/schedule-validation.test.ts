import { beforeAll, describe, expect, it } from 'vitest';
import { type Pgsched, PgschedValidationError } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched({ maxPayloadBytes: 1_000 });
  await q.migrate();
  q.define('typed', async () => {}, {
    schema: {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (v: unknown) =>
          typeof (v as { to?: unknown })?.to === 'string'
            ? { value: v }
            : { issues: [{ message: 'expected a string', path: ['to'] }] },
      },
    },
  });
  await q.schedule('existing', { every: '1h', job: 'x' });
});

async function snapshot() {
  return db.sql`select name, version, spec, next_fire_at from pgsched.schedules order by name`;
}

/** A PgschedValidationError naming `field` and showing `shown`, with the schedules table unchanged. */
async function rejects(call: () => Promise<unknown>, field: string, shown: string) {
  const before = await snapshot();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${field} to be rejected`).toBeInstanceOf(PgschedValidationError);
  const e = error as PgschedValidationError;
  expect(e.field).toBe(field);
  expect(e.message).toContain(field);
  expect(e.message).toContain(shown);
  expect(await snapshot()).toEqual(before);
}

const base = { job: 'x' } as const;
const bad =
  (options: Record<string, unknown>, name = 'existing') =>
  () =>
    q.schedule(name, options as never);

describe('bad schedule input is rejected naming the field and value; nothing is stored', () => {
  it.each([
    ['not a cron', '"not a cron"'],
    ['* * * *', '"* * * *"'],
    ['61 * * * *', '"61 * * * *"'],
    ['0 0 30 2 *', '"0 0 30 2 *"'],
    ['0 0 31 4 *', '"0 0 31 4 *"'],
    ['@every 0s', '"@every 0s"'],
    ['@fortnightly', '"@fortnightly"'],
    [42, '42'],
  ])('invalid cron %s', async (cron, shown) => {
    await rejects(bad({ ...base, cron }), 'schedule.options.cron', shown);
    await rejects(bad({ ...base, cron }, 'new-one'), 'schedule.options.cron', shown);
  });

  it('unknown time zone', async () => {
    await rejects(
      bad({ ...base, cron: '@daily', tz: 'Mars/Olympus_Mons' }),
      'schedule.options.tz',
      'Mars/Olympus_Mons',
    );
    await rejects(bad({ ...base, every: '1h', tz: '' }), 'schedule.options.tz', '""');
  });

  it.each([
    [0, '0'],
    [-5, '-5'],
    ['0s', '"0s"'],
    ['-1m', '"-1m"'],
    ['soon', '"soon"'],
    [0.4, '0.4'],
  ])('zero, negative or malformed interval %s', async (every, shown) => {
    await rejects(bad({ ...base, every }), 'schedule.options.every', shown);
  });

  it.each([
    ['R5/2026-01-01T00:00:00Z/PX', 'R5/2026-01-01T00:00:00Z/PX'],
    ['R5/not-a-date/PT1H', 'not-a-date'],
    ['2026-01-01T00:00:00Z/PT1H', 'R[n]'],
    ['R/2026-01-01T00:00:00Z/PT0S', 'zero duration'],
    ['R0/2026-01-01T00:00:00Z/PT1H', 'R0 would never fire'],
  ])('malformed ISO 8601 or repetition count 0: %s', async (iso, shown) => {
    await rejects(bad({ ...base, iso }), 'schedule.options.iso', shown);
  });

  it('endAt before startAt, and bad dates', async () => {
    await rejects(
      bad({ ...base, every: '1h', startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' }),
      'schedule.options.endAt',
      '2030-01-01T00:00:00Z',
    );
    await rejects(
      bad({ ...base, every: '1h', startAt: 'tomorrow' }),
      'schedule.options.startAt',
      '"tomorrow"',
    );
    await rejects(bad({ ...base, at: '2030-02-30T00:00:00Z' }), 'schedule.options.at', '2030-02-30');
  });

  it('unknown options, and none or several triggers', async () => {
    await rejects(bad({ ...base, cron: '@daily', retries: 3 }), 'schedule.options.retries', '3');
    await rejects(bad({ ...base, crons: '@daily' }), 'schedule.options.crons', '"@daily"');
    await rejects(
      bad({ ...base, every: '1h', backoff: { type: 'fixed', base: 1, cap: 2 } }),
      'schedule.options.backoff.cap',
      '2',
    );
    await rejects(bad({ ...base }), 'schedule.options', 'none was given');
    await rejects(
      bad({ ...base, cron: '@daily', every: '1h' }),
      'schedule.options',
      'schedule.options.every',
    );
  });

  it('policies, version, job, name and job options', async () => {
    const t = { ...base, every: '1h' };
    await rejects(bad({ ...t, catchUp: 'sometimes' }), 'schedule.options.catchUp', '"sometimes"');
    await rejects(bad({ ...t, catchUp: { max: 0, within: '1h' } }), 'schedule.options.catchUp.max', '0');
    await rejects(bad({ ...t, catchUp: { max: 2 } }), 'schedule.options.catchUp.within', 'undefined');
    await rejects(
      bad({ ...t, catchUp: { max: 2, within: '1h', ever: 1 } }),
      'schedule.options.catchUp.ever',
      '1',
    );
    await rejects(bad({ ...t, overlap: 'wait' }), 'schedule.options.overlap', '"wait"');
    await rejects(bad({ ...t, misfireGrace: '-1s' }), 'schedule.options.misfireGrace', '"-1s"');
    await rejects(bad({ ...t, expectedVersion: -1 }), 'schedule.options.expectedVersion', '-1');
    await rejects(bad({ ...t, updatePolicy: 'later' }), 'schedule.options.updatePolicy', '"later"');
    await rejects(bad({ every: '1h' }), 'schedule.options.job', 'undefined');
    await rejects(bad({ ...t, queue: 'no spaces' }), 'schedule.options.queue', '"no spaces"');
    await rejects(bad({ ...t, priority: 1.5 }), 'schedule.options.priority', '1.5');
    await rejects(bad({ ...t, timeout: 0 }), 'schedule.options.timeout', '0');
    await rejects(() => q.schedule('', t), 'schedule.name', '""');
    await rejects(() => q.schedule(7 as never, t), 'schedule.name', '7');
    await rejects(() => q.schedule('x'.repeat(201), t), 'schedule.name', 'xxxx');
  });

  it('payloads: not JSON, too large, or failing the job schema', async () => {
    const t = { every: '1h' };
    await rejects(bad({ ...t, job: 'x', payload: { n: 10n } }), 'schedule.options.payload', '10n');
    await rejects(
      bad({ ...t, job: 'x', payload: { s: 'x'.repeat(2_000) } }),
      'schedule.options.payload',
      'maxPayloadBytes',
    );
    await rejects(bad({ ...t, job: 'typed', payload: { to: 5 } }), 'schedule.options.payload.to', '{"to":5}');
  });

  it('start({ schedules }) validates every entry before writing any', async () => {
    const p = db.pgsched();
    const start = (schedules: unknown[]) => () => p.start({ leader: false, schedules: schedules as never });
    await rejects(
      start([
        { name: 'fine', every: '1h', job: 'x' },
        { name: 'broken', cron: '* * *', job: 'x' },
      ]),
      'start.options.schedules[1].cron',
      '"* * *"',
    );
    await rejects(start([{ every: '1h', job: 'x' }]), 'start.options.schedules[0].name', 'undefined');
    await rejects(
      start([
        { name: 'twice', every: '1h', job: 'x' },
        { name: 'twice', every: '2h', job: 'x' },
      ]),
      'start.options.schedules[1].name',
      '"twice"',
    );
    expect(await q.getSchedule('fine')).toBeNull();
    // Without a list, removing "unlisted" schedules would delete them all.
    await rejects(
      () => db.pgsched().start({ leader: false, removeUnlistedSchedules: true }),
      'start.options.removeUnlistedSchedules',
      'true',
    );
    expect(await q.getSchedule('existing')).not.toBeNull();
  });

  it('reads and management calls check their arguments', async () => {
    await rejects(() => q.upcoming('existing', 0), 'upcoming.n', '0');
    await rejects(() => q.upcoming('existing', 10_001), 'upcoming.n', '10001');
    await rejects(() => q.getSchedule(5 as never), 'getSchedule.name', '5');
    await rejects(
      () => q.missedOccurrences('existing', { limit: -1 }),
      'missedOccurrences.options.limit',
      '-1',
    );
  });
});
