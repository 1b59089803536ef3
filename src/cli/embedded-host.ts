/**
 * The process that owns `pgsched dev`'s embedded PostgreSQL. `dev` forks it detached, in its own
 * process group, so that a terminal's Ctrl-C reaches `dev` but not the server: `dev` then stops
 * its worker and dashboard while the database is still up, and stops the server last. If `dev`
 * dies without asking (even SIGKILL), the IPC channel closes and the server is stopped here.
 */
import { startEmbeddedPostgres } from '../embedded/index.js';

type Request = { start: { dataDir: string; port?: number } } | { stop: true };

let stopServer: (() => Promise<void>) | undefined;

async function shutdown(): Promise<void> {
  const stop = stopServer;
  stopServer = undefined;
  await stop?.().catch(() => {});
  process.disconnect?.();
  process.exit(0);
}

process.on('disconnect', () => void shutdown());
process.on('message', (message: Request) => {
  if ('stop' in message) return void shutdown();
  startEmbeddedPostgres({ ...message.start, persistent: true }).then(
    (server) => {
      stopServer = () => server.stop();
      process.send?.({ url: server.url, port: server.port });
    },
    (error: Error) => {
      process.send?.({ error: error.message });
      process.exit(1);
    },
  );
});
// Nothing to do on the terminal's signals: the parent decides when the server stops.
process.on('SIGINT', () => {});
