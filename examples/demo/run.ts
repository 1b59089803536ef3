/**
 * `npm run demo`: `pgsched dev` with the demo worker, and a producer that enqueues a mix of jobs
 * every couple of seconds so that the dashboard has something to show. Ctrl-C stops it.
 *
 * `npm run demo -- --once`: a fixed scenario (images, reports, a card charge that fails once, a
 * CRM sync that fails for good, a scheduled heartbeat), waits until it has all played out,
 * prints a summary and exits 0 — or exits 1 if it did not play out as expected.
 */
import { resolve } from 'node:path';
import { startDev } from '../../src/cli/dev.js';
import { untilStopSignal } from '../../src/cli/shutdown.js';
import type { Pgsched } from '../../src/index.js';
import type { DemoJobs } from './jobs.js';

const once = process.argv.includes('--once');
const schema = 'pgsched';
const session = await startDev({
  databaseUrl: process.env.DATABASE_URL,
  schema,
  dataDir: resolve('.pgsched'),
  port: once ? 0 : Number(process.env.PORT ?? 4000),
  host: '127.0.0.1',
  worker: new URL('./jobs.ts', import.meta.url).pathname,
  concurrency: 8,
});
const pgsched = session.worker as Pgsched<DemoJobs>;

if (once) {
  process.exitCode = await scenario(pgsched);
  await session.stop();
} else {
  let n = 0;
  const producer = setInterval(() => {
    n++;
    produce(pgsched, n).catch((error) => process.stderr.write(`demo: enqueue failed: ${error.message}\n`));
  }, 2_000);
  // A line every 5 s, so the terminal shows the flow too; the dashboard shows it in detail.
  const report = setInterval(() => {
    pgsched
      .stats()
      .then((queues) => {
        const total = (s: 'pending' | 'running' | 'completed' | 'failed') =>
          queues.reduce((n, q) => n + q.counts[s], 0);
        process.stdout.write(
          `demo: ${total('pending')} pending, ${total('running')} running, ${total('completed')} completed, ${total('failed')} failed\n`,
        );
      })
      .catch((error) => process.stderr.write(`demo: stats failed: ${error.message}\n`));
  }, 5_000);
  process.stdout.write(
    `demo: enqueuing a few jobs every 2 s; open ${session.dashboardUrl} — Ctrl-C to stop\n`,
  );
  const stop = untilStopSignal();
  await stop.stopped;
  clearInterval(producer);
  clearInterval(report);
  await session.stop();
  stop.dispose();
}

async function produce(p: Pgsched<DemoJobs>, n: number): Promise<void> {
  await p.enqueueMany(
    'resize-image',
    Array.from({ length: 3 }, (_, i) => ({ image: `photo-${n}-${i}.jpg`, width: 640 })),
  );
  if (n % 3 === 0)
    await p.enqueue('generate-report', { month: `2026-${String((n % 12) + 1).padStart(2, '0')}` });
  if (n % 4 === 0) await p.enqueue('charge-card', { order: n, cents: 1999 });
  if (n % 5 === 0) await p.enqueue('sync-crm', { contact: `contact-${n}` });
}

/** The fixed scenario of `--once`: returns the exit status. */
async function scenario(p: Pgsched<DemoJobs>): Promise<number> {
  const started = Date.now();
  // The embedded database keeps earlier runs' jobs: this scenario looks only at its own.
  const [{ t0 }] = (await p.sql`select now() as t0`) as unknown as [{ t0: Date }];
  const ids = {
    images: await p.enqueueMany(
      'resize-image',
      [1, 2, 3, 4, 5].map((i) => ({ image: `img-${i}.jpg`, width: 320 })),
    ),
    report: [await p.enqueue('generate-report', { month: '2026-11' })],
    charge: [await p.enqueue('charge-card', { order: 1, cents: 4200 })],
    crm: [await p.enqueue('sync-crm', { contact: 'ada@example.com' })],
  };
  const all = Object.values(ids).flat();
  const deadline = Date.now() + 30_000;
  const finished = (s: string) => s === 'completed' || s === 'failed' || s === 'cancelled';
  for (;;) {
    const jobs = await Promise.all(all.map((id) => p.getJob(id)));
    const beat = await p.getSchedule('heartbeat');
    if (jobs.every((j) => j && finished(j.state)) && (beat?.runCount ?? 0) >= 1) break;
    if (Date.now() > deadline) {
      process.stderr.write('demo: the scenario did not finish within 30 s\n');
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // Give the heartbeat that was enqueued a moment to run too.
  const beats = async () =>
    (
      await p.sql`select count(*)::int as n from ${p.sql(schema)}.jobs where name = 'heartbeat' and state = 'completed' and created_at >= ${t0}`
    )[0]!.n as number;
  while ((await beats()) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

  const rows = await p.sql<{ name: string; state: string; n: number; attempts: number }[]>`
    select name, state::text, count(*)::int as n, sum(attempt)::int as attempts
    from ${p.sql(schema)}.jobs where id = any(${all}::bigint[]) or (name = 'heartbeat' and created_at >= ${t0})
    group by name, state order by name, state`;
  process.stdout.write(`demo: scenario done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  for (const r of rows)
    process.stdout.write(
      `demo: ${r.name.padEnd(16)} ${r.state.padEnd(10)} ${r.n} job(s), ${r.attempts} attempt(s)\n`,
    );
  const charge = await p.getJob(ids.charge[0]!);
  const crm = await p.getJob(ids.crm[0]!);
  const ok =
    charge?.state === 'completed' &&
    charge.attempt === 2 &&
    crm?.state === 'failed' &&
    crm.errors.length === 2 &&
    (await beats()) >= 1;
  if (!ok) process.stderr.write('demo: the scenario ended differently than expected\n');
  return ok ? 0 : 1;
}
