import { PgschedError, PgschedValidationError } from './errors.js';
import type { JobManager } from './jobs/index.js';
import type { Job } from './jobs/types.js';

export type { Job, JobError, JobState } from './jobs/types.js';

const MAX_BIGINT = 9_223_372_036_854_775_807n;

/**
 * Job ids are bigints; accept them as strings, numbers or bigints and pass them on as text. A number
 * past 2^53 is refused: it may already be a neighbouring id. Past the bigint range the database would
 * fail the statement.
 */
export function parseJobId(field: string, id: unknown): string {
  const text =
    typeof id === 'bigint' || (typeof id === 'number' && Number.isSafeInteger(id)) ? String(id) : id;
  if (typeof text !== 'string' || !/^[1-9]\d{0,18}$/.test(text) || BigInt(text) > MAX_BIGINT) {
    throw new PgschedValidationError(field, id, 'expected a positive integer job id (at most 2^63 - 1)');
  }
  return text;
}

export function createManagement(manage: JobManager) {
  return {
    getJob(id: unknown): Promise<Job | null> {
      return manage.getJob(parseJobId('getJob.id', id));
    },

    /**
     * Cancels a pending or running job. A running job's row is ended here (its attempt recorded
     * as cancelled), so its worker's outcome matches no row; the NOTIFY lets that worker abort the
     * handler's signal at once.
     */
    async cancel(id: unknown): Promise<boolean> {
      return (await manage.cancelIds([parseJobId('cancel.id', id)])) > 0;
    },

    /**
     * Puts a failed or cancelled job back to `pending` now, with one more attempt if it had none left;
     * a job that was never claimed keeps its unset maxAttempts, so the definition's applies (the same
     * statement as retryJobs). Refused while another unfinished job of the same name holds the same
     * key (keys belong to their job name: another name's job with that key is no conflict).
     */
    async retry(id: unknown): Promise<boolean> {
      const jobId = parseJobId('retry.id', id);
      if ((await manage.retryIds([jobId])) > 0) return true;
      if (await manage.keyHeld(jobId)) {
        throw new PgschedError(
          `Cannot retry job ${jobId}: another unfinished job of its name holds the same key`,
        );
      }
      return false;
    },
  };
}
