import type { Logger } from 'pino';
import type { ClaimedRow, Queries } from '../queries.js';
import { NO_ANSWER_MS, NoAnswerError, withinNoAnswer } from '../retry-delay.js';

/**
 * Extends the lease of every job this worker owns, in one statement, three times per
 * visibility timeout. Jobs the statement no longer matches were cancelled or taken back by
 * the rescuer; the worker is told so it can abort them.
 */
export class Heartbeat {
  #timer: NodeJS.Timeout | undefined;
  #everyMs = Number.POSITIVE_INFINITY;
  #beating = false;
  /**
   * The statements of this class run one at a time: extend_leases skips rows locked right now, so
   * two at once would each skip the rows the other holds and report them lost.
   */
  #chain: Promise<void> = Promise.resolve();

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
    if (this.#beating) return;
    this.#beating = true;
    try {
      await this.#serial(async () => {
        const owned = this.owned();
        if (owned.length === 0) return;
        const kept = await this.confirmNow(owned.map((row) => row.id));
        if (kept.size === owned.length) return;
        this.onLost(owned.filter((row) => !kept.has(row.id)));
      });
    } catch (error) {
      this.logger.warn({ err: error }, 'heartbeat failed; leases run until their visibility timeout');
      // The beat was cancelled unanswered (a stuck connection): another goes out at once, on
      // another connection, rather than one interval later with a third of the lease gone.
      if (error instanceof NoAnswerError && this.#timer) setImmediate(() => void this.beat());
    } finally {
      this.#beating = false;
    }
  }

  /**
   * Extends the leases of `ids` after any statement of this class in flight, and returns those
   * still running under this worker (a missing one was cancelled or taken back).
   */
  confirm(ids: string[]): Promise<Set<string>> {
    return this.#serial(() => this.confirmNow(ids));
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  private async confirmNow(ids: string[]): Promise<Set<string>> {
    // A beat left unanswered for a whole interval is given up (see NO_ANSWER_MS): the leases it
    // extends are only three intervals long.
    const noAnswerMs = Math.min(NO_ANSWER_MS, Math.max(1_000, this.#everyMs));
    const rows = await withinNoAnswer(
      this.queries.heartbeat(this.workerId, ids),
      'extending leases',
      noAnswerMs,
    );
    return new Set(rows.map((r) => r.id));
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(task);
    this.#chain = result.then(
      () => {},
      () => {},
    );
    return result;
  }
}
