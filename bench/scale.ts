/**
 * Scale benchmark (issue 4, "scale" and "bloat"):
 *
 *   npx tsx bench/scale.ts            # 10k vs 1M backlog, 1 vs 4 processes on 100k, bloat after 1M
 *   npx tsx bench/scale.ts --quick    # 10k vs 100k, 1 vs 4 processes on 50k, bloat after 100k
 *
 * Workers are forked processes (`bench/scale/worker.ts`, tsx) using only pgsched's public API:
 * `define('noop', async () => {})` and `start({ concurrency: 24, leader: false })` (a user's setting:
 * concurrency only, adaptive prefetch);
 * jobs are enqueued with `enqueueMany` in calls of 5,000. The leader duties of `start()` run in
 * this process (rescuer, pruner with a 1 s retention of completed jobs, hygiene), so that one
 * 1M run can leave hygiene out: it shows the sizes autovacuum alone leaves, then after one
 * explicit hygiene pass; another run has hygiene in the leader throughout.
 * Runs: 10k, 1M (no hygiene), 10k, 1M (hygiene), 10k, 1M (first window only), then 1 vs 4
 * processes alternating. Completions are counted in SQL (jobs neither pending nor running:
 * pruned rows count as done).
 * Uses DATABASE_URL (creating and dropping bench_scale_* databases) or a throwaway PostgreSQL 15.
 * Progress on stderr, a Markdown table on stdout, everything as JSON in bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createHygiene } from '../src/maintenance/hygiene.js';
import { log } from './scale/pg.js';
import {
  type DrainResult,
  drain,
  enqueue,
  explainClaim,
  freshDb,
  hygieneEvents,
  logger,
  maintenanceLeader,
  openServer,
  SCHEMA,
  serverSettings,
  settle,
  untilPruned,
  untilVacuumed,
  WORKER_OPTIONS,
} from './scale/scenarios.js';
import { fmt, type Sizes, sizes, sizeTable } from './scale/sizes.js';

const quick = process.argv.includes('--quick');
const PLAN = quick
  ? {
      small: 10_000,
      large: 100_000,
      window: 20_000,
      backlog: 50_000,
      procRuns: 2,
      vacuumWaitS: 20,
    }
  : {
      small: 10_000,
      large: 1_000_000,
      window: 50_000,
      backlog: 100_000,
      procRuns: 3,
      vacuumWaitS: 75,
    };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function smallRun(adminUrl: string, run: number) {
  log(`backlog ${fmt(PLAN.small)}, run ${run}: enqueue, drain (1 process)`);
  const db = await freshDb(adminUrl, 'bench_scale_small');
  try {
    await enqueue(db, PLAN.small);
    await settle(db);
    const baseline = await sizes(db.sql, `${fmt(PLAN.small)} pending`);
    const plan = run === 1 ? await explainClaim(db) : '';
    const leader = maintenanceLeader(db.sql, true);
    try {
      const result = await drain(db, PLAN.small, 1, true);
      log(
        `  drained ${fmt(PLAN.small)} in ${(result.drainMs / 1000).toFixed(2)} s: ${fmt(result.drainRate)} jobs/s`,
      );
      return { result, baseline, plan };
    } finally {
      await leader.stop();
    }
  } finally {
    await db.drop();
  }
}

/**
 * `N` queued, one worker process: the rate over the first ~`window` completions, then (unless
 * `windowOnly`) the whole drain, the prune, and the table and index sizes. Without hygiene in
 * the leader, the sizes are also taken after autovacuum had its chance and after one explicit
 * hygiene pass; with it, once hygiene has had its passes after the prune.
 */
