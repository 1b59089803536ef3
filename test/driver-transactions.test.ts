import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { isConnectionLoss } from '../src/transaction.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/transaction-process.ts', import.meta.url));
let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
});

/** Runs the fixture, terminates its backend mid-statement, and returns its messages and exit code. */
async function loseConnectionMidTransaction(mode: 'guarded' | 'raw') {
  const child = fork(FIXTURE, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, DATABASE_URL: db.url, MODE: mode },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const messages: Record<string, unknown>[] = [];
  child.on('message', (m: Record<string, unknown>) => messages.push(m));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await waitFor(() => messages.some((m) => m.sleeping), 20_000);
  await waitFor(async () => {
    const rows = await db.sql`
      select pg_terminate_backend(pid) from pg_stat_activity
      where application_name = 'pgsched-tx-victim' and query like '%pg_sleep%'`;
    return rows.length > 0;
  }, 10_000);
  return { code: await exited, messages };
}

describe('a transaction whose connection dies mid-statement (no error handlers)', () => {
  it("pgsched's transaction() rejects with the connection error and the process lives on", async () => {
    const { code, messages } = await loseConnectionMidTransaction('guarded');
    const rejected = messages.find((m) => 'rejected' in m)?.rejected;
    expect(isConnectionLoss({ code: rejected })).toBe(true);
    expect(messages.some((m) => m.alive === true)).toBe(true);
    expect(code).toBe(0);
  });
});
