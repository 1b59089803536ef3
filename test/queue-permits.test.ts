import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';
import {
  createFlowLog,
  type FlowWorker,
  killAll,
  maxOverlap,
  spawnFlowWorker,
} from './support/flow-workers.js';

let db: TestDb;
let q: Pgsched;
let procs: FlowWorker[] = [];

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
  await createFlowLog(db.sql);
});

afterEach(async () => {
  await killAll(procs);
  procs = [];
});

async function spawn(env: Record<string, string> = {}): Promise<FlowWorker> {
  const proc = await spawnFlowWorker({ DATABASE_URL: db.url, CONCURRENCY: '10', ...env });
  procs.push(proc);
  return proc;
}

/** The permits each process holds on `queue`, by pid (worker ids are host:pid:random). */
async function heldBy(queue: string): Promise<Map<number, number>> {
  const rows = await db.sql<{ pid: number; held: number }[]>`
    select (regexp_match(worker, ':([0-9]+):[^:]*$'))[1]::int as pid, held from pgsched.queue_permits
    where queue = ${queue} and expires_at > clock_timestamp()`;
  return new Map(rows.map((r) => [r.pid, r.held]));
}

const ranIn = async (queue: string, pid: number) =>
  (await db.sql`select 1 from flow_log where queue = ${queue} and pid = ${pid} limit 1`).length > 0;

const finished = async (queue: string) =>
  (await db.sql<{ n: number }[]>`select count(*)::int as n from flow_log where queue = ${queue}`)[0]!.n;

describe('queue concurrency as permits, across worker processes', () => {
  it('a worker that joins gets its share within 3 s, and the limit holds throughout', async () => {
    await q.setQueue('shared', { concurrency: 4 });
    const work = () =>
      q.enqueueMany(
        'tracked',
        Array.from({ length: 200 }, () => ({ ms: 50 })),
        { queue: 'shared' },
      );
    const a = await spawn();
    // Alone, the first worker takes the whole limit (each process has 10 slots), and runs.
    await waitFor(async () => (await heldBy('shared')).get(a.child.pid!) === 4, 5_000, 20);
    await work();
    const b = await spawn();
    const joined = Date.now();
    // Even shares once the first has given two back (a shrink lands in two renewals).
    await waitFor(
      async () => {
        const held = await heldBy('shared');
        return held.get(a.child.pid!) === 2 && held.get(b.child.pid!) === 2;
      },
      5_000,
      20,
    );
    expect(Date.now() - joined).toBeLessThan(3_000);
    // More work than either could drain alone before the other starts (however slow the start).
    const since = new Date();
    await work();
    await waitFor(async () => (await finished('shared')) === 400, 20_000, 50);
    expect(await maxOverlap(db.sql, 'shared')).toBe(4);
    expect(await maxOverlap(db.sql, 'shared', { pid: a.child.pid!, since })).toBe(2);
    expect(await maxOverlap(db.sql, 'shared', { pid: b.child.pid!, since })).toBe(2);
  });

  it('a frozen worker’s permits go to the others once its lease ends, not before; a killed one’s stay there', async () => {
    await q.setQueue('frozen', { concurrency: 2 });
    await q.enqueueMany(
      'tracked',
      Array.from({ length: 150 }, () => ({ ms: 100 })),
      { queue: 'frozen' },
    );
    // Leases of 2 s: the frozen worker's jobs stop counting after that, its permits after 5 s.
    const [a, b] = await Promise.all([spawn({ VISIBILITY_MS: '2000' }), spawn({ VISIBILITY_MS: '2000' })]);
    const [pa, pb] = [a!.child.pid!, b!.child.pid!];
    await waitFor(async () => (await ranIn('frozen', pa)) && (await ranIn('frozen', pb)), 10_000, 20);
    await waitFor(async () => (await heldBy('frozen')).get(pb) === 1, 5_000, 20);
    a!.child.kill('SIGSTOP');
    const frozenAt = new Date();
    await waitFor(async () => (await heldBy('frozen')).get(pb) === 2, 10_000, 50);
    const elapsed = Date.now() - frozenAt.getTime();
    // The lease is 5 s from the frozen worker's last renewal (half a second before the freeze, or
    // more on a loaded machine); its jobs' own leases (2 s) ran out long before.
    expect(elapsed).toBeGreaterThan(3_000);
    expect(elapsed).toBeLessThan(8_000);
    a!.child.kill('SIGKILL');
    await waitFor(async () => (await finished('frozen')) === 150, 30_000, 50);
    // Alone, the other ran both permits' worth and never more.
    const sinceFrozen = { pid: pb, since: frozenAt };
    expect(await maxOverlap(db.sql, 'frozen', sinceFrozen)).toBe(2);
    expect((await heldBy('frozen')).get(pa)).toBeUndefined();
  });

  it('a raised limit is taken up within 2 s; a removed one leaves the queue unlimited', async () => {
    await q.setQueue('changing', { concurrency: 1 });
    await q.enqueueMany(
      'tracked',
      Array.from({ length: 300 }, () => ({ ms: 100 })),
      { queue: 'changing' },
    );
    const a = await spawn();
    await waitFor(async () => (await finished('changing')) >= 3, 5_000, 20);
    const raisedAt = new Date();
    await q.setQueue('changing', { concurrency: 5 });
    await waitFor(async () => (await heldBy('changing')).get(a.child.pid!) === 5, 3_000, 20);
    const grownAt = new Date();
    // NOTIFY, the policy read, then the next renewal (every 500 ms).
    expect(grownAt.getTime() - raisedAt.getTime()).toBeLessThan(2_000);
    const before = await finished('changing');
    await waitFor(async () => (await finished('changing')) >= before + 30, 5_000, 20);
    expect(await maxOverlap(db.sql, 'changing', { since: grownAt })).toBe(5);
    await q.setQueue('changing', { concurrency: null });
    // The worker's 10 slots, once the limit is gone (within a renewal).
    const freedAt = new Date(Date.now() + 1_000);
    await waitFor(async () => (await finished('changing')) === 300, 10_000, 20);
    expect(await maxOverlap(db.sql, 'changing', { since: freedAt })).toBe(10);
    expect(await heldBy('changing')).toEqual(new Map());
  });
});
