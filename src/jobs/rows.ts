import type { JobRow } from './queries.js';
import type { Job, JobAttempt } from './types.js';

/**
 * A selected row as the public Job. Attempts come from `history` (every attempt that did not
 * complete the job, written with its outcome) plus the row itself for the attempt running now or
 * the one that completed the job: that one costs no write of its own.
 */
export function toJob(row: JobRow): Job {
  const { history, ...rest } = row;
  const attempts: JobAttempt[] = history.map((h) => {
    const attempt: JobAttempt = {
      attempt: h.attempt,
      startedAt: new Date(h.startedAt),
      finishedAt: new Date(h.finishedAt),
      worker: h.worker ?? null,
      outcome: h.outcome,
    };
    if (h.outcome !== 'snoozed') {
      // A snooze gives its attempt number back and records no error; every other ended attempt
      // records at most one error, under its own number.
      const error = row.errors.findLast((e) => e.attempt === h.attempt);
      if (error) attempt.error = error;
    }
    return attempt;
  });
  if ((row.state === 'running' || row.state === 'completed') && row.startedAt !== null) {
    attempts.push({
      attempt: row.attempt,
      startedAt: row.startedAt,
      finishedAt: row.state === 'running' ? null : row.finishedAt,
      worker: row.lockedBy,
      outcome: row.state,
    });
  }
  return { ...rest, lockedBy: row.state === 'running' ? row.lockedBy : null, attempts };
}
