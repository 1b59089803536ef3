import type { Logger } from 'pino';
import type { ClaimedRow, Queries } from '../queries.js';
import type { ClaimSizer } from './claim-sizer.js';
import type { Heartbeat } from './heartbeat.js';
import { JobBuffer } from './job-buffer.js';

/** What the prefetch buffer needs from the worker's lease bookkeeping. */
export interface PrefetchedDeps {
  queries: Queries;
  workerId: string;
  logger: Logger;
  sizer: ClaimSizer;
  /** Confirms ownership one statement at a time with the heartbeat's own beats. */
  heartbeat: Heartbeat;
  /** A buffered job older than this (since its ownership was last confirmed) is checked again. */
  recheckMs: number;
  /** Whether this row is still the worker's current claim of its job. */
  isCurrent: (row: ClaimedRow) => boolean;
  /** Forgets the lease of a claim the worker no longer holds. */
  forget: (row: ClaimedRow) => void;
}

/**
 * Claimed jobs waiting for a slot, and the guard in front of their start: a job that waited
 * longer than `recheckMs` is only started once one statement has confirmed the buffer is still
 * this worker's. A cancel is then honoured before start even without LISTEN (`pollOnly`), and a
 * buffer that outgrew its adaptive target gives the excess back to the queue.
 */
export class Prefetched {
  readonly buffer = new JobBuffer();
  #checking = false;

  constructor(private readonly deps: PrefetchedDeps) {}

  /**
   * True when buffered jobs may start now. Otherwise a check has started (or is running) and
   * `resume` is called once it is done. One clock read per dispatch, not per job.
   */
  mayStart(resume: () => void): boolean {
    if (this.#checking) return false;
    if (performance.now() - this.buffer.oldestCheckAt <= this.deps.recheckMs) return true;
    void this.#check(resume);
    return false;
  }

  /** Returns claimed, never-started jobs to the queue without using an attempt. */
  async giveBack(rows: ClaimedRow[]): Promise<void> {
    if (rows.length === 0) return;
    const ids = rows.map((row) => row.id);
    try {
      await this.deps.queries.release(this.deps.workerId, ids);
    } catch (error) {
      // Not fatal: their leases expire and the rescuer returns them.
      this.deps.logger.warn({ err: error, count: ids.length }, 'could not release prefetched jobs');
    }
    for (const row of rows) this.deps.forget(row);
  }

  async #check(resume: () => void): Promise<void> {
    this.#checking = true;
    const at = performance.now();
    const { sizer } = this.deps;
    try {
      const excess = sizer.adaptive ? this.buffer.size - sizer.update() : 0;
      if (excess > 0) await this.giveBack(this.buffer.takeNewest(excess));
      const rows = this.buffer.checkedBefore(at);
      if (rows.length === 0) return;
      // The jobs still running under this worker (their leases extended on the way): a missing
      // one was cancelled or taken back while it waited, and must not start.
      const kept = await this.deps.heartbeat.confirm(rows.map((r) => r.id));
      for (const row of rows) {
        if (kept.has(row.id) || !this.deps.isCurrent(row)) continue;
        this.buffer.remove(row.id);
        this.deps.forget(row);
      }
    } catch (error) {
      // Start them unconfirmed, as without the check: the heartbeat still catches a cancel.
      this.deps.logger.warn({ err: error }, 'could not confirm prefetched jobs before starting them');
    } finally {
      // Stamped at the end, not at `at`: a check slower than recheckMs would otherwise call for
      // another one at once, and no job would ever start.
      this.buffer.confirmAll(performance.now());
      this.#checking = false;
      resume();
    }
  }
}
