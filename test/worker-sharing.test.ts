import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/split-worker.ts', import.meta.url));

let db: TestDb;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Started {
  started: string;
  at: number;
}

/** Forks a worker process with only `concurrency` set; resolves once it has started. */
async function worker(concurrency: number) {
  const child = fork(FIXTURE, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, DATABASE_URL: db.url, CONCURRENCY: String(concurrency) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const starts: Started[] = [];
  let ready = false;
  let stopped = false;
  child.on('message', (m: Record<string, unknown>) => {
    if (m.ready) ready = true;
    if (m.stopped) stopped = true;
    if (typeof m.started === 'string') starts.push(m as unknown as Started);
  });
  await waitFor(() => ready, 30_000);
  return {
    starts,
    async stop() {
      child.send({ stop: true });
      await waitFor(() => stopped, 10_000);
    },
  };
}

describe('work sharing between workers', () => {
  it('two workers with only concurrency set share 100 jobs of 200 ms: both busy within a second, split within ±25%', async () => {
    const [a, b] = await Promise.all([worker(5), worker(5)]);
    const t0 = Date.now();
    await db.pgsched().enqueueMany(
      'sleep-200',
      Array.from({ length: 100 }, (_, i) => ({ i })),
    );
    await waitFor(async () => {
      const [r] = await db.sql`select count(*)::int as n from pgsched.jobs where state = 'completed'`;
      return r!.n === 100;
    }, 30_000);
    await Promise.all([a.stop(), b.stop()]);

    // Every job ran exactly once.
    const ids = [...a.starts, ...b.starts].map((s) => s.started);
    expect(new Set(ids).size).toBe(100);
    expect(ids).toHaveLength(100);
    // Both busy within the first second (a worker hoarding the queue would leave the other idle).
    expect(Math.min(...a.starts.map((s) => s.at)) - t0).toBeLessThan(1_000);
    expect(Math.min(...b.starts.map((s) => s.at)) - t0).toBeLessThan(1_000);
    // 50 ± 25%.
    expect(a.starts.length).toBeGreaterThanOrEqual(38);
    expect(a.starts.length).toBeLessThanOrEqual(62);
    expect(b.starts.length).toBeGreaterThanOrEqual(38);
    expect(b.starts.length).toBeLessThanOrEqual(62);
  });
});
