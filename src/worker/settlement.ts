import { storableText } from '../payload.js';
import { pgArray } from '../pg-array.js';
import type { SettleBatch } from '../queries.js';

/** The outcome of one attempt, as the settle statement writes it. */
export interface Settlement {
  id: string;
  attempt: number;
  /**
   * The claim's start time as the server printed it (to the microsecond, with its offset): with
   * the attempt number it names one claim exactly, since a snoozed job is claimed again under the
   * same attempt number.
   */
  claimedAt: string;
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

/**
 * Turns settlements into the parallel array literals of the settle statement. `withResults`
 * false leaves results out (completed jobs are deleted, so their results are never stored).
 */
export function toSettleBatch(batch: readonly Settlement[], withResults = true): SettleBatch {
  const ids: string[] = [];
  const attempts: number[] = [];
  const claims: string[] = [];
  const states: string[] = [];
  const results: (string | null)[] = [];
  const errors: (string | null)[] = [];
  const delays: number[] = [];
  const refunds: number[] = [];
  for (const s of batch) {
    ids.push(s.id);
    attempts.push(s.attempt);
    claims.push(s.claimedAt);
    states.push(s.state);
    results.push(withResults ? (s.resultJson ?? null) : null);
    errors.push(s.error ? JSON.stringify(storableError(s.error)) : null);
    delays.push(s.delayMs ?? 0);
    refunds.push(s.refund ? 1 : 0);
  }
  return {
    ids: pgArray(ids),
    attempts: pgArray(attempts),
    claims: pgArray(claims),
    states: pgArray(states),
    results: pgArray(results),
    errors: pgArray(errors),
    delays: pgArray(delays),
    refunds: pgArray(refunds),
  };
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