async function largeRun(
  adminUrl: string,
  run: number,
  hygiene: boolean,
  windowOnly: boolean,
  baseline: Sizes,
) {
  const db = await freshDb(adminUrl, 'bench_scale_large');
  const snapshots: Sizes[] = [];
  const timings: Record<string, number> = {};
  const label = hygiene ? 'with hygiene' : 'without hygiene';
  try {
    log(`backlog ${fmt(PLAN.large)}, run ${run} (${label}): enqueue`);
    const enqueueRate = await enqueue(db, PLAN.large);
    log(`  enqueued at ${fmt(enqueueRate)} jobs/s`);
    await settle(db);
    const pending = await sizes(db.sql, `${fmt(PLAN.large)} pending`);
    const plan = run === 1 ? await explainClaim(db) : '';
    const leader = maintenanceLeader(db.sql, hygiene);
    try {
      log(`  drain (1 process), first ~${fmt(PLAN.window)} completions timed`);
      if (windowOnly) {
        const result = await drain(db, PLAN.large, 1, hygiene, PLAN.window, true);
        return {
          run,
          hygiene,
          enqueueRate,
          result,
          snapshots,
          timings,
          plan,
          planAfterPrune: '',
          planAfter: '',
        };
      }
      const result = await drain(db, PLAN.large, 1, hygiene, PLAN.window);
      log(`  drained all in ${(result.drainMs / 1000).toFixed(1)} s: ${fmt(result.drainRate)} jobs/s`);
      snapshots.push(pending);
      timings.pruneTailS = (await untilPruned(db)) / 1000;
      snapshots.push(
        await sizes(db.sql, `after ${fmt(PLAN.large)} + prune (${hygiene ? 'hygiene on' : 'no hygiene'})`),
      );
      log(`  pruned (tail ${timings.pruneTailS.toFixed(1)} s)`);
      // What an idle worker's poll costs on the pruned table before any vacuum.
      const planAfterPrune = run === 1 ? await explainClaim(db) : '';
      if (hygiene) {
        const t = performance.now();
        const goal = 2 * baseline.indexesBytes;
        for (
          let s = await sizes(db.sql, '');
          s.indexesBytes > goal || s.deadTup > 50_000;
          s = await sizes(db.sql, '')
        ) {
          if (performance.now() - t > PLAN.vacuumWaitS * 1000) break;
          await new Promise((r) => setTimeout(r, 1_000));
        }
        timings.hygieneWaitS = (performance.now() - t) / 1000;
        snapshots.push(await sizes(db.sql, `+ ${timings.hygieneWaitS.toFixed(0)} s of hygiene duty`));
      } else {
        log(`  waiting for autovacuum (≤ ${PLAN.vacuumWaitS} s)`);
        timings.autovacuumWaitS = await untilVacuumed(db, PLAN.vacuumWaitS);
        snapshots.push(await sizes(db.sql, `+ ${timings.autovacuumWaitS.toFixed(0)} s for autovacuum`));
        log('  one hygiene pass: runOnce(), then idle()');
        const t = performance.now();
        const duty = createHygiene(db.sql, SCHEMA, logger);
        await duty.runOnce();
        await duty.idle();
        timings.hygieneS = (performance.now() - t) / 1000;
        snapshots.push(await sizes(db.sql, '+ hygiene runOnce()'));
      }
      const planAfter = run === 1 ? await explainClaim(db) : '';
      return { run, hygiene, enqueueRate, result, snapshots, timings, plan, planAfterPrune, planAfter };
    } finally {
      await leader.stop();
    }
  } finally {
    await db.drop();
  }
}

async function processRuns(adminUrl: string) {
  const runs: Record<1 | 4, DrainResult[]> = { 1: [], 4: [] };
  for (let run = 1; run <= PLAN.procRuns; run++) {
    for (const processes of [1, 4] as const) {
      log(`backlog ${fmt(PLAN.backlog)}, ${processes} process(es), run ${run}/${PLAN.procRuns}`);
      const db = await freshDb(adminUrl, 'bench_scale_procs');
      try {
        await enqueue(db, PLAN.backlog);
        await settle(db);
        const leader = maintenanceLeader(db.sql, true);
        try {
          const r = await drain(db, PLAN.backlog, processes, true, PLAN.backlog / 5);
          log(`  ${fmt(r.drainRate)} jobs/s; after the first fifth ${fmt(afterWindow(r))} jobs/s`);
          runs[processes].push(r);
        } finally {
          await leader.stop();
        }
      } finally {
        await db.drop();
      }
    }
  }
  return {
    runs,
    one: median(runs[1].map((r) => r.drainRate)),
    four: median(runs[4].map((r) => r.drainRate)),
    oneSteady: median(runs[1].map(afterWindow)),
    fourSteady: median(runs[4].map(afterWindow)),
  };
}

/**
 * The rate after the first window of completions: every process has connected, compiled its hot
 * path and opened its pool by then, so this is the throughput the processes sustain together.
 */
function afterWindow(r: DrainResult): number {
  return (r.jobs - r.windowDone!) / ((r.drainMs - r.windowMs!) / 1000);
}

