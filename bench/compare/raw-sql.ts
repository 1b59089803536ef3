/**
 * Raw-SQL baseline: pgsched's claim and complete statements in a tight loop, no handler, no
 * library. One connection claims, another completes, pipelined: batch k+1 is claimed while
 * batch k is being completed. This bounds what any worker built on these statements can do.
 */
import { createDatabase, type Server, settle } from './db.ts';
import { log } from './log.ts';
import { pgjs } from './pg.ts';
import { rate } from './stats.ts';
import { pgsched } from './systems/pgsched.ts';

/** $1 batch size, $2 worker id. */
export const CLAIM_SQL = `
with next as (
  select id from pgsched.jobs
  where state = 'pending' and run_at <= now()
  order by priority, run_at, id
  limit $1 for update skip locked)
update pgsched.jobs j set state = 'running', attempt = j.attempt + 1, locked_by = $2,
  locked_until = now() + j.visibility_ms * interval '1 millisecond', started_at = now()
from next where j.id = next.id
returning j.id, j.attempt`;

/** $1 ids, $2 attempts (parallel arrays), $3 worker id. */
export const COMPLETE_SQL = `
update pgsched.jobs j set state = 'completed', finished_at = now(), locked_by = null, locked_until = null
from unnest($1::bigint[], $2::int[]) as v(id, attempt)
where j.id = v.id and j.attempt = v.attempt and j.locked_by = $3 and j.state = 'running'`;

const WORKER_ID = 'raw-sql-baseline';

export interface RawResult {
  batch: number;
  drainMs: number;
  drainRate: number;
}

/** Fills a fresh database through pgsched (migrate + enqueueMany), then drains it with the raw loop. */
export async function measureRaw(
  server: Server,
  { jobs, analyze }: { jobs: number; analyze: boolean },
  batch: number,
  tag: string,
): Promise<RawResult> {
  const db = await createDatabase(server, `bench_raw_${batch}_${process.pid}`);
  const setup = pgjs(db.url, { max: 1 });
  const claimer = pgjs(db.url, { max: 1 });
  const completer = pgjs(db.url, { max: 1 });
  try {
    const producer = await pgsched.producer(db.url); // pgsched's migrate() and enqueueMany()
    for (let start = 0; start < jobs; start += 1000) {
      const size = Math.min(1000, jobs - start);
      await producer.enqueueBatch(Array.from({ length: size }, (_, k) => ({ i: start + k })));
    }
    await producer.close();
    await settle(setup, analyze);
    await Promise.all([claimer`select 1`, completer`select 1`]);

    const claim = () =>
      claimer.unsafe<{ id: string; attempt: number }[]>(CLAIM_SQL, [batch, WORKER_ID], { prepare: true });
    const complete = (rows: { id: string; attempt: number }[]) =>
      completer.unsafe(COMPLETE_SQL, [rows.map((r) => r.id), rows.map((r) => r.attempt), WORKER_ID], {
        prepare: true,
      });

    const t0 = performance.now();
    let next = claim();
    let completing: Promise<unknown> = Promise.resolve();
    for (;;) {
      const rows = await next;
      if (rows.length === 0) break;
      next = claim();
      await completing; // at most one completion in flight
      completing = complete(rows);
      completing.catch(() => {}); // awaited on the next turn; an early failure must not go "unhandled"
    }
    await completing;
    const drainMs = performance.now() - t0;

    const [{ n }] = (await setup`select count(*)::int as n from pgsched.jobs where state = 'completed'`) as [
      { n: number },
    ];
    if (n !== jobs) throw new Error(`raw baseline completed ${n}/${jobs}`);
    log(`${tag} raw SQL batch ${batch}: ${jobs} jobs in ${Math.round(drainMs)} ms (verified ${n} completed)`);
    return { batch, drainMs, drainRate: rate(jobs, drainMs) };
  } finally {
    await Promise.all([setup.end(), claimer.end(), completer.end()]);
    await db.drop();
  }
}
