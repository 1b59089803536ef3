/**
 * One soak worker process, configured as a user would configure pgsched (a plain client, the
 * documented options, no process-wide error handlers). Environment: DATABASE_URL, CONCURRENCY,
 * VISIBILITY_MS, LEADER_TIMEOUT_MS. Reports `{ ready: true }` once started. Runs `soak` jobs,
 * the schedule's `soak-tick` and the limited queue's `soak-limited` (see run.ts).
 */
import { pino } from 'pino';
import postgres from 'postgres';
import { Pgsched } from '../../src/index.js';

const sql = postgres(process.env.DATABASE_URL!);
const pgsched = new Pgsched({ sql, logger: pino({ level: process.env.SOAK_LOG ?? 'silent' }) });

pgsched.define(
  'soak',
  async (payload: { ms: number }) => {
    await new Promise((r) => setTimeout(r, payload.ms));
  },
  { visibilityTimeout: Number(process.env.VISIBILITY_MS ?? 5_000) },
);
pgsched.define('soak-tick', async () => {});
// A job of the limited queue records when its handler ran (this host's clock, shared with the
// database's): the soak checks the queue's and the groups' limits from the handlers. A record lost
// to a restart only narrows the check.
pgsched.define(
  'soak-limited',
  async (payload: { ms: number; g: string }) => {
    const started = new Date();
    await new Promise((r) => setTimeout(r, payload.ms));
    const finished = new Date();
    await sql`insert into soak_limited (grp, pid, started, finished)
              values (${payload.g}, ${process.pid}, ${started}, ${finished})`.catch(() => {});
  },
  { visibilityTimeout: Number(process.env.VISIBILITY_MS ?? 5_000) },
);

process.on('message', async (message: { stop?: boolean }) => {
  if (!message.stop) return;
  await pgsched.stop({ timeout: '10s' });
  await sql.end({ timeout: 5 });
  process.exit(0);
});

await pgsched.start({
  concurrency: Number(process.env.CONCURRENCY ?? 10),
  leaderTimeout: Number(process.env.LEADER_TIMEOUT_MS ?? 10_000),
});
process.send?.({ ready: true });
