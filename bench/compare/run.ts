/**
 * Side-by-side benchmark: pgsched, pg-boss, graphile-worker and bullmq's PostgreSQL backend,
 * each run on a fresh database of one PostgreSQL server, plus a raw-SQL baseline.
 *
 *   npx tsx bench/compare/run.ts [--quick] [--jobs N] [--runs N] [--latency N] [--no-analyze]
 *     [--only pgsched,pgsched-tuned,pg-boss,graphile-worker,bullmq,raw,pgsched-prefetch500]
 *
 * Progress goes to stderr; the Markdown table and notes to stdout; the JSON to bench/results/.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { describeServer, openServer } from './db.ts';
import { log } from './log.ts';
import { measure } from './measure.ts';
import { measureRaw } from './raw-sql.ts';
import { details, markdown, type Report, type SystemReport, writeJson } from './report.ts';
import { ON_REQUEST, SYSTEMS } from './systems/index.ts';
import { installedVersion } from './versions.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    jobs: { type: 'string' },
    runs: { type: 'string' },
    latency: { type: 'string' },
    only: { type: 'string' },
    'no-analyze': { type: 'boolean', default: false },
  },
});

const quick = values.quick ?? false;
const plan = {
  jobs: Number(values.jobs ?? (quick ? 5_000 : 20_000)),
  runs: Number(values.runs ?? 3),
  batch: 1_000,
  /**
   * Claim size of the raw loop: twice the claims of pgsched's adaptive prefetch at its bound (about
   * 500), so the baseline is a ceiling, not a replica.
   */
  rawBatch: 1_000,
  latencySamples: Number(values.latency ?? 200),
  latencyGapMs: 10,
  analyze: !values['no-analyze'],
};
const only = values.only?.split(',').map((s) => s.trim());
const selected = (name: string) => (only ? only.includes(name) : !ON_REQUEST.has(name));
for (const name of only ?? []) {
  if (!(name in SYSTEMS) && name !== 'raw') throw new Error(`unknown system '${name}'`);
}

const notes = [
  `pg-boss ${installedVersion('pg-boss')} and graphile-worker ${installedVersion('graphile-worker')} are the ` +
    'newest majors that run on Node 20: the latest pg-boss ' +
    '(12.x, and 11.x) needs Node >= 22, graphile-worker 0.18 needs Node >= 22.18.',
  await bullmqNote(),
  'pgsched runs as its README tells users: a plain postgres(url) client (no socket factory, no driver options), ' +
    'nothing connected before start(), start() inside the timed drain. The raw baseline runs on the connections pgsched opens for its own worker (src/connections.ts, ' +
    'TCP_NODELAY set by the library); the peers use node-postgres, which sets it itself.',
  'Enqueue: bulk API, 1,000 jobs per call, one call at a time, row count checked afterwards. Drain: from the ' +
    "worker's start (in a forked process; pgsched's start() opens its connections inside the timed span) until the database shows every job completed (or removed, for " +
    'graphile-worker and pgsched with retention.completed 0). Latency: single enqueues 10 ms apart to the idle worker; handler-start time minus ' +
    'Date.now() taken just before the enqueue call. Peak RSS: the worker process, process.resourceUsage().maxRSS.',
  plan.analyze
    ? 'After each enqueue: ANALYZE (planner statistics as in a long-lived database; --no-analyze skips it) and CHECKPOINT.'
    : 'After each enqueue: CHECKPOINT only (--no-analyze: the tables have no planner statistics yet).',
];
for (const note of notes) log(note);

const server = await openServer();
const report: Report = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  plan,
  machine: {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? '?',
    platform: process.platform,
  },
  postgres: { source: server.source, ...(await describeServer(server)) },
  notes,
  systems: [],
  raw: [],
};
try {
  const keys = Object.keys(SYSTEMS).filter(selected);
  for (const key of keys) {
    try {
      const system = await SYSTEMS[key]!();
      report.systems.push({ key, ...system, runs: [], errors: [] });
    } catch (error) {
      log(`${key}: cannot load (${(error as Error).message}); skipped`);
      report.systems.push({
        key,
        name: key,
        version: '?',
        summary: '',
        settings: [],
        runs: [],
        errors: [`load: ${error}`],
      });
    }
  }
  for (let run = 1; run <= plan.runs; run++) {
    for (const entry of report.systems) {
      if (entry.version === '?') continue;
      const tag = `[${entry.name} ${run}/${plan.runs}]`;
      try {
        entry.runs.push(await measure(entry.key, await SYSTEMS[entry.key]!(), server, plan, tag));
      } catch (error) {
        log(`${tag} FAILED: ${(error as Error).stack ?? error}`);
        entry.errors.push(String((error as Error).message ?? error));
      }
    }
  }
  if (selected('raw')) {
    // The statements behind each pgsched row: completed rows deleted (retention 0) or kept.
    for (const deleteCompleted of [true, false]) {
      const batch = plan.rawBatch;
      const entry = {
        batch,
        deleteCompleted,
        runs: [] as Awaited<ReturnType<typeof measureRaw>>[],
        errors: [] as string[],
      };
      report.raw.push(entry);
      for (let run = 1; run <= plan.runs; run++) {
        try {
          entry.runs.push(
            await measureRaw(server, plan, batch, deleteCompleted, `[raw ${run}/${plan.runs}]`),
          );
        } catch (error) {
          log(`[raw batch ${batch}] FAILED: ${(error as Error).stack ?? error}`);
          entry.errors.push(String((error as Error).message ?? error));
        }
      }
    }
  }
} finally {
  await server.close();
}

const file = writeJson(report);
process.stdout.write(`${markdown(report)}\n${details(report)}\n\nJSON: ${file}\n`);
log('done');

async function bullmqNote(): Promise<string> {
  const version = installedVersion('bullmq');
  const mod = (await import('bullmq')) as Record<string, unknown>;
  return typeof mod.createPostgresBackend === 'function'
    ? `bullmq ${version} (latest) ships a PostgreSQL backend (createPostgresBackend, peer dependency pg): included.`
    : `bullmq ${version} (latest) has no PostgreSQL backend (Redis only): not included.`;
}

export type { SystemReport };
