/**
 * The demo worker: a few job kinds that behave like real ones (fast, slow, failing once and
 * retried, failing for good) and a cron schedule. `npm run demo` runs it under `pgsched dev`;
 * it is also a plain worker module: `pgsched worker examples/demo/jobs.ts`.
 */
import postgres from 'postgres';
import { Pgsched } from '../../src/index.js';

export type DemoJobs = {
  'resize-image': { payload: { image: string; width: number }; result: { resized: string } };
  'generate-report': { payload: { month: string }; result: { pages: number } };
  'charge-card': { payload: { order: number; cents: number }; result: { charged: number } };
  'sync-crm': { payload: { contact: string }; result: never };
  heartbeat: { payload: Record<string, never>; result: { at: string } };
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Speeds the demo up for the `--once` scenario and tests; 1 is real-looking pacing. */
const pace = Number(process.env.PGSCHED_DEMO_PACE ?? 1);
const retryQuickly = { type: 'fixed', base: '500ms', jitter: 0 } as const;

export default async function demoWorker(): Promise<Pgsched<DemoJobs>> {
  const sql = postgres(process.env.DATABASE_URL!, { onnotice: () => {} });
  const pgsched = new Pgsched<DemoJobs>({ sql });

  pgsched.define('resize-image', async ({ image, width }, ctx) => {
    await sleep((100 + Math.random() * 200) * pace, ctx.signal);
    return { resized: `${image}@${width}w` };
  });

  pgsched.define(
    'generate-report',
    async ({ month }, ctx) => {
      await sleep((1_500 + Math.random() * 1_500) * pace, ctx.signal);
      return { pages: month.length * 3 };
    },
    { queue: 'reports', timeout: '1m' },
  );

  // Fails its first attempt (a flaky payment network), succeeds on the retry.
  pgsched.define(
    'charge-card',
    async ({ cents }, ctx) => {
      await sleep(200 * pace, ctx.signal);
      if (ctx.job.attempt === 1) throw new Error('card network timeout (the retry will succeed)');
      return { charged: cents };
    },
    { queue: 'payments', maxAttempts: 3, backoff: retryQuickly },
  );

  // Always fails: ends `failed` after its attempts, with one error per attempt to look at.
  pgsched.define(
    'sync-crm',
    async ({ contact }) => {
      throw new Error(`CRM rejected contact ${contact}: 422 Unprocessable Entity`);
    },
    { maxAttempts: 2, backoff: retryQuickly },
  );

  pgsched.define('heartbeat', async () => ({ at: new Date().toISOString() }));
  await pgsched.schedule('heartbeat', { cron: '*/5 * * * * *', job: 'heartbeat' });
  return pgsched;
}
