import PgBoss from 'pg-boss';
import { pgjs } from '../pg.ts';
import { installedVersion } from '../versions.ts';
import type { Consumer, Payload, Producer, System } from './types.ts';

const QUEUE = 'noop';
const BATCH_SIZE = 1000;
const WORKERS = 8;
const POLLING_SECONDS = 0.5; // pg-boss 10's minimum
const POOL = 10;

const common = { schedule: false, supervise: false } as const;

/**
 * pg-boss 10 polls: it has no LISTEN/NOTIFY. A `work()` loop fetches up to `batchSize` jobs,
 * hands them to the handler as one array, completes them, then sleeps out the rest of the
 * polling interval; concurrency comes from calling `work()` several times (v10 has no
 * `localConcurrency`, no `teamSize`).
 */
export const pgboss: System = {
  name: 'pg-boss',
  version: installedVersion('pg-boss'),
  summary: `work() x${WORKERS}, batchSize ${BATCH_SIZE}, poll ${POLLING_SECONDS}s`,
  settings: [
    `work() called ${WORKERS} times, batchSize ${BATCH_SIZE}, pollingIntervalSeconds ${POLLING_SECONDS} (the minimum)`,
    `pg pool max ${POOL}; schedule: false, supervise: false (no cron or maintenance during the run)`,
    'bulk enqueue: insert() (one INSERT ... SELECT from json); single enqueue: send()',
    `pg-boss 10 has no LISTEN/NOTIFY; polling interval ${POLLING_SECONDS * 1000} ms`,
  ],

  async producer(url) {
    const boss = new PgBoss({ connectionString: url, max: POOL, ...common });
    boss.on('error', (error) => console.error('[pg-boss]', error));
    await boss.start();
    await boss.createQueue(QUEUE);
    const sql = pgjs(url, { max: 1 });
    return {
      enqueueBatch: (payloads) => boss.insert(payloads.map((data) => ({ name: QUEUE, data }))),
      async enqueueOne(payload) {
        await boss.send(QUEUE, payload);
      },
      countJobs: async () =>
        (await sql<{ n: number }[]>`select count(*)::int as n from pgboss.job where name = ${QUEUE}`)[0]!.n,
      countFinished: async () =>
        (
          await sql<{ n: number }[]>`
            select count(*)::int as n from pgboss.job where name = ${QUEUE} and state = 'completed'`
        )[0]!.n,
      async close() {
        await sql.end();
        await boss.stop({ graceful: false, wait: true });
      },
    } satisfies Producer;
  },

  async consumer(url) {
    const boss = new PgBoss({ connectionString: url, max: POOL, migrate: false, ...common });
    boss.on('error', (error) => console.error('[pg-boss]', error));
    await boss.start();
    return {
      async start(onJob) {
        for (let w = 0; w < WORKERS; w++) {
          await boss.work<Payload>(
            QUEUE,
            { batchSize: BATCH_SIZE, pollingIntervalSeconds: POLLING_SECONDS },
            async (jobs) => {
              for (const job of jobs) onJob(job.data);
            },
          );
        }
      },
      stop: () => boss.stop({ graceful: true, wait: true, timeout: 10_000 }),
    } satisfies Consumer;
  },
};
