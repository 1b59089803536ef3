import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoAnswerError, withinNoAnswer } from '../src/retry-delay.js';
import { type TestDb, useTestDb } from './support/db.js';

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
