import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pgsched } from '../src/index.js';
import { countByState, testLogger, waitFor } from './support/db.js';
import { type RestartMode, restartPostgres } from './support/faults.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from './support/postgres-server.js';
import { startWorkerProcess, type WorkerProcess } from './support/processes.js';

// Restarts Postgres, so this file runs its own server, never the shared one.
let server: ThrowawayPostgres;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  server = await startThrowawayPostgres();
});

afterAll(async () => {
  await worker?.kill();
  await server.destroy();
});

const JOBS = 20_000;
const FAULTS: RestartMode[] = ['fast', 'immediate', 'fast', 'immediate', 'fast', 'immediate'];

describe('database restarts under a worker process (no error handlers anywhere)', () => {
  it('3 × restart -m fast and 3 × stop -m immediate during a 20k drain: the process lives, every job completes', async () => {
    const sql = postgres(server.url, { max: 2, onnotice: () => {} });
    const q = new Pgsched({ sql, logger: testLogger });
    await q.migrate();
    const ids = await q.enqueueMany(
      'brief',
      Array.from({ length: JOBS }, (_, i) => ({ i })),
    );
    await sql.end();

    worker = await startWorkerProcess({ DATABASE_URL: server.url, CONCURRENCY: '10', VISIBILITY_MS: '3000' });
    const progress = () => new Set(worker!.ran).size;
    const doneAtFault: number[] = [];
    for (const [i, mode] of FAULTS.entries()) {
      // Spread the faults over the drain: each one after another seventh of the jobs has run.
      await waitFor(() => progress() >= ((i + 1) * JOBS) / (FAULTS.length + 1), 90_000, 20);
      doneAtFault.push(progress());
      await restartPostgres(server, mode);
    }

    const check = postgres(server.url, { max: 1, onnotice: () => {} });
    await waitFor(async () => (await countByState(check)).completed === JOBS, 120_000, 200);
    expect(await countByState(check)).toEqual({ completed: JOBS });
    // Every fault hit the drain while jobs were still waiting.
    expect(doneAtFault.every((n) => n < JOBS)).toBe(true);
    await waitFor(() => progress() === JOBS, 5_000);
    expect(new Set(worker.ran)).toEqual(new Set(ids));
    expect(worker.child.exitCode).toBeNull(); // the host process is alive...
    expect(worker.child.signalCode).toBeNull();
    await worker.stop(); // ...and still stops gracefully
    expect(worker.child.exitCode).toBe(0);
    await check.end();
  }, 240_000);

  it('a limited and grouped queue: restarts while its claims ride on settles; the limits hold, every job completes', async () => {
    const LIMITED = 4_000;
    const sql = postgres(server.url, { max: 2, onnotice: () => {} });
    const q = new Pgsched({ sql, logger: testLogger });
    await q.migrate();
    await q.setQueue('limited', { concurrency: 8, groupConcurrency: 1 });
    const ids: string[] = [];
    for (let g = 0; g < 20; g++) {
      const payloads = Array.from({ length: LIMITED / 20 }, (_, i) => ({ i }));
      ids.push(...(await q.enqueueMany('brief', payloads, { queue: 'limited', group: `g${g}` })));
    }
    worker = await startWorkerProcess({
      DATABASE_URL: server.url,
      CONCURRENCY: '10',
      VISIBILITY_MS: '3000',
      QUEUES: 'limited',
    });
    const ranBefore = new Set(worker.ran).size;
    const progress = () => new Set(worker!.ran).size - ranBefore;
    // The limits, from the handlers: jobs claimed ahead of the worker's permits or of a group's
    // free slot wait in its buffer (running in the table, not started).
    for (const [i, mode] of (['fast', 'immediate'] as RestartMode[]).entries()) {
      await waitFor(() => progress() >= ((i + 1) * LIMITED) / 3, 90_000, 20);
      await restartPostgres(server, mode);
    }
    await waitFor(async () => (await q.getQueue('limited')).counts.completed === LIMITED, 120_000, 200);
    const most = (key: string) => Math.max(...worker!.messages.map((m) => Number(m[key] ?? 0)));
    expect(most('most')).toBeGreaterThan(1);
    expect(most('most')).toBeLessThanOrEqual(8);
    expect(most('mostInGroup')).toBe(1);
    await waitFor(() => {
      const ran = new Set(worker!.ran);
      return ids.every((id) => ran.has(id));
    }, 5_000);
    expect(worker.child.exitCode).toBeNull();
    await worker.stop();
    expect(worker.child.exitCode).toBe(0);
    await sql.end();
  }, 240_000);
});
