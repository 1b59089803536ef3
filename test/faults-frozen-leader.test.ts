import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';
import { startWorkerProcess, type WorkerProcess } from './support/processes.js';

let db: TestDb;
let q: Pgsched;
const procs: WorkerProcess[] = [];

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

afterAll(async () => {
  for (const p of procs)
    if (p.child.signalCode === 'SIGSTOP' || p.child.exitCode === null) p.child.kill('SIGCONT');
  await Promise.all(procs.map((p) => p.kill()));
});

const LEADER_TIMEOUT_MS = 3_000;

describe('a frozen leader (SIGSTOP)', () => {
  it('loses leadership within the leader timeout; another process rescues and fires; the old one runs no duty after waking', async () => {
    const env = { DATABASE_URL: db.url, LEADER_TIMEOUT_MS: String(LEADER_TIMEOUT_MS), POLL_MS: '200' };
    const a = await startWorkerProcess({ ...env, QUEUES: 'default', LEADER_LOG: '1' });
    procs.push(a);
    await a.waitFor((m) => m.leader === true, 15_000);
    const b = await startWorkerProcess({ ...env, QUEUES: 'default' });
    procs.push(b);
    // A worker that will die holding a job: only it serves the `doomed` queue, and it is no leader.
    const doomed = await startWorkerProcess({ ...env, QUEUES: 'doomed', LEADER: '0', VISIBILITY_MS: '1500' });
    procs.push(doomed);
    const jobId = await q.enqueue('hang', {}, { queue: 'doomed' });
    await doomed.waitFor((m) => m.started === jobId);
    await doomed.kill();

    await q.schedule('every-second', { every: '1s', job: 'record' });
    await waitFor(async () => (await occurrences()).length >= 2, 10_000, 50);

    // Freeze the leader: it keeps its connections (and whatever a session lock would hold).
    a.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    await b.waitFor((m) => m.leader === true, LEADER_TIMEOUT_MS + 5_000);
    const tookOverMs = Date.now() - frozenAt;
    process.stderr.write(`[frozen-leader] took over after ${tookOverMs} ms\n`);
    expect(tookOverMs).toBeLessThan(LEADER_TIMEOUT_MS + 2_000);

    // The new leader's rescuer takes the dead worker's job back (the frozen one cannot).
    const rescued = await waitFor(async () => {
      const job = await q.getJob(jobId);
      return job?.state === 'pending' && job.errors.length === 1 ? job : undefined;
    }, 10_000);
    expect(rescued!.errors[0]).toMatchObject({ attempt: 1, kind: 'lease-expired' });
    // ...and its ticker fires the schedule: an occurrence enqueued while A is still frozen.
    await waitFor(async () =>
      (await occurrences()).some((o) => o.created.getTime() > frozenAt + tookOverMs - 500),
    );

    // The log channel works: A reported its duty runs while it led.
    expect(a.messages.some((m) => m.log === 'leader duty starting' && Number(m.at) < frozenAt)).toBe(true);
    const seenBeforeWake = a.messages.length;
    const wokeAt = Date.now();
    a.child.kill('SIGCONT');
    // The old leader re-verifies, finds the lease taken, and steps down without running a duty.
    const lost = await a.waitFor(
      (m) => m.log === 'leader lease lost to another process' && Number(m.at) >= wokeAt,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    const afterWake = a.messages.filter((m) => typeof m.log === 'string' && Number(m.at) >= wokeAt);
    expect(afterWake.filter((m) => m.log === 'leader duty starting')).toEqual([]);
    expect(lost).toBeDefined();
    expect(a.messages.slice(seenBeforeWake).filter((m) => m.leader === true)).toEqual([]);
    expect(b.child.exitCode).toBeNull();
    // A direct connection hears its own LISTEN probe: no pooler warning.
    expect(a.messages.filter((m) => String(m.log).startsWith('LISTEN receives no'))).toEqual([]);

    // No occurrence was enqueued twice, and the schedule kept firing (no gap past the timeout).
    const fired = await occurrences();
    expect(new Set(fired.map((o) => o.fireAt.getTime())).size).toBe(fired.length);
    const gaps = fired.slice(1).map((o, i) => o.fireAt.getTime() - fired[i]!.fireAt.getTime());
    expect(Math.max(...gaps)).toBe(1_000);
  }, 90_000);
});

async function occurrences() {
  const rows = await db.sql<{ fire_at: Date; created_at: Date }[]>`
    select fire_at, created_at from pgsched.jobs where schedule = 'every-second' order by fire_at`;
  return rows.map((r) => ({ fireAt: r.fire_at, created: r.created_at }));
}
