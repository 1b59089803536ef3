import { Socket } from 'node:net';
import type { Logger } from 'pino';
import postgres, { type Options, type Sql } from 'postgres';

/**
 * The connection settings of a user's client that pgsched's own connections inherit: where and
 * how to connect, never how results are shaped (`transform`, `types`) nor the pool size.
 */
type Inherited = Pick<
  Options<Record<string, never>>,
  'ssl' | 'connection' | 'prepare' | 'connect_timeout' | 'keep_alive' | 'idle_timeout' | 'max_lifetime'
>;

/** The parsed options postgres.js keeps on every client (`sql.options`). */
interface ParsedClientOptions extends Inherited {
  host: string[];
  port: number[];
  path: string | false;
  database: string;
  user: string;
  pass: string | (() => string | Promise<string>) | null;
  target_session_attrs?: string;
  socket?: (options: unknown) => Socket | Promise<Socket>;
}

/**
 * Opens a pool of pgsched's own from the user's client settings, for the worker loop and the
 * leader. Why not the user's pool:
 * - postgres.js 3.4 fetches array types on every new connection and drops that query's promise;
 *   a connection that dies during it (a database restart) ends the process with an unhandled
 *   rejection no caller can catch (porsager/postgres#1192, #1223). pgsched passes its arrays as
 *   literals, so its connections skip the fetch (`fetch_types: false`).
 * - the hot path sends small statements back to back: TCP_NODELAY avoids Nagle's delayed writes;
 * - a user's `transform` (say camelCase columns) or custom `types` would change what pgsched reads;
 * - pgsched's claims and heartbeats must not wait behind the application's queries, nor take
 *   the application's connections.
 * Enqueue and the management API keep using the user's client (and transactions).
 */
export function ownClient(
  user: Sql,
  max: number,
  logger: Logger,
  label: string,
  /** Never closed for idleness or age: for a connection whose server process identifies us. */
  { persistent = false }: { persistent?: boolean } = {},
): Sql {
  const o = (user as unknown as { options: ParsedClientOptions }).options;
  const options = {
    // Arrays as postgres.js parsed them (multi-host URLs); the socket factory below connects.
    host: o.host as unknown as string,
    port: o.port as unknown as number,
    path: o.path || undefined,
    database: o.database,
    user: o.user,
    // postgres.js accepts a password function at runtime; its typings only declare strings.
    pass: (o.pass ?? undefined) as string | undefined,
    ssl: o.ssl,
    prepare: o.prepare,
    connect_timeout: o.connect_timeout,
    keep_alive: o.keep_alive,
    idle_timeout: persistent ? null : o.idle_timeout,
    max_lifetime: persistent ? null : o.max_lifetime,
    target_session_attrs: o.target_session_attrs as Options<Record<string, never>>['target_session_attrs'],
    connection: { ...o.connection, application_name: `pgsched ${label}` },
    max,
    fetch_types: false,
    // postgres.js's default waits up to 20 s between reconnects after a database restart (its
    // count spans the pool); a worker should resume within about a second of the database.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
    onnotice: (notice: { message?: string }) => logger.debug({ notice: notice.message }, 'postgres notice'),
    // Supported by postgres.js, missing from its typings.
    socket: noDelaySocket(o),
  };
  return postgres(options as Options<Record<string, never>>);
}

/**
 * A socket factory that sets TCP_NODELAY. postgres.js writes the startup message at once on a
 * factory's socket; Node buffers it until the connection is established. Hosts of a multi-host
 * URL are tried in turn, one per connection attempt, as postgres.js does.
 */
function noDelaySocket(o: ParsedClientOptions) {
  let next = 0;
  return async () => {
    if (o.socket) {
      const socket = await o.socket(o);
      socket.setNoDelay?.(true);
      return socket;
    }
    const socket = new Socket();
    if (o.path) return socket.connect(o.path);
    const i = next++ % o.host.length;
    const host = o.host[i] ?? 'localhost';
    socket.setNoDelay(true);
    // Read by postgres.js for the TLS server name and its error messages.
    Object.assign(socket, { host, port: o.port[i] });
    return socket.connect(o.port[i] ?? 5432, host);
  };
}
