import type { Sql } from 'postgres';
import { PgschedError, PgschedValidationError } from './errors.js';

export type JobState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** One entry of `Job.errors`: a failed (or interrupted) attempt. */
export interface JobError {
  attempt: number;
  at: string;
  message: string;
  name?: string;
  stack?: string;
  kind?: string;
}

/** A job row as `getJob` returns it. */
export interface Job<P = unknown, R = unknown> {
  id: string;
  name: string;
  queue: string;
  state: JobState;
  priority: number;
  attempt: number;
  /** Null until first claimed when neither the enqueuer nor a local definition set it. */
  maxAttempts: number | null;
  payload: P;
  result: R | null;
  errors: JobError[];
  key: string | null;
  runAt: Date;
  lockedBy: string | null;
  lockedUntil: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Scheduled jobs: the schedule, the occurrence key (UUIDv5 of schedule and fire time) and the fire time. */
  schedule: string | null;
  occurrence: string | null;
  fireAt: Date | null;
}

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

export function createManagement(sql: Sql, schema: string) {
  const jobs = sql`${sql(schema)}.jobs`;
  return {
    async getJob(id: unknown): Promise<Job | null> {
      const [row] = await sql<Job[]>`
        select id, name, queue, state, priority, attempt, max_attempts as "maxAttempts", payload, result, errors, key,
               run_at as "runAt", locked_by as "lockedBy", locked_until as "lockedUntil", created_at as "createdAt",
               started_at as "startedAt", finished_at as "finishedAt", schedule, occurrence, fire_at as "fireAt"
        from ${jobs} where id = ${parseJobId('getJob.id', id)}`;
      return row ?? null;
    },

    /**
     * Cancels a pending or running job. A running job's row is ended here, so its worker's
     * outcome matches no row; the NOTIFY lets that worker abort the handler's signal at once.
     */
    async cancel(id: unknown): Promise<boolean> {
      const jobId = parseJobId('cancel.id', id);
      const rows = await sql`
        with cancelled as (
          update ${jobs} set state = 'cancelled', finished_at = now(), locked_by = null, locked_until = null
          where id = ${jobId} and state in ('pending', 'running')
          returning id, attempt)
        select pg_notify(${`${schema}.cancel`}, id || ':' || attempt) from cancelled`;
      return rows.length > 0;
    },

    /**
     * Puts a failed or cancelled job back to `pending` now, with one more attempt if it had none left;
     * a job that was never claimed keeps its unset maxAttempts, so the definition's applies.
     */
    async retry(id: unknown): Promise<boolean> {
      const jobId = parseJobId('retry.id', id);
      try {
        const rows = await sql`
          update ${jobs} set state = 'pending', run_at = now(), finished_at = null,
            -- NULL (never claimed, enqueued without the definition) stays NULL: the claim then applies
            -- the definition's maxAttempts. greatest() would ignore the NULL and allow one attempt.
            max_attempts = case when max_attempts is not null then greatest(max_attempts, attempt + 1) end
          where id = ${jobId} and state in ('failed', 'cancelled')
          returning id`;
        return rows.length > 0;
      } catch (error) {
        if ((error as { code?: string }).code === '23505') {
          throw new PgschedError(`Cannot retry job ${jobId}: another unfinished job holds the same key`);
        }
        throw error;
      }
    },
  };
}
