import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pgsched } from '../src/index.js';
import { type TestDb, testLogger, useTestDb, waitFor } from './support/db.js';
import { havePgBouncer, PGBOUNCER, type PgBouncer, startPgBouncer } from './support/pgbouncer.js';
import { startWorkerProcess, type WorkerProcess } from './support/processes.js';

// CI installs Debian's pgbouncer (.ci/run); a machine where it cannot be installed says so here.
if (!havePgBouncer())
  process.stderr.write(`[pgsched tests] SKIPPED test/pgbouncer.test.ts: no ${PGBOUNCER}\n`);

let db: TestDb;
let bouncer: PgBouncer;
const procs: WorkerProcess[] = [];

describe.runIf(havePgBouncer())('through PgBouncer in transaction mode (2 server connections)', () => {
  beforeAll(async () => {
    db = await useTestDb();
    bouncer = await startPgBouncer(db.url, 2);
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await bouncer?.stop();
  });

  it('two instances drain every job exactly once, never lead at once, and fire a schedule made elsewhere on time', async () => {
    // Exactly as the README's PgBouncer section says: prepare: false, start({ pollOnly: true }).
    const sql = postgres(bouncer.url, { prepare: false, max: 4, onnotice: () => {} });
    const q = new Pgsched({ sql, logger: testLogger });
    await q.migrate();
    const ids = await q.enqueueMany(
      'record',
      Array.from({ length: 3_000 }, (_, i) => ({ i })),
    );
    const env = {
      DATABASE_URL: bouncer.url,
      PREPARE: '0',
      POLL_ONLY: '1',
      POLL_MS: '200',
      LEADER_TIMEOUT_MS: '3000',
    };
    const a = await startWorkerProcess(env);
    const b = await startWorkerProcess(env);
    // Started without pollOnly, as a user who missed the README's advice would: it must say so.
    const { POLL_ONLY: _pollOnly, ...withListen } = env;
    const c = await startWorkerProcess({ ...withListen, QUEUES: 'idle', LEADER: '0', LEADER_LOG: '1' });
    procs.push(a, b, c);

    // Ask both processes at the same moments whether they lead, every 50 ms, for the whole test.
    const samples: [boolean, boolean][] = [];
    let sampling = true;
    const sampler = (async () => {
      for (let n = 0; sampling; n++) {
        const asked = [a, b].map(async (p) => {
          // A process that has stopped leads nothing; one still running must answer.
          const gone = () => !p.child.connected || p.child.exitCode !== null;
          if (gone()) return false;
          try {
            p.child.send({ sample: n });
            return (await p.waitFor((m) => m.sample === n || m.stopped === true, 5_000)).isLeader === true;
          } catch (error) {
            if (gone()) return false;
            throw error;
          }
        });
        const [la, lb] = await Promise.all(asked);
        samples.push([la!, lb!]);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    await waitFor(() => a.ran.length + b.ran.length >= ids.length, 60_000, 50);
    // A schedule created by a third instance (this one, not started) fires through the leader,
    // which has no LISTEN: it must notice the new schedule by polling.
    const at = new Date(Date.now() + 2_500);
    await q.schedule('through-bouncer', { at: at.toISOString(), job: 'record' });
    const fired = await waitFor(async () => {
      const [row] = await sql<{ created_at: Date }[]>`
        select created_at from pgsched.jobs where schedule = 'through-bouncer'`;
      return row;
    }, 10_000);
    expect(fired!.created_at.getTime() - at.getTime()).toBeLessThan(1_500);
    expect(fired!.created_at.getTime()).toBeGreaterThanOrEqual(at.getTime() - 50);

    // A handover: the leader stops gracefully and the other takes over, still never both at once.
    const leader = samples.at(-1)![0] ? a : b;
    const follower = leader === a ? b : a;
    const handoverFrom = samples.length;
    await leader.stop();
    await waitFor(() => samples.slice(handoverFrom).some(([x, y]) => (follower === a ? x : y)), 10_000, 50);
    sampling = false;
    await sampler;

    expect(samples.length).toBeGreaterThan(40);
    expect(samples.filter(([x, y]) => x && y)).toEqual([]);
    const led = samples.filter(([x, y]) => x || y).length;
    expect(led / samples.length).toBeGreaterThan(0.8);

    const warned = await c.waitFor(
      (m) => typeof m.log === 'string' && m.log.startsWith('LISTEN receives no'),
      15_000,
    );
    expect(warned.log).toContain('pollOnly');
    const enqueued = new Set(ids);
    const runsOfEnqueued = () => [...a.ran, ...b.ran].filter((id) => enqueued.has(id));
    await waitFor(() => new Set(runsOfEnqueued()).size === ids.length, 5_000);
    const runs = runsOfEnqueued();
    expect(runs.length).toBe(ids.length); // exactly once: no job ran twice
    expect(new Set(runs)).toEqual(new Set(ids));
    const [counts] = await sql<{ completed: number }[]>`
      select count(*) filter (where state = 'completed')::int as completed from pgsched.jobs
      where schedule is null`;
    expect(counts!.completed).toBe(ids.length);
    await sql.end();
  }, 120_000);
});
