import { createPostgresBackend, Queue, Worker } from 'bullmq';
import { pgjs } from '../pg.ts';
import { installedVersion } from '../versions.ts';
import type { Consumer, Payload, Producer, System } from './types.ts';

const QUEUE = 'noop';
const CONCURRENCY = 16;
const POOL = 16;

/**
 * bullmq 6.x ships a PostgreSQL backend (`createPostgresBackend`, needs the optional peer `pg`)
 * next to Redis: the same Queue/Worker classes, given the factory as their last argument.
 * Completed jobs are kept (removeOnComplete defaults to false) with state 'completed'.
 */
export const bullmq: System = {
  name: 'bullmq (postgres)',
  version: installedVersion('bullmq'),
  summary: `concurrency ${CONCURRENCY}, pool ${POOL}`,
  settings: [
    `Worker concurrency ${CONCURRENCY}, pg pool max ${POOL} per Queue/Worker (+1 LISTEN client), backend createPostgresBackend`,
    'bulk enqueue: Queue.addBulk(); single enqueue: Queue.add(); completed jobs kept (removeOnComplete false)',
  ],

  async producer(url) {
    const queue = new Queue(
      QUEUE,
      { connection: { connectionString: url, max: POOL, migrate: true } },
      createPostgresBackend,
    );
    await queue.waitUntilReady();
    const sql = pgjs(url, { max: 1 });
    return {
      async enqueueBatch(payloads) {
        await queue.addBulk(payloads.map((data) => ({ name: QUEUE, data })));
      },
      async enqueueOne(payload) {
        await queue.add(QUEUE, payload);
      },
      countJobs: async () =>
        (await sql<{ n: number }[]>`select count(*)::int as n from bullmq.job where queue = ${QUEUE}`)[0]!.n,
      countFinished: async () =>
        (
          await sql<{ n: number }[]>`
            select count(*)::int as n from bullmq.job where queue = ${QUEUE} and state = 'completed'`
        )[0]!.n,
      async close() {
        await sql.end();
        await queue.close();
      },
    } satisfies Producer;
  },

  async consumer(url) {
    let onJob: (payload: Payload) => void = () => {};
    const worker = new Worker(
      QUEUE,
      async (job) => {
        onJob(job.data as Payload);
      },
      { connection: { connectionString: url, max: POOL }, concurrency: CONCURRENCY, autorun: false },
      createPostgresBackend,
    );
    worker.on('error', (error) => console.error('[bullmq]', error));
    await worker.waitUntilReady();
    return {
      async start(handler) {
        onJob = handler;
        worker.run().catch((error) => console.error('[bullmq] run:', error));
      },
      stop: () => worker.close(),
    } satisfies Consumer;
  },
};