async function main(): Promise<void> {
  const started = performance.now();
  const server = await openServer();
  try {
    const settings = await serverSettings(server.url);
    // Small and large runs alternate, so that load from other processes on this shared machine
    // spreads over both sides of the comparison.
    const small = [await smallRun(server.url, 1)];
    const baseline = small[0]!.baseline;
    const large = [await largeRun(server.url, 1, false, false, baseline)];
    small.push(await smallRun(server.url, 2));
    large.push(await largeRun(server.url, 2, true, false, baseline));
    small.push(await smallRun(server.url, 3));
    large.push(await largeRun(server.url, 3, true, true, baseline));
    const procs = await processRuns(server.url);
    const totalS = (performance.now() - started) / 1000;

    const smallRate = median(small.map((r) => r.result.drainRate));
    const windowRate = median(large.map((r) => r.result.windowRate!));
    const scaleRatio = windowRate / smallRate;
    const procRatio = procs.four / procs.one;
    const steadyRatio = procs.fourSteady / procs.oneSteady;
    const [without, withHygiene] = [large[0]!, large[1]!];
    const noHygieneEnd = without.snapshots[2]!; // after autovacuum's chance, before the explicit pass
    const hygieneEnd = withHygiene.snapshots[withHygiene.snapshots.length - 1]!;
    const columns = [baseline, ...without.snapshots, ...withHygiene.snapshots.slice(1)];
    const within = (s: Sizes) =>
      s.tableBytes <= 2 * baseline.tableBytes && s.indexesBytes <= 2 * baseline.indexesBytes;
    const loads = [...small, ...large]
      .flatMap((r) => r.result.load)
      .concat([...procs.runs[1], ...procs.runs[4]].flatMap((r) => r.load));
    const rates = (xs: number[]) => xs.map(fmt).join(', ');
    const md = [
      `## pgsched at scale (${new Date().toISOString().slice(0, 10)}, ${quick ? '--quick' : 'full'}, ${(totalS / 60).toFixed(1)} min)`,
      '',
      `PostgreSQL ${settings.server_version} (${server.source}), ${cpus().length} cores, Node ${process.version}; ` +
        `1-min load average during the runs ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}. ` +
        `Workers: forked processes, \`start(${JSON.stringify(WORKER_OPTIONS)})\` on a plain \`postgres(url)\` client (max 10). ` +
        'Leader duties in the bench process: rescuer, pruner (completed retention 1 s), hygiene (except where noted). ' +
        'Enqueue: `enqueueMany`, 5,000 per call, then VACUUM ANALYZE + CHECKPOINT. Completions counted in SQL.',
      '',
      '| scenario | measured over | runs, jobs/s | median jobs/s | target | result |',
      '|---|---|---|---:|---|---|',
      `| ${fmt(PLAN.small)} queued, 1 process | all ${fmt(PLAN.small)} | ${rates(small.map((r) => r.result.drainRate))} | ${fmt(smallRate)} | | |`,
      `| ${fmt(PLAN.large)} queued, 1 process | first ~${fmt(PLAN.window)} completions | ${rates(large.map((r) => r.result.windowRate!))} | ${fmt(windowRate)} | ≥ 80% of ${fmt(PLAN.small)} queued | ${(scaleRatio * 100).toFixed(0)}%: ${scaleRatio >= 0.8 ? 'met' : 'missed'} |`,
      `| ${fmt(PLAN.large)} queued, 1 process, no hygiene | all ${fmt(PLAN.large)} | ${fmt(without.result.drainRate)} | | | |`,
      `| ${fmt(PLAN.large)} queued, 1 process, hygiene | all ${fmt(PLAN.large)} | ${fmt(withHygiene.result.drainRate)} | | | |`,
      `| ${fmt(PLAN.backlog)} queued, 1 process | all, from start() | ${rates(procs.runs[1].map((r) => r.drainRate))} | ${fmt(procs.one)} | | |`,
      `| ${fmt(PLAN.backlog)} queued, 4 processes | all, from start() | ${rates(procs.runs[4].map((r) => r.drainRate))} | ${fmt(procs.four)} | | ${procRatio.toFixed(2)}× 1 process |`,
      `| ${fmt(PLAN.backlog)} queued, 1 process | after the first ${fmt(PLAN.backlog / 5)} | ${rates(procs.runs[1].map(afterWindow))} | ${fmt(procs.oneSteady)} | | |`,
      `| ${fmt(PLAN.backlog)} queued, 4 processes | after the first ${fmt(PLAN.backlog / 5)} | ${rates(procs.runs[4].map(afterWindow))} | ${fmt(procs.fourSteady)} | ≥ 1 process | ${steadyRatio.toFixed(2)}×: ${steadyRatio >= 1 ? 'met' : 'missed'} |`,
      '',
      `Enqueue of ${fmt(PLAN.large)}: ${rates(large.map((r) => r.enqueueRate))} jobs/s. ` +
        `Prune tail after the drain: ${fmt(without.timings.pruneTailS! * 1000)} / ${fmt(withHygiene.timings.pruneTailS! * 1000)} ms; ` +
        `waited ${without.timings.autovacuumWaitS!.toFixed(0)} s for autovacuum; explicit hygiene pass ${without.timings.hygieneS!.toFixed(2)} s.`,
      '',
      sizeTable(columns, baseline, noHygieneEnd, hygieneEnd),
      '',
      `Bloat target (table and indexes within 2× of ${baseline.label}): without hygiene ${within(noHygieneEnd) ? 'met' : 'missed'}, ` +
        `with the hygiene duty ${within(hygieneEnd) ? 'met' : 'missed'}.`,
    ].join('\n');
    process.stdout.write(`${md}\n`);

    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/scale-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}.json`;
    const json = {
      date: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      plan: PLAN,
      totalS,
      server: { source: server.source, ...settings },
      machine: { cpus: cpus().length, node: process.version },
      small,
      large,
      procs,
      hygieneEvents,
    };
    writeFileSync(file, `${JSON.stringify(json, null, 1)}\n`);
    log(`wrote ${file}`);
  } finally {
    await server.close();
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error)?.stack ?? error}\n`);
  process.exit(1);
});
