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

export const pgsched: System = {
  name: 'pgsched',
  version: installedVersion('pgsched'),
  summary: `concurrency ${CONCURRENCY}, prefetch ${PREFETCH}, pool ${POOL}`,
  settings: [
    `start({ concurrency: ${CONCURRENCY}, prefetch: ${PREFETCH} }), LISTEN/NOTIFY on (default), postgres.js max ${POOL}, TCP_NODELAY socket`,
    'bulk enqueue: enqueueMany(); single enqueue: enqueue(); completed rows kept (state = completed)',
  ],

  async producer(url) {
    const Pgsched = await loadPgsched();
    const sql = pgjs(url, { max: POOL });
    const q = new Pgsched({ sql, schema: SCHEMA, logger });
    await q.migrate();
    return {
      async enqueueBatch(payloads) {
        await q.enqueueMany(TASK, payloads);
      },
      async enqueueOne(payload) {
        await q.enqueue(TASK, payload);
      },
      countJobs: async () => (await sql<{ n: number }[]>`select count(*)::int as n from pgsched.jobs`)[0]!.n,
      countFinished: async () =>
        (
          await sql<{ n: number }[]>`select count(*)::int as n from pgsched.jobs where state = 'completed'`
        )[0]!.n,
      close: () => sql.end(),
    } satisfies Producer;
  },

  async consumer(url) {
    const Pgsched = await loadPgsched();
    const sql = pgjs(url, { max: POOL });
    await sql`select 1`;
    const q = new Pgsched({ sql, schema: SCHEMA, logger });
    let onJob: (payload: Payload) => void = () => {};
    q.define(TASK, async (payload: Payload) => {
      onJob(payload);
    });
    return {
      async start(handler) {
        onJob = handler;
        await q.start({ concurrency: CONCURRENCY, prefetch: PREFETCH });
      },
      async stop() {
        await q.stop();
        await sql.end();
      },
    } satisfies Consumer;
  },
};
