import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countByState, type TestDb, useTestDb, waitFor } from './support/db.js';
import { startWorkerProcess, type WorkerProcess } from './support/processes.js';

let db: TestDb;
const procs: WorkerProcess[] = [];

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill()));
  await db.sql`delete from pgsched.jobs`;
});

async function spawn(env: Record<string, string> = {}) {
  const proc = await startWorkerProcess({ DATABASE_URL: db.url, ...env });
  procs.push(proc);
  return proc;
}

describe('separate worker processes', () => {
  it('4 processes drain 20,000 jobs, each run exactly once', async () => {
    // All four started before the jobs exist: a worker claiming hundreds at a time drains 20,000
    // no-op jobs in about a second, less than a forked process can take to start on a busy machine.
    const workers = await Promise.all([1, 2, 3, 4].map(() => spawn({ CONCURRENCY: '50' })));
    const ids = await db.pgsched().enqueueMany(
      'record',
      Array.from({ length: 20_000 }, (_, i) => ({ i })),
    );
    await waitFor(async () => (await countByState(db.sql)).completed === 20_000, 60_000, 100);
    await Promise.all(workers.map((w) => w.stop()));
    const runs = workers.flatMap((w) => w.ran);
    expect(runs).toHaveLength(20_000);
    expect(new Set(runs)).toEqual(new Set(ids));
    // every process did part of the work
    for (const w of workers) expect(w.ran.length).toBeGreaterThan(0);
    expect(await countByState(db.sql)).toEqual({ completed: 20_000 });
    const [row] = await db.sql`select max(attempt) as max, min(attempt) as min from pgsched.jobs`;
    expect(row).toEqual({ max: 1, min: 1 });
  });

  it('a job whose worker is SIGKILLed is completed by another worker after its visibility timeout', async () => {
    const victim = await spawn({ VISIBILITY_MS: '2000' });
    const [id] = await db.pgsched().enqueueMany('hang', [{}]);
    await victim.waitFor((m) => m.started === id);
    const killedAt = Date.now();
    await victim.kill();
    const survivor = await spawn({ VISIBILITY_MS: '2000', HANG: '0' });
    const done = await survivor.waitFor((m) => m.finished === id, 20_000);
    expect(done.attempt).toBe(2);
    await waitFor(async () => (await db.pgsched().getJob(id!))?.state === 'completed');
    const job = (await db.pgsched().getJob(id!))!;
    expect(job.attempt).toBe(2);
    expect(job.result).toEqual({ by: survivor.child.pid });
    expect(job.errors).toHaveLength(1);
    expect(job.errors[0]).toMatchObject({ attempt: 1, kind: 'lease-expired' });
    // rescued within a couple of seconds of the 2 s lease expiring
    expect(Date.now() - killedAt).toBeLessThan(2_000 + 5_000);
  });

  it('an at-most-once job whose worker is SIGKILLed ends failed and never runs twice', async () => {
    const victim = await spawn({ VISIBILITY_MS: '1000' });
    const [id] = await db.pgsched().enqueueMany('hang-once', [{}]);
    await victim.waitFor((m) => m.started === id);
    await victim.kill();
    const survivor = await spawn({ VISIBILITY_MS: '1000' });
    await waitFor(async () => (await db.pgsched().getJob(id!))?.state === 'failed', 15_000);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(survivor.messages.filter((m) => m.started === id)).toHaveLength(0);
    const job = (await db.pgsched().getJob(id!))!;
    expect(job).toMatchObject({ state: 'failed', attempt: 1 });
    expect(job.errors[0]).toMatchObject({ kind: 'lease-expired' });
  });

  it('when the leader is SIGKILLed another process takes over', async () => {
    const first = await spawn();
    await first.waitFor((m) => m.leader === true, 10_000);
    const second = await spawn();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(second.messages.some((m) => m.leader === true)).toBe(false);
    await first.kill();
    await second.waitFor((m) => m.leader === true, 10_000);
  });
});
