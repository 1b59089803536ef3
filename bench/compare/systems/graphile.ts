import { Logger, makeWorkerUtils, type Runner, run } from 'graphile-worker';
import pg from 'pg';
import { pgjs } from '../pg.ts';
import { installedVersion } from '../versions.ts';
import type { Consumer, Payload, Producer, System } from './types.ts';

const TASK = 'noop';
const CONCURRENCY = 24;
const LOCAL_QUEUE = 500;
const POOL = CONCURRENCY + 2;

/** Only warnings and errors; graphile-worker logs every worker start/stop at info. */
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') console.error(`[graphile-worker] ${level}: ${message}`);
});

/**
 * Settings from graphile-worker's performance page: a local queue (batch fetch + lock) and
 * batched completion. 0.17.3 has both (`preset.worker.localQueue`, `completeJobBatchDelay`,
 * `failJobBatchDelay`, see dist/index.d.ts). Completed jobs are deleted, so "finished" is
 * "no longer in _private_jobs"; a failed job stays there (retried later) and so never counts.
 */
export const graphile: System = {
  name: 'graphile-worker',
  version: installedVersion('graphile-worker'),
  summary: `concurrency ${CONCURRENCY}, localQueue ${LOCAL_QUEUE}, batch delays 0`,
  settings: [
    `concurrency ${CONCURRENCY}, pg pool max ${POOL} (concurrency + 2), useNodeTime false, pollInterval 2000 ms (default; LISTEN/NOTIFY on)`,
    `preset.worker: localQueue { size: ${LOCAL_QUEUE} }, completeJobBatchDelay 0, failJobBatchDelay 0`,
    'bulk enqueue: WorkerUtils.addJobs() (calls graphile_worker.add_jobs); single enqueue: addJob()',
  ],

  async producer(url) {
    const utils = await makeWorkerUtils({ connectionString: url, logger });
    await utils.migrate();
    const sql = pgjs(url, { max: 1 });
    return {
      async enqueueBatch(payloads) {
        await utils.addJobs(payloads.map((payload) => ({ identifier: TASK, payload })));
      },
      async enqueueOne(payload) {
        await utils.addJob(TASK, payload);
      },
      countJobs: async () =>
        (await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`)[0]!.n,
      countFinished: async (total) =>
        total -
        (await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker._private_jobs`)[0]!.n,
      async close() {
        await sql.end();
        await utils.release();
      },
    } satisfies Producer;
  },

  async consumer(url) {
    // Our own pool, connected before the timed start (graphile-worker leaves a passed pool open).
    const pgPool = new pg.Pool({ connectionString: url, max: POOL });
    pgPool.on('error', (error) => console.error('[graphile-worker pool]', error));
    pgPool.on('connect', (client) =>
      client.on('error', (error) => console.error('[graphile-worker]', error)),
    );
    await Promise.all(Array.from({ length: 4 }, () => pgPool.query('select 1')));
    let runner: Runner | undefined;
    return {
      async start(onJob) {
        runner = await run({
          pgPool,
          concurrency: CONCURRENCY,
          noHandleSignals: true,
          useNodeTime: false,
          logger,
          crontab: '',
          taskList: {
            [TASK]: async (payload) => {
              onJob(payload as Payload);
            },
          },
          preset: {
            worker: { localQueue: { size: LOCAL_QUEUE }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
          },
        });
      },
      async stop() {
        await runner?.stop();
        await pgPool.end();
      },
    } satisfies Consumer;
  },
};
