/**
 * Raw-SQL baseline: pgsched's own claim and settle statements (imported from src/queries.ts, so
 * they cannot drift) in a tight loop, with no handler and none of the worker around them. One connection claims, another completes, pipelined: batch k+1 is claimed while
 * batch k is being completed. This bounds what any worker built on these statements can do.
 */

import { pino } from 'pino';
import { ownClient } from '../../src/connections.ts';
import { createQueries } from '../../src/queries.ts';
import { toSettleBatch } from '../../src/worker/settlement.ts';
import { createDatabase, type Server, settle } from './db.ts';
import { log } from './log.ts';
import { pgjs } from './pg.ts';

const silent = pino({ level: 'silent' });

import { rate } from './stats.ts';
import { pgsched } from './systems/pgsched.ts';

/** The claim defaults pgsched's worker passes for one job name with default options. */
const DEFAULTS = { names: ['noop'], maxAttempts: [25], visibilityMs: [30_000], atMostOnce: [0] };

const WORKER_ID = 'raw-sql-baseline';

export interface RawResult {
  batch: number;
  /** Completed rows deleted (pgsched with retention.completed 0) rather than kept. */
  deleteCompleted: boolean;
  drainMs: number;
  drainRate: number;
}

/** Fills a fresh database through pgsched (migrate + enqueueMany), then drains it with the raw loop. */
export async function measureRaw(
  server: Server,
  { jobs, analyze }: { jobs: number; analyze: boolean },
  batch: number,
  deleteCompleted: boolean,
  tag: string,
): Promise<RawResult> {
  const db = await createDatabase(server, `bench_raw_${batch}_${process.pid}`);
  const setup = pgjs(db.url, { max: 1 });
  // The connections a pgsched worker opens for itself (src/connections.ts), one for each loop.
  const claimer = ownClient(pgjs(db.url), 1, silent, 'raw-claim');
  const completer = ownClient(pgjs(db.url), 1, silent, 'raw-settle');
  try {
    const producer = await pgsched.producer(db.url); // pgsched's migrate() and enqueueMany()
    for (let start = 0; start < jobs; start += 1000) {
      const size = Math.min(1000, jobs - start);
      await producer.enqueueBatch(Array.from({ length: size }, (_, k) => ({ i: start + k })));
    }
    await producer.close();
    await settle(setup, analyze);
    await Promise.all([claimer`select 1`, completer`select 1`]);

    const claimQueries = createQueries(claimer, 'pgsched');
    const settleQueries = createQueries(completer, 'pgsched');
    const claim = () => claimQueries.claim(WORKER_ID, batch, null, DEFAULTS);
    // The worker's own batch builder: what it sends for a batch of plain completions.
    const complete = (rows: { id: string; attempt: number; claimed_at: string }[]) =>
      settleQueries.settle(
        WORKER_ID,
        toSettleBatch(
          rows.map((r) => ({
            id: r.id,
            attempt: r.attempt,
            claimedAt: r.claimed_at,
            state: 'completed',
            resultJson: 'null',
          })),
          !deleteCompleted,
        ),
        deleteCompleted,
      );

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

    const [{ kept, left }] = (await setup`
      select count(*) filter (where state = 'completed')::int as kept, count(*)::int as left from pgsched.jobs`) as [
      { kept: number; left: number },
    ];
    const n = deleteCompleted ? jobs - left : kept;
    if (n !== jobs || (deleteCompleted && kept !== 0)) throw new Error(`raw baseline completed ${n}/${jobs}`);
    log(
      `${tag} raw SQL batch ${batch}${deleteCompleted ? ', delete' : ', keep'}: ${jobs} jobs in ${Math.round(drainMs)} ms (verified ${n} completed)`,
    );
    return { batch, deleteCompleted, drainMs, drainRate: rate(jobs, drainMs) };
  } finally {
    await Promise.all([setup.end(), claimer.end(), completer.end()]);
    await db.drop();
  }
}
