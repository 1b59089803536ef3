import type { Logger } from 'pino';
import type { Queries } from '../queries.js';
import { OutageBackoff, sleep } from '../retry-delay.js';
import { type Settlement, toSettleBatch } from './settlement.js';

const MAX_BATCH = 2_000;

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

  constructor(
    private readonly queries: Queries,
    private readonly workerId: string,
    private readonly logger: Logger,
    /** Called with the ids of a written batch, whether or not each row still matched. */
    private readonly onWritten: (ids: string[]) => void,
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
      await Promise.race([this.#flushing, sleep(Math.max(0, deadline - Date.now()))]);
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, MAX_BATCH);
        try {
          const rows = await this.queries.settle(this.workerId, toSettleBatch(batch));
          this.#backoff.reset();
          if (rows.length < batch.length) this.#logLost(batch, rows);
          this.onWritten(batch.map((s) => s.id));
        } catch (error) {
          this.#queue.unshift(...batch);
          const delay = this.#backoff.next();
          this.logger.warn(
            { err: error, retryInMs: delay, pending: this.#queue.length },
            'writing job outcomes failed',
          );
          await sleep(delay);
        }
      }
    } finally {
      this.#flushing = null;
    }
  }

  #logLost(batch: Settlement[], rows: { id: string }[]): void {
    const written = new Set(rows.map((r) => r.id));
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
