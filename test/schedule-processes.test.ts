import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/scheduler-process.ts', import.meta.url));

let db: TestDb;
let q: Pgsched;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await db.sql`delete from pgsched.schedules`;
  await db.sql`delete from pgsched.jobs`;
});

interface Proc {
  child: ChildProcess;
  next(
    predicate: (m: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

/** Forks the scheduler fixture and resolves once it reports ready. */
async function spawn(env: Record<string, string>): Promise<Proc> {
  const child = fork(FIXTURE, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, DATABASE_URL: db.url, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const messages: Record<string, unknown>[] = [];
  child.on('message', (m: Record<string, unknown>) => messages.push(m));
  const proc: Proc = {
    child,
    next: (predicate, timeoutMs = 20_000) =>
      waitFor(() => messages.find(predicate), timeoutMs, 20) as Promise<Record<string, unknown>>,
  };
  await proc.next((m) => m.ready === true, 30_000);
  return proc;
}

async function stop(proc: Proc): Promise<Record<string, unknown>[]> {
  const got: Record<string, unknown>[] = [];
  proc.child.on('message', (m: Record<string, unknown>) => got.push(m));
  proc.child.send({ stop: true });
  await waitFor(() => got.some((m) => m.stopped === true), 20_000, 20);
  return got;
}

/** Every schedule's occurrences are one second apart with no gap and no repeat. */
async function expectContiguousSeconds() {
  const rows = await db.sql<{ schedule: string; n: number; distinct: number; span: number }[]>`
    select schedule, count(*)::int as n, count(distinct run_at)::int as distinct,
           (extract(epoch from max(run_at) - min(run_at)))::int as span
    from pgsched.jobs group by schedule`;
  for (const row of rows) {
    expect(row.distinct, row.schedule).toBe(row.n);
    expect(row.span + 1, row.schedule).toBe(row.n);
  }
  return rows;
}

describe('schedules across processes', () => {
  it('two processes ticking the same schedules at the same moments never enqueue an occurrence twice', async () => {
    for (let i = 0; i < 300; i++) await q.schedule(`s${i}`, { every: '1s', job: 'x' });
    const procs = await Promise.all([1, 2].map(() => spawn({ MODE: 'ticker', BATCH: '25' })));
    // Let both tick for at least four rounds; under a loaded CI machine that can take longer than 4 s.
    await Promise.all(procs.map((p) => p.next((m) => typeof m.passes === 'number' && m.passes >= 4, 30_000)));
    await waitFor(
      async () => (await db.sql`select count(*)::int as n from pgsched.jobs`)[0]!.n >= 300 * 4,
      30_000,
      100,
    );
    const results = await Promise.all(procs.map(stop));
    const stats = results.map((r) => r.find((m) => m.stats)!.stats as { fired: number; passes: number });
    const fired = stats.map((s) => s.fired);
    // Both really ticked, round after round, at the same due times. Which one wins a schedule's row
    // (SKIP LOCKED) is a race, so how the work split is not asserted; nothing was lost or doubled.
    for (const s of stats) expect(s.passes).toBeGreaterThanOrEqual(4);
    const [row] = await db.sql`select count(*)::int as n from pgsched.jobs`;
    expect(row!.n).toBe(fired[0]! + fired[1]!);
    expect(row!.n).toBeGreaterThanOrEqual(300 * 4);
    const rows = await expectContiguousSeconds();
    expect(rows).toHaveLength(300);
  });

  it('after the leader is SIGKILLed another process takes over and fires the next occurrences', async () => {
    await q.schedule('beat', { cron: '* * * * * *', job: 'x' });
    const first = await spawn({ MODE: 'leader' });
    await first.next((m) => m.leader === true);
    const second = await spawn({ MODE: 'leader' });
    await waitFor(async () => (await db.sql`select 1 from pgsched.jobs`).length >= 2, 10_000);
    first.child.kill('SIGKILL');
    const [{ now: killedAt }] = await db.sql<[{ now: Date }]>`select now() as now`;
    await second.next((m) => m.leader === true, 10_000);
    // Occurrences due after the kill are fired by the new leader.
    await waitFor(
      async () =>
        (await db.sql`select 1 from pgsched.jobs where run_at >= ${new Date(killedAt.getTime() + 2_000)}`)
          .length > 0,
      10_000,
    );
    await stop(second);
    // The gap during the handover was seconds (within misfireGrace): every occurrence was enqueued once.
    const [rows] = await expectContiguousSeconds();
    expect(rows!.n).toBeGreaterThanOrEqual(4);
  });
});
