/**
 * The ceiling of a limited queue without a worker: pgsched's settle-and-claim statement
 * (`settle_and_claim_jobs`, the statement a worker sends when outcomes free room in a limit) in a
 * tight loop on pgsched's own connections, each cycle settling what the previous one claimed.
 *
 *   npx tsx bench/flow-cycle.ts                            # concurrency 50, then 100 groups
 *   npx tsx bench/flow-cycle.ts --only groups --lanes 2    # two loops side by side
 *
 * Reports jobs/s, the statement's time as the client sees it, and the time spent inside the
 * function (pg_stat_user_functions), per cycle. Uses DATABASE_URL when set (creates and drops
 * `bench_cycle_*` databases; needs a role allowed to set track_functions), else a throwaway
 * embedded PostgreSQL. Compare with `bench/flow-control.ts` (the same scenarios through a worker).
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ownClient } from '../src/connections.js';
import { Pgsched } from '../src/index.js';
import { createQueries } from '../src/queries.js';
import { toSettleBatch } from '../src/worker/settlement.js';
import { startThrowawayPostgres } from '../test/support/postgres-server.js';
import { pgjs } from './compare/pg.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    only: { type: 'string', default: 'concurrency,groups' },
    lanes: { type: 'string', default: '1' },
    /** The most one statement claims (a worker's claim limit). */
    batch: { type: 'string', default: '500' },
  },
});
const JOBS = Number(args.jobs);
const LANES = Number(args.lanes);
const silent = pino({ level: 'silent' });
const DEFAULTS = { names: ['noop'], maxAttempts: [25], visibilityMs: [30_000], atMostOnce: [0] };

const server = process.env.DATABASE_URL
  ? { url: process.env.DATABASE_URL, destroy: async () => {} }
  : await startThrowawayPostgres();
try {
  for (const scenario of args.only.split(',')) {
    const name = `bench_cycle_${scenario}`;
    const admin = pgjs(server.url, { max: 1 });
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
    await admin.unsafe(`alter database "${name}" set track_functions = 'all'`);
    const url = new URL(server.url);
    url.pathname = `/${name}`;
    const user = pgjs(url.toString(), { max: 2 });
    const q = new Pgsched({ sql: user, logger: silent });
    await q.migrate();
    const payloads = Array.from({ length: 1_000 }, (_, i) => ({ i }));
    for (let done = 0; done < JOBS; done += 1_000) await q.enqueueMany('noop', payloads, { queue: 'bench' });
    // The flow-control bench's scenarios: a queue limit of 50, or 100 groups of one at a time.
    if (scenario === 'concurrency') await q.setQueue('bench', { concurrency: 50 });
    if (scenario === 'groups') {
      await user`update pgsched.jobs set group_key = 'g' || (id % 100)`;
      // The update leaves every row's old index entries behind, which claims would step over until
      // autovacuum came; jobs enqueued with their group leave none.
      await user`vacuum pgsched.jobs`;
      await q.setQueue('bench', { groupConcurrency: 1 });
    }
    await user`analyze`;
    await user`checkpoint`;
    let settled = 0;
    let cycles = 0;
    let statementMs = 0;
    const lane = async () => {
      const sql = ownClient(user, 1, silent, 'cycle');
      const queries = createQueries(sql, 'pgsched');
      let held: { id: string; attempt: number; claimed_at: string }[] = [];
      let idle = 0;
      while (settled < JOBS && idle < 100) {
        const outcomes = held.map((r) => ({
          id: r.id,
          attempt: r.attempt,
          claimedAt: r.claimed_at,
          state: 'completed' as const,
        }));
        const sent = performance.now();
        const rows = await queries.settleAndClaim('bench-cycle', toSettleBatch(outcomes, false), true, {
          limit: Number(args.batch),
          queues: null,
          defaults: DEFAULTS,
          // A worker holding all 50 permits of the limited queue, its earlier jobs settled here.
          caps: { queues: ['bench'], caps: [50] },
          groupAhead: 0,
        });
        statementMs += performance.now() - sent;
        cycles++;
        held = rows.filter((r) => r.settled === null);
        settled += rows.length - held.length;
        idle = held.length === 0 ? idle + 1 : 0;
      }
      await sql.end();
    };
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(Array.from({ length: LANES }, lane));
    const cpu = process.cpuUsage(cpu0);
    const seconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1_500)); // function statistics are sent when sessions end
    const fns = await user<{ name: string; ms: number }[]>`
      select funcname as name, (total_time / ${cycles})::float8 as ms from pg_stat_user_functions
      where funcname in ('settle_and_claim_jobs', 'settle_jobs', 'claim_jobs', 'flow_pick')`;
    const inside = (name: string) => (fns.find((f) => f.name === name)?.ms ?? 0).toFixed(2);
    console.log(
      `${scenario}, ${LANES} lane(s): ${Math.round(settled / seconds)} jobs/s; per cycle ` +
        `${(statementMs / cycles).toFixed(2)} ms as sent, ${inside('settle_and_claim_jobs')} ms in the ` +
        `function (settle ${inside('settle_jobs')}, claim ${inside('claim_jobs')}, of which picking ` +
        `${inside('flow_pick')}); this process's CPU ${((cpu.user + cpu.system) / 1000 / cycles).toFixed(2)} ms`,
    );
    await user.end();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
} finally {
  await server.destroy();
}
