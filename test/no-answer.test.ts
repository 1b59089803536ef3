import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueries } from '../src/queries.js';
import { NoAnswerError, withinNoAnswer } from '../src/retry-delay.js';
import { Heartbeat } from '../src/worker/heartbeat.js';
import { type TestDb, testLogger, useTestDb, waitFor } from './support/db.js';

let db: TestDb;
let one: postgres.Sql;

beforeAll(async () => {
  db = await useTestDb();
  await db.sql`create table no_answer_probe (n int)`;
  // One connection: a statement sent behind a long one waits in the driver, never sent.
  one = postgres(db.url, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
  await one.end({ timeout: 5 });
});

describe('a statement left without an answer', () => {
  it('is cancelled: one the driver had not sent yet never runs, even once the connection is free', async () => {
    const busy = one`select pg_sleep(1)`.execute();
    const queued = one`insert into no_answer_probe values (1) returning n`;
    const started = performance.now();
    await expect(withinNoAnswer(queued, 'inserting', 200)).rejects.toBeInstanceOf(NoAnswerError);
    expect(performance.now() - started).toBeLessThan(900);
    await busy;
    await one`select 1`; // the connection has run everything queued behind the sleep
    expect(await db.sql`select n from no_answer_probe`).toEqual([]);
  });

  it('is cancelled on the server when it is running there', async () => {
    const running = one`select pg_sleep(30)`;
    const started = performance.now();
    await expect(withinNoAnswer(running, 'sleeping', 300)).rejects.toBeInstanceOf(NoAnswerError);
    // The cancel request ends the sleep: the connection answers again long before 30 s.
    const [row] = await one<{ n: number }[]>`select 1 as n`;
    expect(row!.n).toBe(1);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('an answer in time is returned as is', async () => {
    const rows = await withinNoAnswer(one<{ n: number }[]>`select 2 as n`, 'selecting', 5_000);
    expect(rows).toEqual([{ n: 2 }]);
  });
});

describe('a heartbeat left without an answer', () => {
  it('is given up after one beat interval and sent again at once: a 3 s lease does not run out', async () => {
    await db.pgsched().migrate();
    const id = (await db.pgsched().enqueueMany('beat-job', [{}]))[0]!;
    const queries = createQueries(db.sql, 'pgsched');
    const defaults = { names: ['beat-job'], maxAttempts: [3], visibilityMs: [3_000], atMostOnce: [0] };
    const [row] = await queries.claim('beat-worker', 1, null, defaults);
    expect(row!.id).toBe(id);
    // The first beat is a statement that never answers (what a connection stuck after a restart
    // does, porsager/postgres#1193); the next ones are the real statement.
    let beats = 0;
    const stuck = { ...queries };
    stuck.heartbeat = (workerId, ids) => {
      beats++;
      return beats === 1 ? (db.sql`select pg_sleep(60)` as never) : queries.heartbeat(workerId, ids);
    };
    const lost: string[] = [];
    const heartbeat = new Heartbeat(
      stuck,
      'beat-worker',
      testLogger,
      () => [row!],
      (rows) => {
        lost.push(...rows.map((r) => r.id));
      },
    );
    const lease = async () =>
      (
        await db.sql<{ ms: number }[]>`
        select extract(epoch from locked_until - now())::float8 * 1000 as ms from pgsched.jobs where id = ${id}`
      )[0]!.ms;
    const started = performance.now();
    heartbeat.ensureFor(3_000); // beats every second
    await waitFor(() => beats >= 2, 5_000, 10);
    const retriedAfter = performance.now() - started;
    // First beat at 1 s, given up 1 s later, the second sent at once (not a further second later).
    expect(retriedAfter).toBeGreaterThan(1_800);
    expect(retriedAfter).toBeLessThan(2_900);
    await waitFor(async () => (await lease()) > 2_500, 2_000, 20);
    heartbeat.stop();
    expect(lost).toEqual([]);
    // The stuck statement was cancelled on the server, not left sleeping.
    await waitFor(async () => {
      const rows = await db.sql`
        select 1 from pg_stat_activity where state = 'active' and query = 'select pg_sleep(60)'`;
      return rows.length === 0;
    }, 5_000);
  });
});
