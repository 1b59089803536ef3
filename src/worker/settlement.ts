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
  /** The worker stopped before the handler finished (recorded as `shutdown` in the attempt history). */
  shutdown?: boolean;
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
  let anyResult = false;
  let anyError = false;
  for (const s of batch) {
    ids.push(s.id);
    attempts.push(s.attempt);
    claims.push(s.claimedAt);
    states.push(s.state);
    const result = withResults ? (s.resultJson ?? null) : null;
    results.push(result);
    anyResult ||= result !== null;
    errors.push(s.error ? JSON.stringify(storableError(s.error)) : null);
    anyError ||= s.error !== undefined;
    delays.push(s.delayMs ?? 0);
    // 2: given back because this worker stopped, so the attempt history can tell it from a snooze.
    refunds.push(s.refund ? (s.shutdown ? 2 : 1) : 0);
  }
  // Ids, numbers, states and server-printed timestamps never hold a quote, backslash, comma or
  // brace, so one native join each does; only handler-made texts go through pgArray's quoting.
  // An empty array reads as all NULL: unnest pads shorter arrays with NULLs.
  return {
    ids: `{${ids.join(',')}}`,
    attempts: `{${attempts.join(',')}}`,
    claims: claims.length === 0 ? '{}' : `{"${claims.join('","')}"}`,
    states: `{${states.join(',')}}`,
    results: anyResult ? pgArray(results) : '{}',
    errors: anyError ? pgArray(errors) : '{}',
    delays: `{${delays.join(',')}}`,
    refunds: `{${refunds.join(',')}}`,
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
