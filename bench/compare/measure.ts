import { type ChildProcess, fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDatabase, type Server, settle } from './db.ts';
import { log } from './log.ts';
import { pgjs } from './pg.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { percentile, rate } from './stats.ts';
import type { Payload, Producer, System } from './systems/types.ts';

export interface Plan {
  jobs: number;
  batch: number;
  latencySamples: number;
  latencyGapMs: number;
  /** ANALYZE after the enqueue (default on; off with --no-analyze). */
  analyze: boolean;
}

export interface RunResult {
  enqueueMs: number;
  enqueueRate: number;
  drainMs: number;
  drainRate: number;
  /** Handler starts beyond one per job (0 unless a job ran twice). */
  reruns: number;
  latencyMs: { p50: number; p95: number; p99: number; samples: number };
  peakRssMb: number;
}

/** A drain or latency phase fails when the worker starts no job for this long. */
const STALL_MS = 15_000;
const WORKER = new URL('./worker.ts', import.meta.url);
const TSX = import.meta.resolve('tsx');

/** One run of one system on a fresh database: bulk enqueue, drain, then idle-worker latency. */
export async function measure(key: string, system: System, server: Server, plan: Plan, tag: string) {
  const db = await createDatabase(server, `bench_${key.replace(/\W/g, '_')}_${process.pid}`);
  const admin = pgjs(db.url, { max: 1 });
  let producer: Producer | undefined;
  let worker: WorkerHandle | undefined;
  try {
    producer = await system.producer(db.url);

    const t0 = performance.now();
    for (let start = 0; start < plan.jobs; start += plan.batch) {
      const size = Math.min(plan.batch, plan.jobs - start);
      await producer.enqueueBatch(Array.from({ length: size }, (_, k): Payload => ({ i: start + k })));
    }
    const enqueueMs = performance.now() - t0;
    const stored = await producer.countJobs();
    if (stored !== plan.jobs) throw new Error(`enqueued ${plan.jobs} but the database holds ${stored}`);
    log(`${tag} enqueue ${plan.jobs} in ${Math.round(enqueueMs)} ms (verified ${stored} rows)`);
    await settle(admin, plan.analyze);

    worker = await startWorker(key, db.url);
    const t1 = performance.now();
    worker.markProgress();
    worker.send({ type: 'go', expect: plan.jobs });
    const handled = await worker.next('reached', drainTimeout(plan.jobs));
    await waitForFinished(producer, plan.jobs, t1 + drainTimeout(plan.jobs));
    const drainMs = performance.now() - t1;
    log(
      `${tag} drain ${plan.jobs} in ${Math.round(drainMs)} ms (verified ${plan.jobs} finished in the database)`,
    );

    await sleep(1000); // let the worker go idle (fetch loops back off, local queues empty)
    worker.markProgress();
    worker.send({ type: 'expect', expect: handled.handled + plan.latencySamples });
    const reached = worker.next('reached', 60_000 + plan.latencySamples * plan.latencyGapMs);
    reached.catch(() => {}); // awaited below; this only keeps an early rejection from being "unhandled"
    const tStart = performance.now();
    for (let k = 0; k < plan.latencySamples; k++) {
      const wait = tStart + k * plan.latencyGapMs - performance.now();
      if (wait > 0) await sleep(wait);
      await producer.enqueueOne({ t: Date.now() });
    }
    await reached;
    await waitForFinished(producer, plan.jobs + plan.latencySamples, performance.now() + 30_000);

    worker.send({ type: 'stop' });
    const stopped = await worker.next('stopped', 30_000);
    const lat = stopped.latenciesMs;
    if (lat.length < plan.latencySamples) throw new Error(`only ${lat.length} latency samples`);
    if (stopped.handled !== plan.jobs + plan.latencySamples) {
      log(`${tag} WARNING: ${stopped.handled} handler starts for ${plan.jobs + plan.latencySamples} jobs`);
    }
    const result: RunResult = {
      enqueueMs,
      enqueueRate: rate(plan.jobs, enqueueMs),
      drainMs,
      drainRate: rate(plan.jobs, drainMs),
      reruns: stopped.handled - plan.jobs - plan.latencySamples,
      latencyMs: {
        p50: percentile(lat, 50),
        p95: percentile(lat, 95),
        p99: percentile(lat, 99),
        samples: lat.length,
      },
      peakRssMb: stopped.maxRssKb / 1024,
    };
    log(
      `${tag} latency p50/p95/p99 ${result.latencyMs.p50}/${result.latencyMs.p95}/${result.latencyMs.p99} ms, ` +
        `worker peak RSS ${result.peakRssMb.toFixed(0)} MB`,
    );
    return result;
  } finally {
    worker?.kill();
    await producer?.close().catch((error) => log(`${tag} producer close: ${error}`));
    await admin.end();
    await db.drop();
  }
}

function drainTimeout(jobs: number): number {
  return 60_000 + jobs * 5; // 200 jobs/s at worst
}

async function waitForFinished(producer: Producer, total: number, deadline: number): Promise<void> {
  for (;;) {
    const finished = await producer.countFinished(total);
    if (finished >= total) return;
    if (performance.now() > deadline) throw new Error(`only ${finished}/${total} jobs finished in time`);
    await sleep(5);
  }
}

interface WorkerHandle {
  send(message: ToWorker): void;
  next<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>>;
  kill(): void;
  /** Restarts the stall clock (at the start of a phase). */
  markProgress(): void;
}

/** Forks worker.ts under tsx and waits until the system's worker is connected (not yet started). */
async function startWorker(key: string, url: string): Promise<WorkerHandle> {
  const child: ChildProcess = fork(WORKER, [key, url], {
    execArgv: ['--import', TSX],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  child.stdout?.pipe(process.stderr);
  const inbox: FromWorker[] = [];
  const waiters: Array<() => void> = [];
  let exited: string | undefined;
  let lastProgress = performance.now();
  child.on('message', (message: FromWorker) => {
    lastProgress = performance.now();
    if (message.type === 'progress') return;
    inbox.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  child.on('exit', (code, signal) => {
    exited = `worker exited (code ${code}, signal ${signal})`;
    for (const wake of waiters.splice(0)) wake();
  });
  const handle: WorkerHandle = {
    send: (message) => child.send(message),
    async next(type, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const error = inbox.find((m) => m.type === 'error');
        if (error?.type === 'error') throw new Error(`worker: ${error.message}`);
        const index = inbox.findIndex((m) => m.type === type);
        if (index >= 0) return inbox.splice(index, 1)[0] as Extract<FromWorker, { type: typeof type }>;
        if (exited) throw new Error(exited);
        const now = performance.now();
        if (now >= deadline)
          throw new Error(`timed out after ${timeoutMs} ms waiting for the worker's '${type}'`);
        if (type === 'reached' && now - lastProgress > STALL_MS) {
          throw new Error(`stalled: no job started for ${STALL_MS / 1000} s`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(deadline - now, 1000));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    markProgress: () => {
      lastProgress = performance.now();
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  await handle.next('ready', 60_000);
  return handle;
}
