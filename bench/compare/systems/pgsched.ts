import pino from 'pino';
import postgres from 'postgres';
import { installedVersion } from '../versions.ts';
import type { Consumer, Payload, Producer, System } from './types.ts';

const TASK = 'noop';
const SCHEMA = 'pgsched';
/** The same concurrency as graphile-worker's preset, and what a user might pick. */
const CONCURRENCY = 24;

/** pgsched's own dependency (root node_modules): warnings and errors only, to stderr. */
const logger = pino({ level: 'warn' }, pino.destination(2));

/** Loaded on use, so the peers and the baseline run while src/ is being written. */
async function loadPgsched() {
  return (await import('../../../src/index.ts')).Pgsched;
}

interface Variant {
  name: string;
  summary: string;
  /** The `start()` options, exactly as a user writes them. */
  start: Record<string, unknown>;
  /** Completed rows are deleted as their outcome is written. */
  deletesCompleted: boolean;
}

/**
 * pgsched as its README tells a user to set it up: a plain `postgres(url)` client (pool of 10, no
 * socket factory, no driver options), `new Pgsched({ sql })`, nothing connected before the timed
 * `start()`. Only `start()`'s options differ between the rows.
 */
function pgschedSystem(v: Variant): System {
  return {
    name: v.name,
    version: installedVersion('pgsched'),
    summary: v.summary,
    settings: [
      `start(${JSON.stringify(v.start)}); client: postgres(url) (defaults: pool 10, LISTEN/NOTIFY on); ` +
        'start() inside the timed drain, no connection opened before it',
      `bulk enqueue: enqueueMany(); single enqueue: enqueue(); ${
        v.deletesCompleted
          ? 'completed rows deleted as their outcome is written'
          : 'completed rows kept with their results (default retention 1h)'
      }`,
    ],

    async producer(url) {
      const Pgsched = await loadPgsched();
      // The producer's notices (migrations) would land in the table on stdout.
      const sql = postgres(url, { onnotice: () => {} });
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
        countFinished: async (total) =>
          v.deletesCompleted ? total - (await count('all')) : count('completed'),
        close: () => sql.end(),
      } satisfies Producer;
    },

    async consumer(url) {
      const Pgsched = await loadPgsched();
      const sql = postgres(url);
      const q = new Pgsched({ sql, schema: SCHEMA, logger });
      let onJob: (payload: Payload) => void = () => {};
      q.define(TASK, async (payload: Payload) => {
        onJob(payload);
      });
      return {
        async start(handler) {
          onJob = handler;
          await q.start(v.start);
        },
        async stop() {
          await q.stop();
          await sql.end();
        },
      } satisfies Consumer;
    },
  };
}

/** Only `concurrency` set: what a user gets without reading the tuning guide. */
export const pgsched = pgschedSystem({
  name: 'pgsched defaults (concurrency only)',
  summary: `concurrency ${CONCURRENCY}, everything else default (adaptive prefetch, completed rows kept 1h)`,
  start: { concurrency: CONCURRENCY },
  deletesCompleted: false,
});

/** What docs/performance-tuning.md advises for short jobs whose results nobody reads back. */
export const pgschedTuned = pgschedSystem({
  name: 'pgsched tuned',
  summary: `concurrency ${CONCURRENCY}, retention.completed 0 (as docs/performance-tuning.md advises)`,
  start: { concurrency: CONCURRENCY, retention: { completed: 0 } },
  deletesCompleted: true,
});

/** The hand-tuned setting of the previous release (fixed prefetch), for comparison runs only. */
export const pgschedPrefetch500 = pgschedSystem({
  name: 'pgsched prefetch 500 (fixed)',
  summary: `concurrency ${CONCURRENCY}, prefetch 500, completed rows kept 1h`,
  start: { concurrency: CONCURRENCY, prefetch: 500 },
  deletesCompleted: false,
});
