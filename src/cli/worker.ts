import type { Command } from 'commander';
import type { Pgsched } from '../client.js';
import { parseDuration } from '../duration.js';
import { type DbOptions, example, intOption, schemaOf, withDb } from './context.js';
import { loadWorkerModule } from './load-module.js';
import { untilStopSignal } from './shutdown.js';

interface Options extends DbOptions {
  concurrency?: string;
  queues?: string;
  stopTimeout: string;
}

export function registerWorker(program: Command): void {
  const command = withDb(program.command('worker'))
    .description('run the jobs defined by a module until SIGTERM or SIGINT, then stop gracefully')
    .argument(
      '<module>',
      'a module whose default export is a configured Pgsched, or a function returning one',
    )
    .option('--concurrency <n>', 'jobs run at once by this process (default: 10)')
    .option('--queues <list>', 'only these queues, comma-separated (default: all)')
    .option('--stop-timeout <duration>', 'how long running jobs get to finish on stop', '30s')
    .addHelpText(
      'after',
      `
The module (JavaScript, or TypeScript when tsx is installed in the project):
  import postgres from 'postgres';
  import { Pgsched } from 'pgsched';
  export default function () {
    const pgsched = new Pgsched({ sql: postgres(process.env.DATABASE_URL) });
    pgsched.define('send-email', async (payload) => { /* … */ });
    return pgsched;
  }
--database-url, when given, is put in DATABASE_URL before the module loads.`,
    )
    .action((module: string, o: Options) => runWorker(module, o));
  example(
    command,
    'pgsched worker ./dist/jobs.js --concurrency 20',
    'pgsched worker ./src/jobs.ts --queues emails,reports',
  );
}

async function runWorker(path: string, o: Options): Promise<void> {
  const schema = schemaOf(o);
  const concurrency =
    o.concurrency === undefined ? undefined : intOption('--concurrency', o.concurrency, 1, 10_000);
  const queues = o.queues
    ?.split(',')
    .map((q) => q.trim())
    .filter(Boolean);
  const stopTimeout = parseDuration('--stop-timeout', o.stopTimeout);
  if (o.databaseUrl) process.env.DATABASE_URL = o.databaseUrl;
  const pgsched = await loadWorkerModule(path, { databaseUrl: process.env.DATABASE_URL ?? '', schema });
  await runUntilSignal(pgsched, { concurrency, queues, stopTimeout }, path);
}

/** Starts `pgsched`, waits for SIGTERM/SIGINT, stops it gracefully and closes its client. */
export async function runUntilSignal(
  pgsched: Pgsched,
  o: { concurrency?: number; queues?: string[]; stopTimeout: number },
  label: string,
): Promise<void> {
  const stop = untilStopSignal();
  try {
    try {
      await pgsched.start({
        ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }),
        ...(o.queues?.length ? { queues: o.queues } : {}),
      });
    } catch (error) {
      await pgsched.sql.end({ timeout: 1 }).catch(() => {});
      throw error;
    }
    process.stderr.write(
      `pgsched: worker ${label} started (pid ${process.pid}); SIGTERM or Ctrl-C stops it\n`,
    );
    const signal = await stop.stopped;
    process.stderr.write(`pgsched: ${signal}: stopping (running jobs get up to ${o.stopTimeout} ms)\n`);
    await pgsched.stop({ timeout: o.stopTimeout });
    await pgsched.sql.end({ timeout: 5 });
    process.stderr.write('pgsched: worker stopped\n');
  } finally {
    stop.dispose();
  }
}
