/**
 * Flow-control drain benchmark: the same N no-op jobs drained by one in-process worker under each
 * queue policy, on a fresh database per run.
 *
 *   npx tsx bench/flow-control.ts                        # 20,000 jobs x 3 runs, every scenario
 *   npx tsx bench/flow-control.ts --jobs 5000 --runs 1   # smoke
 *   npx tsx bench/flow-control.ts --only none            # runs on a checkout without flow control too
 *
 * Scenarios: `none` (no policy: the claim's fast path), `concurrency` (`concurrency: 50` on the
 * queue), `groups` (jobs spread over 100 groups, `groupConcurrency: 1`), `rate` (a rate limit of
 * `--rate` starts per second over N = 5 × limit jobs; reported as the starts in the first 4 periods
 * after the first start, per second). Options: `--concurrency` (worker, default 100: above the
 * queue limit of 50, so the limit binds), `--rate` (default 2000).
 *
 * Uses DATABASE_URL when set (it creates and drops `bench_flow_*` databases), else a throwaway
 * embedded PostgreSQL. The machine matters more than anything: compare rows of one run only.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Pgsched } from '../src/index.js';
import { startThrowawayPostgres } from '../test/support/postgres-server.js';
import { pgjs } from './compare/pg.js';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string', default: 'none,concurrency,groups,rate' },
    concurrency: { type: 'string', default: '100' },
    rate: { type: 'string', default: '2000' },
  },
});
const JOBS = Number(args.jobs);
const RUNS = Number(args.runs);
const CONCURRENCY = Number(args.concurrency);
const RATE = Number(args.rate);
const scenarios = args.only.split(',');
const log = (m: string) => process.stderr.write(`[flow] ${m}\n`);

/** DATABASE_URL's server, else a throwaway embedded one; a fresh database per drain. */
async function openServer(): Promise<{ url: string; close(): Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, close: async () => {} };
  const pg = await startThrowawayPostgres();
  return { url: pg.url, close: () => pg.destroy() };
}

async function createDatabase(serverUrl: string, name: string) {
  const admin = pgjs(serverUrl, { max: 1 });
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = pgjs(serverUrl, { max: 1 });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

type Scenario = 'none' | 'concurrency' | 'groups' | 'rate';

/** One drain; returns jobs/s (for `rate`: the measured start rate). */
async function drain(url: string, scenario: Scenario): Promise<number> {
  const sql = pgjs(url, { max: 10 });
  const q = new Pgsched({ sql, logger: pino({ level: 'silent' }) }) as Pgsched & Record<string, any>;
  try {
    await q.migrate();
    const n = scenario === 'rate' ? RATE * 5 : JOBS;
    const payloads = Array.from({ length: 1_000 }, (_, i) => ({ i }));
    const e0 = performance.now();
    for (let done = 0; done < n; done += 1_000) {
      const group = scenario === 'groups' ? { group: `g${(done / 1_000) % 100}` } : {};
      await q.enqueueMany('noop', payloads.slice(0, Math.min(1_000, n - done)), { queue: 'bench', ...group });
    }
    log(`  enqueue ${scenario}: ${(n / ((performance.now() - e0) / 1000)).toFixed(0)} jobs/s`);
    if (scenario === 'groups') {
      // 1,000-job batches would put whole batches in one group: spread every job over the 100 groups.
      await sql`update pgsched.jobs set group_key = 'g' || (id % 100)`;
      // The update leaves every row's old index entries behind, which claims would step over until
      // autovacuum came; jobs enqueued with their group leave none.
      await sql`vacuum pgsched.jobs`;
      await q.setQueue('bench', { groupConcurrency: 1 });
    }
    if (scenario === 'concurrency') await q.setQueue('bench', { concurrency: 50 });
    if (scenario === 'rate') await q.setQueue('bench', { rateLimit: { limit: RATE, period: '1s' } });
    // Statistics and no dirty buffers, as a long-lived database has.
    await sql`analyze`;
    await sql`checkpoint`;
    q.define('noop', async () => {});
    const t0 = performance.now();
    // Completed jobs are deleted as they finish (the README's throughput setting), except for the
    // rate, which is read from the rows' start times.
    await q.start({ concurrency: CONCURRENCY, retention: { completed: scenario === 'rate' ? '1h' : 0 } });
    for (;;) {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from pgsched.jobs where state in ('pending', 'running')`;
      if (row!.n === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    await q.stop({ timeout: 5_000 });
    if (scenario !== 'rate') return n / seconds;
    // Starts come in bursts when each window opens; over whole windows a limiter that keeps up
    // starts exactly `limit` per period: count the starts in the first K = N / limit - 1 periods.
    const windows = n / RATE - 1;
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pgsched.jobs
      where started_at < (select min(started_at) from pgsched.jobs) + ${windows} * interval '1 second'`;
    return row!.n / windows;
  } finally {
    await sql.end();
  }
}

const server = await openServer();
const results: Record<string, number[]> = {};
try {
  for (let run = 0; run < RUNS; run++) {
    for (const scenario of scenarios as Scenario[]) {
      const db = await createDatabase(server.url, `bench_flow_${scenario}`);
      try {
        const value = await drain(db.url, scenario);
        results[scenario] = [...(results[scenario] ?? []), value];
        log(
          `run ${run + 1} ${scenario}: ${value.toFixed(0)}${scenario === 'rate' ? ' starts/s' : ' jobs/s'}`,
        );
      } finally {
        await db.drop();
      }
    }
  }
} finally {
  await server.close();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = results.none ? median(results.none) : undefined;
console.log(`| scenario | median of ${RUNS} | vs none |`);
console.log('|---|---|---|');
for (const [scenario, xs] of Object.entries(results)) {
  const m = median(xs);
  const ratio =
    scenario === 'rate'
      ? `${((m / RATE) * 100).toFixed(1)}% of the limit`
      : base
        ? `${((m / base) * 100).toFixed(0)}%`
        : '';
  console.log(`| ${scenario} | ${m.toFixed(0)} ${scenario === 'rate' ? 'starts/s' : 'jobs/s'} | ${ratio} |`);
}
