import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverUser } from '../../src/embedded/server-user.js';

/** Debian's package (`apt-get install -y pgbouncer`; `.ci/run` installs it). */
export const PGBOUNCER = '/usr/sbin/pgbouncer';
export const havePgBouncer = () => existsSync(PGBOUNCER);

export interface PgBouncer {
  /** The same user, password and database as `serverUrl`, through the pooler. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer in front of `serverUrl` with `pool_mode = transaction` and a server pool of
 * `poolSize` per database and user, so that clients share server connections (and whatever session
 * state is left on them). As root it runs as the postgres OS user: PgBouncer refuses root.
 */
export async function startPgBouncer(serverUrl: string, poolSize = 2): Promise<PgBouncer> {
  const server = new URL(serverUrl);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'pgsched-pgbouncer-'));
  const user = await serverUser();
  const files = {
    ini: join(dir, 'pgbouncer.ini'),
    users: join(dir, 'userlist.txt'),
  };
  const password = decodeURIComponent(server.password);
  await writeFile(files.users, `"${decodeURIComponent(server.username)}" "${password}"\n`);
  await writeFile(
    files.ini,
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // Clients authenticate with the password of the auth file, which is also what PgBouncer
      // logs in to the server with (SCRAM needs it in plain text).
      'auth_type = plain',
      `auth_file = ${files.users}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 500',
      'server_reset_query =',
      'ignore_startup_parameters = extra_float_digits',
      'admin_users =',
    ].join('\n'),
  );
  await chmod(dir, 0o755);
  if (user.switched) {
    for (const f of [dir, files.ini, files.users]) await chown(f, user.uid, user.gid);
  }
  const child: ChildProcess = spawn(PGBOUNCER, [files.ini], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(user.switched ? { uid: user.uid, gid: user.gid } : {}),
  });
  let log = '';
  child.stderr?.on('data', (d) => {
    log = (log + String(d)).slice(-4_000);
  });
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pgbouncer did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = new URL(serverUrl);
  url.port = String(port);
  return {
    url: url.toString(),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
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
