import type { Logger } from 'pino';
import { backoffDelay, DEFAULT_BACKOFF } from '../backoff.js';
import type { ParsedBackoff } from '../options.js';
import { serializePayload } from '../payload.js';
import type { ClaimedRow } from '../queries.js';
import { type Definition, type JobContext, type JobInfo, validatePayload } from '../registry.js';
import { type SnoozeSignal, signalKind } from '../signals.js';
import type { AttemptError, Settlement } from './settlement.js';

export interface ExecutorDeps {
  logger: Logger;
  random: () => number;
  maxResultBytes: number;
  /** Stores progress of a running attempt (ctx.progress); absent: progress is not stored. */
  progress?: (row: ClaimedRow, json: string) => Promise<void>;
  /**
   * Receives each attempt's outcome exactly once, never synchronously from `start()`. Null means
   * nothing must be written (the job was cancelled or taken back, so the row is no longer ours).
   */
  onOutcome: (attempt: Attempt, settlement: Settlement | null) => void;
}

/** Why a running attempt was interrupted from outside. */
export type AbortReason = 'timeout' | 'cancelled' | 'lease-lost' | 'shutdown';

/**
 * One attempt of one claimed job: validates the payload, calls the handler with an AbortSignal,
 * enforces the timeout even against handlers that ignore the signal, and turns the outcome into
 * a Settlement. A class rather than closures: a no-op job's cost is mostly allocation, and this
 * is the one object every job needs.
 */
export class Attempt {
  /** Created on first use of ctx.signal: most handlers never look at it. */
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** undefined while running; then the outcome handed to `onOutcome`. */
  #outcome: Settlement | null | undefined;
  /** Why the attempt was interrupted, if it was: a signal first read afterwards is already aborted. */
  #interrupted: AbortReason | undefined;
  #waiters: ((outcome: Settlement | null) => void)[] | undefined;
  /** performance.now() at start: the worker sizes its claims from how long jobs run. */
  startedAt = 0;

  constructor(
    readonly row: ClaimedRow,
    private readonly definition: Definition,
    private readonly deps: ExecutorDeps,
  ) {}

