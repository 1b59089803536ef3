import type { Logger } from 'pino';
import type { ClaimedRow, Queries } from '../queries.js';

/**
 * Extends the lease of every job this worker owns, in one statement, three times per
 * visibility timeout. Jobs the statement no longer matches were cancelled or taken back by
 * the rescuer; the worker is told so it can abort them.
 */
export class Heartbeat {
  #timer: NodeJS.Timeout | undefined;
  #everyMs = Number.POSITIVE_INFINITY;
  #busy = false;

  constructor(
    private readonly queries: Queries,
    private readonly workerId: string,
    private readonly logger: Logger,
    /** The claims this worker holds (one per job). */
    private readonly owned: () => ClaimedRow[],
    private readonly onLost: (lost: ClaimedRow[]) => void,
  ) {}

  /** (Re)starts the timer if a lease this short needs more frequent beats than the current pace. */
  ensureFor(visibilityMs: number): void {
    const every = Math.max(50, Math.floor(visibilityMs / 3));
    if (every >= this.#everyMs) return;
    this.#everyMs = every;
    clearInterval(this.#timer);
    this.#timer = setInterval(() => void this.beat(), every);
    this.#timer.unref?.();
  }

  async beat(): Promise<void> {
    const owned = this.owned();
    if (owned.length === 0 || this.#busy) return;
    this.#busy = true;
    const ids = owned.map((row) => row.id);
    try {
      const rows = await this.queries.heartbeat(this.workerId, ids);
      if (rows.length === ids.length) return;
      const kept = new Set(rows.map((r) => r.id));
      this.onLost(owned.filter((row) => !kept.has(row.id)));
    } catch (error) {
      this.logger.warn(
        { err: error, jobs: ids.length },
        'heartbeat failed; leases run until their visibility timeout',
      );
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
