import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { PgschedValidationError } from '../src/index.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

/** pgsched's own sessions in this test file's database (application_name `pgsched <role>`). */
async function pgschedSessions(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name like 'pgsched %'`;
  return row!.n;
}

describe('leader lease and start/stop', () => {
  it('a start() that fails half-way leaves nothing running, and a later start() works', async () => {
    const q = db.pgsched();
    q.define('lease-noop', async () => {});
    // The worker and the leader start first; LISTEN on an unreachable URL fails last.
    await expect(
      q.start({ listenUrl: 'postgres://nobody:x@127.0.0.1:1/none', pollInterval: 100 }),
    ).rejects.toThrow();
    expect(q.isLeader).toBe(false);
    await waitFor(async () => (await pgschedSessions()) === 0, 5_000);
    const id = await q.enqueue('lease-noop', {});
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await q.getJob(id))?.state).toBe('pending'); // no worker loop was left behind
    expect(await pgschedSessions()).toBe(0);
    await q.start({ pollInterval: 100 });
    await waitFor(async () => (await q.getJob(id))?.state === 'completed', 10_000);
    await q.stop();
    await waitFor(async () => (await pgschedSessions()) === 0, 5_000);
  });

  it("a dead leader's lease whose server pid now belongs to another session still ends at its expiry", async () => {
    const other = postgres(db.url, { max: 1, onnotice: () => {} });
    const [{ pid }] = (await other`select pg_backend_pid() as pid`) as unknown as [{ pid: number }];
    await db.sql`
      insert into pgsched.leader (holder, expires_at, acquired_at, backend_pid)
      values ('gone:1:dead', now() + interval '2 seconds', now(), ${pid})
      on conflict (singleton) do update set holder = excluded.holder, expires_at = excluded.expires_at,
        backend_pid = excluded.backend_pid`;
    const started = Date.now();
    const q = db.pgsched();
    await q.start({ leaderTimeout: '3s' });
    await new Promise((r) => setTimeout(r, 1_200));
    expect(q.isLeader).toBe(false); // the recorded process is alive: no early takeover
    await waitFor(() => q.isLeader, 5_000, 20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(Date.now() - started).toBeLessThan(4_500);
    await q.stop();
    await other.end();
  });

  it('stop() hands the lease to a follower at its next tick, not after the timeout', async () => {
    const a = db.pgsched();
    const b = db.pgsched();
    await a.start({ leaderTimeout: '30s' });
    await waitFor(() => a.isLeader, 5_000, 20);
    await b.start({ leaderTimeout: '30s' });
    await new Promise((r) => setTimeout(r, 1_200));
    expect(b.isLeader).toBe(false);
    const stopped = Date.now();
    await a.stop();
    await waitFor(() => b.isLeader, 5_000, 20);
    expect(Date.now() - stopped).toBeLessThan(2_500);
    await b.stop();
  });

  it('rejects a leaderTimeout outside 1s–5m, naming the field', async () => {
    const q = db.pgsched();
    for (const leaderTimeout of ['500ms', '6m', -1, 'soon']) {
      const error = await q.start({ leaderTimeout }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PgschedValidationError);
      expect((error as PgschedValidationError).field).toBe('start.options.leaderTimeout');
    }
    expect(q.isLeader).toBe(false);
  });
});
