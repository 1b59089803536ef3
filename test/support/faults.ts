import { waitFor } from './db.js';
import type { ThrowawayPostgres } from './postgres-server.js';

export type RestartMode = 'fast' | 'immediate';

/**
 * Restarts the server the way `pg_ctl` does, by signalling the postmaster:
 * - `fast` (`pg_ctl restart -m fast`): SIGINT, open transactions are rolled back, every client
 *   gets 57P01 "terminating connection due to administrator command", a checkpoint, then a start;
 * - `immediate` (`pg_ctl stop -m immediate` + start): SIGQUIT, no checkpoint, connections are cut,
 *   and the start runs crash recovery.
 * Resolves once the server accepts connections again; `downMs` is how long it stays down.
 */
export async function restartPostgres(server: ThrowawayPostgres, mode: RestartMode, downMs = 300) {
  if (mode === 'fast') {
    await server.stop();
  } else {
    const pid = server.pid;
    if (pid === undefined) throw new Error('restartPostgres: the server is not running');
    process.kill(pid, 'SIGQUIT');
    await waitFor(() => server.pid === undefined, 30_000, 20);
  }
  await new Promise((r) => setTimeout(r, downMs));
  await server.start();
}
