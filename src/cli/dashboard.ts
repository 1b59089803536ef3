import type { Command } from 'commander';
import { Pgsched } from '../client.js';
import type { DashboardAuth, ServeDashboardOptions, ServedDashboard } from '../dashboard/index.js';
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

type Auth = DashboardAuth | false;

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

export function authOf(o: Pick<Options, 'token' | 'user' | 'password'>): Auth {
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
    const served = await serve({ pgsched, port, host: o.host, auth, readOnly: o.readOnly ?? false });
    process.stdout.write(`pgsched dashboard: ${served.url}${auth === false ? '' : ' (auth required)'}\n`);
    await stop.stopped;
    await served.close();
  } finally {
    stop.dispose();
    await sql.end({ timeout: 5 });
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * serveDashboard, with a port in use said in one line that names the flag. Imported on use: the
 * dashboard (hono, the UI) costs every other command ~150 ms of start-up otherwise.
 */
export async function serve(
  options: ServeDashboardOptions & { port: number; host: string },
): Promise<ServedDashboard> {
  try {
    const { serveDashboard } = await import('../dashboard/index.js');
    return await serveDashboard(options);
  } catch (error) {
    if ((error as { code?: string }).code === 'EADDRINUSE') {
      throw new PgschedError(`port ${options.port} on ${options.host} is in use: pass another --port`);
    }
    throw error;
  }
}
