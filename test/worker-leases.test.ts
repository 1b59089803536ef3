import { beforeAll, describe, expect, it } from 'vitest';
import { createQueries } from '../src/queries.js';
import { toSettleBatch } from '../src/worker/settlement.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

describe('lost leases', () => {
  it('when a running and a prefetched job are both taken back, neither stale attempt starts a handler', async () => {
    const q = db.pgsched();
    const starts: string[] = [];
    let aborted = 0;
    q.define(
      'lease-pair',
      async (p: { name: string }, ctx) => {
        starts.push(`${p.name}#${ctx.job.attempt}`);
        if (p.name === 'x' && ctx.job.attempt === 1) {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
          aborted++;
        }
      },
      { visibilityTimeout: '1500ms' },
    );
    // One slot plus one prefetched: x runs (and hangs), then y is claimed and waits in the buffer.
    // (Enqueued together, two claims in flight could bring y back first and start it.)
    const x = await q.enqueue('lease-pair', { name: 'x' }, { priority: 0 });
    await q.start({ concurrency: 1, prefetch: 1, pollInterval: 50 });
    await waitFor(() => starts.length === 1);
    const y = await q.enqueue('lease-pair', { name: 'y' }, { priority: 1 });
    await waitFor(async () => {
      const rows = await db.sql`select id from pgsched.jobs where state = 'running' and id in (${x}, ${y})`;
      return rows.length === 2 && starts.length === 1;
    });
    // What the rescuer (or a cancel missed while LISTEN was down) does to both; the heartbeat
    // (every 500 ms here) finds both leases gone at once.
    await db.sql`
      update pgsched.jobs set state = 'pending', locked_by = null, locked_until = null where id in (${x}, ${y})`;
    await waitFor(async () => {
      const rows = await db.sql`select id from pgsched.jobs where state = 'completed' and id in (${x}, ${y})`;
      return rows.length === 2;
    }, 10_000);
    await q.stop();
    expect(aborted).toBe(1);
    expect(starts.sort()).toEqual(['x#1', 'x#2', 'y#2']);
  });

  it('a settle written again after a lost reply cannot touch the next claim of a snoozed job', async () => {
    const { id, queries, defaults, claimed: first } = await enqueueAndClaim('lease-snooze');
    // The snooze gives the attempt back; its reply is "lost", so the worker will send it again.
    const snooze = {
      id,
      attempt: first.attempt,
      claimedAt: first.claimed_at,
      state: 'pending' as const,
      delayMs: 0,
      refund: true,
    };
    expect(await queries.settle('w', toSettleBatch([snooze]), false)).toHaveLength(1);
    const [second] = await queries.claim('w', 10, null, defaults);
    expect(second!.attempt).toBe(first.attempt); // same worker, same attempt number: only the claim differs
    expect(second!.claimed_at).not.toBe(first.claimed_at);
    expect(await queries.settle('w', toSettleBatch([snooze]), false)).toHaveLength(0);
    const [row] = await db.sql`select state::text as state, attempt from pgsched.jobs where id = ${id}`;
    expect(row).toEqual({ state: 'running', attempt: first.attempt });
  });

  for (const deleteCompleted of [true, false]) {
    it(`a settle that waits behind a heartbeat still writes the row it owns (completed ${deleteCompleted ? 'deleted' : 'kept'})`, async () => {
      const { id, queries, claimed } = await enqueueAndClaim('lease-race');
      const done = {
        id,
        attempt: claimed.attempt,
        claimedAt: claimed.claimed_at,
        state: 'completed' as const,
        resultJson: '{"ok":true}',
      };
      // A heartbeat holds the row (and leaves a newer row version) while the settle starts.
      const heartbeat = await db.sql.reserve();
      try {
        await heartbeat`begin`;
        await heartbeat`update pgsched.jobs set locked_until = now() + interval '1 minute' where id = ${id}`;
        const settling = queries.settle('w', toSettleBatch([done], !deleteCompleted), deleteCompleted);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await heartbeat`commit`;
        expect(await settling).toEqual([{ id }]);
      } finally {
        heartbeat.release();
      }
      const rows = await db.sql`select state::text as state from pgsched.jobs where id = ${id}`;
      expect(rows).toEqual(deleteCompleted ? [] : [{ state: 'completed' }]);
    });
  }
});

/** One job of `name`, enqueued and claimed by worker 'w' through the hot-path statements. */
async function enqueueAndClaim(name: string) {
  const id = await db.pgsched().enqueue(name, {});
  const queries = createQueries(db.sql, 'pgsched');
  const defaults = { names: [name], maxAttempts: [5], visibilityMs: [30_000], atMostOnce: [0] };
  const [claimed] = await queries.claim('w', 10, null, defaults);
  if (claimed?.id !== id) throw new Error(`expected to claim job ${id}, got ${claimed?.id}`);
  return { id, queries, defaults, claimed };
}