  start(): void {
    this.startedAt = performance.now();
    const timeoutMs = this.#timeoutMs();
    if (timeoutMs) this.#timer = setTimeout(() => this.interrupt('timeout'), timeoutMs);
    const ctx = new Context(this, this.deps.logger);
    if (this.definition.schema) {
      this.#validateThenRun(ctx);
      return;
    }
    let value: unknown;
    try {
      value = this.definition.handler(this.row.payload, ctx);
    } catch (error) {
      queueMicrotask(() => this.#fail(error));
      return;
    }
    // A plain value is settled a microtask later, like a promise, so the caller can finish its
    // bookkeeping before `onOutcome` runs, and sync handlers cannot recurse through dispatch.
    Promise.resolve(value).then(
      (v) => this.#succeed(v),
      (error: unknown) => this.#fail(error),
    );
  }

  /** Resolves with the outcome once the attempt has one (not when the handler returns). */
  get done(): Promise<Settlement | null> {
    if (this.#outcome !== undefined) return Promise.resolve(this.#outcome);
    return new Promise((resolve) => {
      this.#waiters ??= [];
      this.#waiters.push(resolve);
    });
  }

  /** Milliseconds since the attempt started. */
  get elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  /** ctx.progress: validated here (throws), written only while the attempt runs. */
  progress(value: unknown): Promise<void> {
    const json = serializePayload('ctx.progress.value', value, this.deps.maxResultBytes);
    if (this.#outcome !== undefined || !this.deps.progress) return Promise.resolve();
    return this.deps.progress(this.row, json);
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#interrupted) this.#controller.abort(new Error(`job ${this.#interrupted}`));
    }
    return this.#controller.signal;
  }

  /** Ends the attempt now with the given reason; the handler may keep running in the background. */
  interrupt(reason: AbortReason): void {
    if (this.#outcome !== undefined) return;
    this.#interrupted = reason;
    this.#controller?.abort(new Error(`job ${reason}`));
    if (reason === 'timeout') {
      this.#settle(this.#failure({ message: `timed out after ${this.#timeoutMs()}ms`, kind: 'timeout' }));
    } else if (reason === 'shutdown') {
      this.#settle(this.#shutdown());
    } else {
      this.#settle(null);
    }
  }

  /**
   * Interrupted by our own stop: not the job's failure, so it goes back to the queue at once
   * without using an attempt (a deploy must not fail a job on its last attempt). An at-most-once
   * job may have done its work, so it ends failed, as documented.
   */
  #shutdown(): Settlement {
    const message = 'worker stopped before the job finished';
    if (this.row.at_most_once) return this.#end('failed', { message, kind: 'shutdown' });
    return { ...this.#owner(), state: 'pending', delayMs: 0, refund: true, shutdown: true };
  }

  #timeoutMs(): number | null | undefined {
    return this.row.timeout_ms ?? this.definition.options.timeout;
  }

  async #validateThenRun(ctx: JobContext): Promise<void> {
    let payload: unknown;
    try {
      payload = await validatePayload('payload', this.definition.schema!, this.row.payload);
    } catch (error) {
      this.#settle(this.#end('failed', { message: (error as Error).message, kind: 'payload' }));
      return;
    }
    if (this.#outcome !== undefined) return; // interrupted while validating: never start the handler
    try {
      this.#succeed(await this.definition.handler(payload, ctx));
    } catch (error) {
      this.#fail(error);
    }
  }

  #succeed(value: unknown): void {
    if (this.#outcome !== undefined) return;
    if (signalKind(value)) {
      this.#fail(value);
      return;
    }
    let resultJson: string;
    try {
      resultJson = serializePayload('result', value, this.deps.maxResultBytes);
    } catch (error) {
      this.#fail(error);
      return;
    }
    const { id, attempt, claimed_at: claimedAt } = this.row;
    this.#settle({ id, attempt, claimedAt, state: 'completed', resultJson });
  }

  #fail(error: unknown): void {
    if (this.#outcome === undefined) this.#settle(this.#fromThrown(error));
  }

  #fromThrown(error: unknown): Settlement {
    const kind = signalKind(error);
    const err = error as Error;
    if (kind === 'cancel') return this.#end('cancelled', { message: err.message, kind });
    if (kind === 'discard') return this.#end('failed', { message: err.message, kind });
    if (kind === 'snooze') {
      return {
        ...this.#owner(),
        state: 'pending',
        delayMs: (error as SnoozeSignal).delayMs,
        refund: true,
      };
    }
    return this.#failure({
      message: error instanceof Error ? error.message : String(error),
      name: error instanceof Error ? error.name : typeof error,
      stack: error instanceof Error ? error.stack : undefined,
    });
  }

  #settle(outcome: Settlement | null): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    if (this.#timer) clearTimeout(this.#timer);
    this.deps.onOutcome(this, outcome);
    if (this.#waiters) for (const resolve of this.#waiters) resolve(outcome);
  }

  /** A failed attempt: retried after the backoff unless attempts are used up or the job is at-most-once. */
  #failure(error: Omit<AttemptError, 'attempt'>): Settlement {
    const { row } = this;
    if (row.at_most_once || row.attempt >= row.max_attempts) return this.#end('failed', error);
    const backoff =
      (row.backoff as ParsedBackoff | null) ?? this.definition.options.backoff ?? DEFAULT_BACKOFF;
    return {
      ...this.#owner(),
      state: 'pending',
      delayMs: backoffDelay(backoff, row.attempt, this.deps.random),
      error: { attempt: row.attempt, ...error },
    };
  }

  #end(state: Settlement['state'], error: Omit<AttemptError, 'attempt'>): Settlement {
    return { ...this.#owner(), state, error: { attempt: this.row.attempt, ...error } };
  }

  /** What names this attempt in the settle statement. */
  #owner(): Pick<Settlement, 'id' | 'attempt' | 'claimedAt'> {
    return { id: this.row.id, attempt: this.row.attempt, claimedAt: this.row.claimed_at };
  }
}

/** The handler's `ctx`: job info, signal and logger are each made on first use. */
class Context implements JobContext {
  #job: JobInfo | undefined;
  #log: Logger | undefined;

  constructor(
    private readonly attempt: Attempt,
    private readonly logger: Logger,
  ) {}

  get job(): JobInfo {
    this.#job ??= jobInfo(this.attempt.row);
    return this.#job;
  }

  get signal(): AbortSignal {
    return this.attempt.signal;
  }

  progress(value: unknown): Promise<void> {
    return this.attempt.progress(value);
  }

  get log(): Logger {
    const { row } = this.attempt;
    this.#log ??= this.logger.child({ jobId: row.id, job: row.name, attempt: row.attempt });
    return this.#log;
  }
}

function jobInfo(row: ClaimedRow): JobInfo {
  return {
    id: row.id,
    name: row.name,
    queue: row.queue,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    key: row.key,
    group: row.group_key,
    runAt: new Date(row.run_at_ms),
    createdAt: new Date(row.created_at_ms),
    schedule: row.schedule,
    occurrence: row.occurrence,
    fireAt: row.fire_at_ms === null ? null : new Date(row.fire_at_ms),
  };
}
