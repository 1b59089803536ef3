import net from 'node:net';
import postgres from 'postgres';

/**
 * postgres.js (3.4.x) never calls `setNoDelay` on its sockets (see `createSocket()` and
 * `connected()` in node_modules/postgres/src/connection.js; node-postgres does, in
 * pg/lib/connection.js), so a statement split over several TCP writes waits on Nagle +
 * delayed ACK for ~40 ms. Every postgres.js client of this harness is built here, with a
 * `socket` factory that connects with TCP_NODELAY. When `socket` is given, postgres.js
 * does not connect the socket itself, so the factory returns it connected.
 */
export function pgjs(url: string, options: postgres.Options<Record<string, never>> = {}): postgres.Sql {
  return postgres(url, {
    onnotice: () => {},
    ...options,
    socket: connectNoDelay,
  } as postgres.Options<Record<string, never>>);
}

interface SocketTarget {
  host: string[];
  port: number[];
  path?: string | false;
}

function connectNoDelay({ host, port, path }: SocketTarget): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = path ? net.connect(path) : net.connect({ host: host[0], port: port[0]!, noDelay: true });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), 10_000);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
