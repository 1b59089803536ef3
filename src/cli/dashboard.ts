import { createServer, type Server } from 'node:http';
import type { Command } from 'commander';
import { Pgsched } from '../client.js';
import { PgschedError } from '../errors.js';
import {
  cliLogger,
  connect,
  type DbOptions,
  databaseUrl,
  example,
  intOption,
  schemaOf,
  UsageError,
  withDb,
} from './context.js';
import { untilStopSignal } from './shutdown.js';

interface Options extends DbOptions {
  port: string;
  host: string;
  token?: string;
  user?: string;
  password?: string;
  readOnly?: boolean;
  basePath?: string;
}

/** The contract of `createDashboard` from 'pgsched/dashboard' (issue 14). */
export type DashboardAuth = { token: string } | { username: string; password: string } | false;
interface Dashboard {
  listener(req: unknown, res: unknown): void;
  close(): Promise<void> | void;
}
type CreateDashboard = (options: {
  pgsched: Pgsched;
  basePath?: string;
  auth?: DashboardAuth;
  readOnly?: boolean;
}) => Dashboard;

export function registerDashboard(program: Command): void {
  const command = withDb(program.command('dashboard'))
    .description('serve the web dashboard and REST API')
    .option('--port <port>', 'port to listen on', '4000')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--token <token>', 'require this bearer token (default: $PGSCHED_DASHBOARD_TOKEN)')
    .option('--user <name>', 'require HTTP basic auth with this user name')
    .option('--password <password>', 'and this password (default: $PGSCHED_DASHBOARD_PASSWORD)')
    .option('--read-only', 'show everything, change nothing')
    .action((o: Options) => runDashboard(o));
  example(
    command,
    'pgsched dashboard --port 4000 --token "$(openssl rand -hex 16)"',
    'pgsched dashboard --host 0.0.0.0 --user ops --password s3cret --read-only',
  );
}

export function authOf(o: Pick<Options, 'token' | 'user' | 'password'>): DashboardAuth {
  const token = o.token ?? process.env.PGSCHED_DASHBOARD_TOKEN;
  const password = o.password ?? process.env.PGSCHED_DASHBOARD_PASSWORD;
  if (token && (o.user || o.password))
    throw new UsageError('give either --token or --user/--password, not both');
  if (token) return { token };
  if (o.user || o.password) {
    if (!o.user || !password) throw new UsageError('--user and --password go together');
    return { username: o.user, password };
  }
  return false;
}

async function runDashboard(o: Options): Promise<void> {
  const port = intOption('--port', o.port, 0, 65535);
  const auth = authOf(o);
  if (auth === false && !isLoopback(o.host)) {
    throw new UsageError(`refusing to serve the dashboard on ${o.host} without --token or --user/--password`);
  }
  const sql = connect(databaseUrl(o), 4);
  const pgsched = new Pgsched({ sql, schema: schemaOf(o), logger: cliLogger() });
  const stop = untilStopSignal();
  try {
    const served = await serveDashboard(pgsched, { port, host: o.host, auth, readOnly: o.readOnly ?? false });
    process.stdout.write(`pgsched dashboard: ${served.url}${auth === false ? '' : ' (auth required)'}\n`);
    await stop.stopped;
    await served.close();
  } finally {
    stop.dispose();
    await sql.end({ timeout: 5 });
  }
}

/** Serves the dashboard of `pgsched` over node:http; `close()` stops both. */
export async function serveDashboard(
  pgsched: Pgsched,
  o: { port: number; host: string; auth: DashboardAuth; readOnly: boolean },
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const dashboard = (await loadCreateDashboard())({ pgsched, auth: o.auth, readOnly: o.readOnly });
  const server = createServer((req, res) => dashboard.listener(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new PgschedError(`port ${o.port} on ${o.host} is in use: pass another --port`)
          : error,
      ),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dashboard.close();
    },
  };
}

async function loadCreateDashboard(): Promise<CreateDashboard> {
  // A variable specifier: the dashboard module is optional at type-check time.
  const specifier = '../dashboard/index.js';
  try {
    const module = (await import(specifier)) as { createDashboard?: CreateDashboard };
    if (typeof module.createDashboard === 'function') return module.createDashboard;
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
  }
  throw new PgschedError('this build of pgsched has no dashboard (pgsched/dashboard is missing)');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
