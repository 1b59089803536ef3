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
}

/** Why a running attempt was interrupted from outside. */
export type AbortReason = 'timeout' | 'cancelled' | 'lease-lost' | 'shutdown';

/** One attempt in progress; `done` settles when the attempt has an outcome (not when the handler returns). */
export interface RunningAttempt {
  readonly row: ClaimedRow;
  readonly done: Promise<Settlement | null>;
  /** Ends the attempt now with the given reason; the handler may keep running in the background. */
  interrupt(reason: AbortReason): void;
}

/**
 * Runs one claimed job: validates its payload, calls the handler with an AbortSignal, enforces
 * the timeout even against handlers that ignore the signal, and turns the outcome into a
 * Settlement. Returns null when the outcome must not be written (the job was cancelled or taken
 * back, so the row is no longer ours).
 */
export function execute(row: ClaimedRow, definition: Definition, deps: ExecutorDeps): RunningAttempt {
  // Created on first use of ctx.signal: most handlers never look at it, and an AbortController
  // per job was a measurable share of a no-op drain.
  let controller: AbortController | undefined;
  const signal = () => {
    controller ??= new AbortController();
    return controller.signal;
  };
  let finish!: (s: Settlement | null) => void;
  const done = new Promise<Settlement | null>((resolve) => {
    finish = resolve;
  });
  let settled = false;
  const settle = (s: Settlement | null) => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    finish(s);
  };

  const timeoutMs = row.timeout_ms ?? definition.options.timeout;
  const timer = timeoutMs ? setTimeout(() => interrupt('timeout'), timeoutMs) : undefined;

  const interrupt = (reason: AbortReason) => {
    if (settled) return;
    controller?.abort(new Error(`job ${reason}`));
    if (reason === 'timeout') {
      settle(failure(row, definition, deps, { message: `timed out after ${timeoutMs}ms`, kind: 'timeout' }));
    } else if (reason === 'shutdown') {
      settle(
        failure(
          row,
          definition,
          deps,
          { message: 'worker stopped before the job finished', kind: 'shutdown' },
          0,
        ),
      );
    } else {
      settle(null);
    }
  };

  const ctx = createContext(row, signal, deps.logger);
  run(row, definition, ctx, deps).then(settle, (error: unknown) =>
    settle(fromThrown(error, row, definition, deps)),
  );
  return { row, done, interrupt };
}

async function run(
  row: ClaimedRow,
  definition: Definition,
  ctx: JobContext,
  deps: ExecutorDeps,
): Promise<Settlement> {
  let payload = row.payload;
  if (definition.schema) {
    try {
      payload = await validatePayload('payload', definition.schema, payload);
    } catch (error) {
      return end(row, 'failed', { message: (error as Error).message, kind: 'payload' });
    }
  }
  const value = await definition.handler(payload, ctx);
  if (signalKind(value)) return fromThrown(value, row, definition, deps);
  return {
    id: row.id,
    attempt: row.attempt,
    state: 'completed',
    resultJson: serializePayload('result', value, deps.maxResultBytes),
  };
}

function fromThrown(error: unknown, row: ClaimedRow, definition: Definition, deps: ExecutorDeps): Settlement {
  const kind = signalKind(error);
  const err = error as Error;
  if (kind === 'cancel') return end(row, 'cancelled', { message: err.message, kind });
  if (kind === 'discard') return end(row, 'failed', { message: err.message, kind });
  if (kind === 'snooze') {
    return {
      id: row.id,
      attempt: row.attempt,
      state: 'pending',
      delayMs: (error as SnoozeSignal).delayMs,
      refund: true,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return failure(row, definition, deps, {
    message,
    name: error instanceof Error ? error.name : typeof error,
    stack: error instanceof Error ? error.stack : undefined,
  });
}

/** A failed attempt: retried after the backoff unless attempts are used up or the job is at-most-once. */
function failure(
  row: ClaimedRow,
  definition: Definition,
  deps: ExecutorDeps,
  error: Omit<AttemptError, 'attempt'>,
  delayOverride?: number,
): Settlement {
  if (row.at_most_once || row.attempt >= row.max_attempts) return end(row, 'failed', error);
  const backoff = (row.backoff as ParsedBackoff | null) ?? definition.options.backoff ?? DEFAULT_BACKOFF;
  const delayMs = delayOverride ?? backoffDelay(backoff, row.attempt, deps.random);
  return {
    id: row.id,
    attempt: row.attempt,
    state: 'pending',
    delayMs,
    error: { attempt: row.attempt, ...error },
  };
}

function end(row: ClaimedRow, state: Settlement['state'], error: Omit<AttemptError, 'attempt'>): Settlement {
  return { id: row.id, attempt: row.attempt, state, error: { attempt: row.attempt, ...error } };
}

function createContext(row: ClaimedRow, signal: () => AbortSignal, logger: Logger): JobContext {
  const job: JobInfo = {
    id: row.id,
    name: row.name,
    queue: row.queue,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    key: row.key,
    runAt: row.run_at,
    createdAt: row.created_at,
    schedule: row.schedule,
    occurrence: row.occurrence,
    fireAt: row.fire_at,
  };
  let log: Logger | undefined;
  return {
    job,
    get signal() {
      return signal();
    },
    // A child logger costs an allocation per job; most handlers never log, so make it on demand.
    get log() {
      log ??= logger.child({ jobId: row.id, job: row.name, attempt: row.attempt });
      return log;
    },
  };
}
