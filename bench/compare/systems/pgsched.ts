import pino from 'pino';
import { pgjs } from '../pg.ts';
import { installedVersion } from '../versions.ts';
import type { Consumer, Payload, Producer, System } from './types.ts';

const TASK = 'noop';
const SCHEMA = 'pgsched';
const CONCURRENCY = 500;
const PREFETCH = 500;
const POOL = 10;

/** pgsched's own dependency (root node_modules): warnings and errors only, to stderr. */
const logger = pino({ level: 'warn' }, pino.destination(2));

/** Loaded on use, so the peers and the baseline run while src/ is being written. */
async function loadPgsched() {
  return (await import('../../../src/index.ts')).Pgsched;
}

/**
 * pgsched as its README advises for throughput (`retention.completed: 0`: a completed job is
 * deleted as its outcome is written, as graphile-worker does), or with the default retention
 * (completed rows kept for an hour with their results).
 */
function pgschedSystem(keepCompleted: boolean): System {
  const retention = keepCompleted ? {} : { retention: { completed: 0 } };
  return {
    name: keepCompleted ? 'pgsched (keep completed)' : 'pgsched',
    version: installedVersion('pgsched'),
    summary: `concurrency ${CONCURRENCY}, prefetch ${PREFETCH}, pool ${POOL}, ${
      keepCompleted ? 'completed rows kept (default retention 1h)' : 'retention.completed 0'
    }`,
    settings: [
      `start({ concurrency: ${CONCURRENCY}, prefetch: ${PREFETCH}${
        keepCompleted ? '' : ', retention: { completed: 0 }'
      } }), LISTEN/NOTIFY on (default), postgres.js max ${POOL}, TCP_NODELAY socket`,
      `bulk enqueue: enqueueMany(); single enqueue: enqueue(); ${
        keepCompleted
          ? 'completed rows kept with their results (state = completed)'
          : 'completed rows deleted as their outcome is written'
      }`,
    ],

    async producer(url) {
      const Pgsched = await loadPgsched();
      const sql = pgjs(url, { max: POOL });
      const q = new Pgsched({ sql, schema: SCHEMA, logger });
      await q.migrate();
      const count = async (where: 'all' | 'completed') =>
        (where === 'all'
          ? await sql<{ n: number }[]>`select count(*)::int as n from pgsched.jobs`
          : await sql<
              { n: number }[]
            >`select count(*)::int as n from pgsched.jobs where state = 'completed'`)[0]!.n;
      return {
        async enqueueBatch(payloads) {
          await q.enqueueMany(TASK, payloads);
        },
        async enqueueOne(payload) {
          await q.enqueue(TASK, payload);
        },
        countJobs: () => count('all'),
        // Deleted on completion: finished = enqueued minus rows left (failed ones stay, so never count).
        countFinished: async (total) => (keepCompleted ? count('completed') : total - (await count('all'))),
        close: () => sql.end(),
      } satisfies Producer;
    },

    async consumer(url) {
      const Pgsched = await loadPgsched();
      const sql = pgjs(url, { max: POOL });
      // Connected before the timed start, as graphile-worker's pool is (4 connections each).
      await Promise.all(Array.from({ length: 4 }, () => sql`select 1`));
      const q = new Pgsched({ sql, schema: SCHEMA, logger });
      let onJob: (payload: Payload) => void = () => {};
      q.define(TASK, async (payload: Payload) => {
        onJob(payload);
      });
      return {
        async start(handler) {
          onJob = handler;
          await q.start({ concurrency: CONCURRENCY, prefetch: PREFETCH, ...retention });
        },
        async stop() {
          await q.stop();
          await sql.end();
        },
      } satisfies Consumer;
    },
  };
}

export const pgsched = pgschedSystem(false);
export const pgschedKeep = pgschedSystem(true);
