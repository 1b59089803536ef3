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

/** Job ids are bigints; accept them as strings, numbers or bigints and pass them on as text. */
export function parseJobId(field: string, id: unknown): string {
  const text = typeof id === 'bigint' || typeof id === 'number' ? String(id) : id;
  if (typeof text !== 'string' || !/^[1-9]\d{0,18}$/.test(text)) {
    throw new PgschedValidationError(field, id, 'expected a positive integer job id');
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
     * Puts a failed or cancelled job back to `pending` now, with one more attempt if it had none left.
     * Refused while another unfinished job of the same name holds the same key (keys belong to their
     * job name: another name's job with that key is no conflict).
     */
    async retry(id: unknown): Promise<boolean> {
      const jobId = parseJobId('retry.id', id);
      const conflict = () =>
        new PgschedError(`Cannot retry job ${jobId}: another unfinished job of its name holds the same key`);
      try {
        const rows = await sql<{ id: string | null; held: boolean }[]>`
          with target as (
            select t.id, t.key is not null and exists (
                     select 1 from ${jobs} o
                     where o.name = t.name and o.key = t.key and o.state in ('pending', 'running')) as held
            from ${jobs} t where t.id = ${jobId} and t.state in ('failed', 'cancelled')
          ), retried as (
            update ${jobs} j set state = 'pending', run_at = now(), finished_at = null,
              max_attempts = greatest(coalesce(max_attempts, 1), attempt + 1)
            from target where j.id = target.id and not target.held
            returning j.id
          )
          select (select r.id from retried r) as id, coalesce((select t.held from target t), false) as held`;
        if (rows[0]?.held) throw conflict();
        return rows[0]?.id != null;
      } catch (error) {
        // A holder inserted between the check and the write: the unique (name, key) index refuses it.
        if ((error as { code?: string }).code === '23505') throw conflict();
        throw error;
      }
    },
  };
}
