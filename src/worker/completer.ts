import type { Logger } from 'pino';
import type { ClaimCaps, ClaimDefaults, ClaimedRow, Queries } from '../queries.js';
import { NO_ANSWER_MS, OutageBackoff, sleep, withinNoAnswer } from '../retry-delay.js';
import { type Settlement, toSettleBatch } from './settlement.js';

const MAX_BATCH = 2_000;

/** A claim the worker sends along with a settle (one statement, one commit: see Queries.settleAndClaim). */
export interface ClaimAlong {
  limit: number;
  queues: string[] | null;
  defaults: ClaimDefaults;
  caps: ClaimCaps;
  /** Jobs of a group it runs alone that the claim may take beyond the group's limit. */
  groupAhead: number;
  /** The claimed rows, after the batch's outcomes were reported written; null if the statement failed. */
  done(rows: ClaimedRow[] | null): void;
  /** The claimed rows of a statement answered after the worker stopped waiting for it (done had null). */
  late(rows: ClaimedRow[]): void;
}

/**
 * Writes attempt outcomes in batches: one statement per flush, and at most one flush in
 * flight. Outcomes that arrive while a flush runs wait for the next one, so batches grow with
 * load on their own and an idle worker still writes each outcome at once. During an outage
 * outcomes are kept and retried; they are only dropped when the row is no longer ours.
 */
export class Completer {
  #queue: Settlement[] = [];
  #flushing: Promise<void> | null = null;
  readonly #backoff = new OutageBackoff();
  readonly #closed = new AbortController();
  /** How many of the next outcomes to write one per statement (isolating a refused value). */
  #singles = 0;
  readonly #replaced = new WeakSet<Settlement>();
  /** The last statement failed: the next one settles alone, so that no claim holds outcomes back. */
  #settleAlone = false;

  constructor(
    private readonly queries: Queries,
    private readonly workerId: string,
    /** Delete completed jobs instead of keeping them (retention 0). */
    private readonly deleteCompleted: boolean,
    private readonly logger: Logger,
    /**
     * Called with every written batch, whether or not each row still matched; `claimedAlong` when
     * a claim went with it.
     */
    private readonly onWritten: (batch: readonly Settlement[], claimedAlong: boolean) => void,
    /** A claim to send with this batch, if the worker wants one. */
    private readonly claimAlong: (batch: readonly Settlement[]) => ClaimAlong | null,
  ) {}

  get size(): number {
    return this.#queue.length;
  }

  add(settlement: Settlement): void {
    this.#queue.push(settlement);
    // setImmediate lets outcomes that finish in the same turn share the statement.
    this.#flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
  }

  /** Resolves once everything queued so far is written, or after `timeoutMs` of trying. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.#queue.length > 0 || this.#flushing) && Date.now() < deadline) {
      this.#flushing ??= this.#drain();
      const timeout = new AbortController();
      await Promise.race([this.#flushing, sleep(Math.max(0, deadline - Date.now()), timeout.signal)]);
      timeout.abort(); // clear the timer: it would keep a stopped process alive
    }
  }

  /** After stop: no more retries, so a dead database cannot keep a loop (and the process) alive. */
  close(): void {
    this.#closed.abort();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed.signal.aborted) {
        const isolating = this.#singles > 0;
        if (isolating) this.#singles--;
        const batch = this.#queue.splice(0, isolating ? 1 : MAX_BATCH);
        // Isolating a refused value, or after a failed claim: the outcomes go alone.
        const along = isolating || this.#settleAlone ? null : this.claimAlong(batch);
        this.#settleAlone = false;
        try {
          const { written, claimed } = await this.#write(batch, along);
          this.#backoff.reset();
          if (written.length < batch.length) this.#logLost(batch, written);
          this.onWritten(batch, along !== null);
          along?.done(claimed);
        } catch (error) {
          if (along) {
            // The claim may be what failed: write the outcomes alone at once, then claim as usual.
            along.done(null);
            this.logger.warn({ err: error }, 'settling with a claim failed; settling alone');
            this.#settleAlone = true;
            this.#queue.unshift(...batch);
            continue;
          }
          if (isDataError(error)) {
            this.#isolate(batch, error);
            continue;
          }
          this.#queue.unshift(...batch);
          const delay = this.#backoff.next();
          this.logger.warn(
            { err: error, retryInMs: delay, pending: this.#queue.length },
            'writing job outcomes failed',
          );
          await sleep(delay, this.#closed.signal);
        }
      }
    } finally {
      this.#flushing = null;
    }
  }

  /** One statement: the batch's outcomes, and the claim riding with them if any. */
  async #write(
    batch: Settlement[],
    along: ClaimAlong | null,
  ): Promise<{ written: string[]; claimed: ClaimedRow[] }> {
    const settleBatch = toSettleBatch(batch, !this.deleteCompleted);
    if (!along) {
      const statement = this.queries.settle(this.workerId, settleBatch, this.deleteCompleted);
      const rows = await withinNoAnswer(statement, 'writing job outcomes');
      return { written: rows.map((r) => r.id), claimed: [] };
    }
    const statement = this.queries.settleAndClaim(this.workerId, settleBatch, this.deleteCompleted, along);
    // Answered after we stopped waiting: the outcomes were written, and the claimed jobs are ours.
    const rows = await withinNoAnswer(statement, 'writing job outcomes', NO_ANSWER_MS, (late) =>
      along.late(late.filter((r) => r.settled === null)),
    );
    return {
      written: rows.filter((r) => r.settled !== null).map((r) => r.settled!),
      claimed: rows.filter((r) => r.settled === null),
    };
  }

  /**
   * A value the database refuses (class 22/23) must not block every other outcome: split the
   * batch, and once a single outcome is refused, write it as a failed attempt without its value.
   */
  #isolate(batch: Settlement[], error: unknown): void {
    if (batch.length > 1) {
      this.#queue.unshift(...batch);
      this.#singles = batch.length;
      return;
    }
    const bad = batch[0]!;
    this.logger.error(
      { err: error, jobId: bad.id },
      'the database refused a job outcome; recording a failure instead',
    );
    if (this.#replaced.has(bad)) return; // even the replacement was refused: its lease expires
    const replacement: Settlement = {
      id: bad.id,
      attempt: bad.attempt,
      claimedAt: bad.claimedAt,
      state: 'failed',
      error: {
        attempt: bad.attempt,
        message: `outcome could not be stored: ${(error as Error).message}`,
        kind: 'storage',
      },
    };
    this.#replaced.add(replacement);
    this.#queue.unshift(replacement);
    this.#singles++;
  }

  #logLost(batch: Settlement[], ids: string[]): void {
    const written = new Set(ids);
    for (const s of batch) {
      if (!written.has(s.id)) {
        this.logger.warn(
          { jobId: s.id, attempt: s.attempt, outcome: s.state },
          'job outcome not written: the job was cancelled or its lease expired and it was taken back',
        );
      }
    }
  }
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): retrying will not help. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
