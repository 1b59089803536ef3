import type { Sql } from 'postgres';
import { PgschedError, PgschedValidationError } from './errors.js';
import type { JobManager } from './jobs/index.js';
import type { Job } from './jobs/types.js';

export type { Job, JobError, JobState } from './jobs/types.js';

/** Job ids are bigints; accept them as strings, numbers or bigints and pass them on as text. */
export function parseJobId(field: string, id: unknown): string {
  const text = typeof id === 'bigint' || typeof id === 'number' ? String(id) : id;
  if (typeof text !== 'string' || !/^[1-9]\d{0,18}$/.test(text)) {
    throw new PgschedValidationError(field, id, 'expected a positive integer job id');
  }
  return text;
}

export function createManagement(sql: Sql, schema: string, manage: JobManager) {
  const jobs = sql`${sql(schema)}.jobs`;
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
