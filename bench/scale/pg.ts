import net from 'node:net';
import postgres from 'postgres';

/**
 * A postgres.js client whose sockets use TCP_NODELAY (postgres.js 3.4 never sets it, and with
 * Nagle left on a statement split over two TCP writes waits ~40 ms for a delayed ACK; see
 * bench/compare/pg.ts). When `socket` is given, postgres.js does not connect it itself.
 */
export function pgjs(url: string, options: postgres.Options<Record<string, never>> = {}): postgres.Sql {
  return postgres(url, {
    onnotice: () => {},
    ...options,
    socket: connectNoDelay,
  } as postgres.Options<Record<string, never>>);
}

function connectNoDelay({ host, port, path }: { host: string[]; port: number[]; path?: string | false }) {
  return new Promise<net.Socket>((resolve, reject) => {
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

const started = performance.now();

/** Progress line on stderr, stamped with seconds since start. */
export function log(message: string): void {
  process.stderr.write(
    `[scale ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`,
  );
}
