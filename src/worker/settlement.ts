import { storableText } from '../payload.js';
import type { SettleBatch } from '../queries.js';

/** The outcome of one attempt, as the settle statement writes it. */
export interface Settlement {
  id: string;
  attempt: number;
  state: 'completed' | 'pending' | 'failed' | 'cancelled';
  /** JSON text of the result (completed only). */
  resultJson?: string;
  error?: AttemptError;
  /** Delay before the next attempt (pending only). */
  delayMs?: number;
  /** Give the attempt back (snooze, or released before the handler started). */
  refund?: boolean;
}

/** One entry of a job's `errors`; the database adds `at` with its own clock. */
export interface AttemptError {
  attempt: number;
  message: string;
  name?: string;
  stack?: string;
  /** `timeout`, `cancel`, `discard`, `shutdown`, `payload`, or absent for a thrown error. */
  kind?: string;
}

/** Turns settlements into the parallel arrays of the settle statement. */
export function toSettleBatch(batch: readonly Settlement[]): SettleBatch {
  const out: SettleBatch = {
    ids: [],
    attempts: [],
    states: [],
    results: [],
    errors: [],
    delays: [],
    refunds: [],
  };
  for (const s of batch) {
    out.ids.push(s.id);
    out.attempts.push(s.attempt);
    out.states.push(s.state);
    out.results.push(s.resultJson ?? null);
    out.errors.push(s.error ? JSON.stringify(storableError(s.error)) : null);
    out.delays.push(s.delayMs ?? 0);
    out.refunds.push(s.refund ? 1 : 0);
  }
  return out;
}

/** Error texts come from handlers: one NUL or unpaired surrogate would fail the whole batch in jsonb. */
function storableError(error: AttemptError): AttemptError {
  return {
    ...error,
    message: storableText(error.message),
    name: error.name === undefined ? undefined : storableText(error.name),
    stack: error.stack === undefined ? undefined : storableText(error.stack),
  };
}
