import type { Sql } from 'postgres';
import { pgArray } from '../pg-array.js';
import type { Job, JobAttempt, JobState } from './types.js';

/** A validated filter of listJobs, retryJobs and cancelJobs; null fields do not filter. */
export interface JobFilter {
  states: JobState[] | null;
  queue: string | null;
  name: string | null;
  group: string | null;
  key: string | null;
  /** Jobs created at or after this time. */
  since: Date | null;
  ids: string[] | null;
}

/** A job row as selected, before attempts are derived from `history` (see rows.ts). */
export type JobRow = Omit<Job, 'attempts'> & {
  history: (Omit<JobAttempt, 'startedAt' | 'finishedAt' | 'error'> & {
    startedAt: string;
    finishedAt: string;
  })[];
};

/** Rows locked by one bulk statement at most: bounded lock time and memory however many match. */
export const BULK_BATCH = 5_000;

/**
 * Every statement of job management (getJob, listing, bulk actions, progress, stats). Values are
 * always bound parameters; the schema always goes through `sql(schema)`.
 */
export function createJobQueries(sql: Sql, schema: string) {
  const jobs = sql`${sql(schema)}.jobs`;
  const stateType = sql`${sql(schema)}.job_state`;
  const columns = sql`
    j.id, j.name, j.queue, j.group_key as "group", j.state, j.priority, j.attempt, j.max_attempts as "maxAttempts", j.payload,
    j.result, j.progress, j.errors, j.history, j.key, j.run_at as "runAt", j.locked_by as "lockedBy",
    j.locked_until as "lockedUntil", j.created_at as "createdAt", j.started_at as "startedAt",
    j.finished_at as "finishedAt", j.schedule, j.occurrence, j.fire_at as "fireAt"`;

  const where = (f: JobFilter) => sql`
    ${f.states === null ? sql`` : sql`and j.state = any(${pgArray(f.states)}::${stateType}[])`}
    ${f.queue === null ? sql`` : sql`and j.queue = ${f.queue}`}
    ${f.name === null ? sql`` : sql`and j.name = ${f.name}`}
    ${f.group === null ? sql`` : sql`and j.group_key = ${f.group}`}
    ${f.key === null ? sql`` : sql`and j.key = ${f.key}`}
    ${f.since === null ? sql`` : sql`and j.created_at >= ${f.since}`}
    ${f.ids === null ? sql`` : sql`and j.id = any(${pgArray(f.ids)}::bigint[])`}`;

  // The attempt that a cancel or the rescuer ends, appended to history as the settle does (0007).
  const historyPush = (outcome: string) => sql`
    (case when jsonb_array_length(j.history) >= 100 then j.history - 0 else j.history end)
      || jsonb_build_array(jsonb_build_object('attempt', j.attempt, 'startedAt', j.started_at,
           'finishedAt', now(), 'worker', j.locked_by, 'outcome', ${outcome}::text))`;

  return {
    byId: (id: string) => sql<JobRow[]>`select ${columns} from ${jobs} j where j.id = ${id}`,

    /** Keyset page: ids strictly beyond `after`, in id order; one row more than `limit` tells if there is a next page. */
    list: (f: JobFilter, after: string | null, newest: boolean, limit: number) => sql<JobRow[]>`
      select ${columns} from ${jobs} j
      where true ${where(f)}
      ${after === null ? sql`` : newest ? sql`and j.id < ${after}` : sql`and j.id > ${after}`}
      ${newest ? sql`order by j.id desc` : sql`order by j.id`}
      limit ${limit + 1}`,

    deleteOne: (id: string) => sql`delete from ${jobs} where id = ${id} and state <> 'running' returning id`,

    /**
     * Returns one batch of failed or cancelled jobs (ids above `afterId`) to pending, and wakes the
     * workers. Of several jobs of one name sharing a key only the newest is retried, and only while
     * no unfinished job of that name holds the key (keys belong to their job name, 0006).
     */
    retryBatch: (f: JobFilter, afterId: string, wait: boolean) => sql<{ last: string | null; n: number }[]>`
      with picked as (
        select j.id, j.name, j.key from ${jobs} j
        where j.state in ('failed', 'cancelled') ${where(f)} and j.id > ${afterId}
        order by j.id limit ${BULK_BATCH}
        ${wait ? sql`for update` : sql`for update skip locked`}
      ), ranked as (
        select p.id, p.name, p.key, row_number() over (partition by p.name, p.key order by p.id desc) as rn
        from picked p
      ), chosen as (
        select r.id from ranked r
        where r.key is null or (r.rn = 1 and not exists (
          select 1 from ${jobs} u where u.name = r.name and u.key = r.key and u.state in ('pending', 'running')))
      ), retried as (
        update ${jobs} j set state = 'pending', run_at = now(), finished_at = null, locked_by = null,
          locked_until = null,
          -- NULL (never claimed) stays NULL, so the definition's maxAttempts applies at the claim.
          max_attempts = case when j.max_attempts is not null then greatest(j.max_attempts, j.attempt + 1) end
        from chosen c where j.id = c.id
        returning j.id
      ), notified as (
        select pg_notify(${`${schema}.jobs`}, '') from (select 1 from retried limit 1) x
      )
      select (select max(p.id) from picked p)::text as last, (select count(*) from retried)::int as n,
             (select count(*) from notified)::int as notified`,

    /** Whether a failed or cancelled keyed job is kept from a retry by an unfinished job of its name and key. */
    keyHeld: (id: string) => sql<{ held: boolean }[]>`
      select exists (select 1 from ${jobs} o where o.name = t.name and o.key = t.key and o.state in ('pending', 'running'))
        as held
      from ${jobs} t where t.id = ${id} and t.state in ('failed', 'cancelled') and t.key is not null`,

    /**
     * Cancels one batch of pending or running jobs (ids above `afterId`). Running ones get a
     * `cancelled` attempt in their history and a NOTIFY, so their worker aborts the handler's signal
     * at once (its outcome then matches no row).
     */
    cancelBatch: (f: JobFilter, afterId: string, wait: boolean) => sql<{ last: string | null; n: number }[]>`
      with picked as (
        select j.id, j.state as was from ${jobs} j
        where j.state in ('pending', 'running') ${where(f)} and j.id > ${afterId}
        order by j.id limit ${BULK_BATCH}
        ${wait ? sql`for update` : sql`for update skip locked`}
      ), cancelled as (
        update ${jobs} j set state = 'cancelled', finished_at = now(), locked_by = null, locked_until = null,
          history = case when p.was = 'running' then ${historyPush('cancelled')} else j.history end
        from picked p where j.id = p.id
        returning j.id, j.attempt, p.was
      ), notified as (
        select pg_notify(${`${schema}.cancel`}, c.id || ':' || c.attempt) from cancelled c where c.was = 'running'
      )
      select (select max(p.id) from picked p)::text as last, (select count(*) from cancelled)::int as n,
             (select count(*) from notified)::int as notified`,

    /** Stores a running attempt's progress; matches only while that attempt still owns the job. */
    progress: (workerId: string, id: string, attempt: number, claimedAt: string, json: string) => sql`
      update ${jobs} set progress = ${json}::text::jsonb
      where id = ${id} and attempt = ${attempt} and locked_by = ${workerId} and state = 'running'
        -- ::text first: a timestamptz parameter would go through a JS Date and lose the microseconds.
        and started_at = ${claimedAt}::text::timestamptz`,

    /** Jobs per queue and state, now. */
    counts: () => sql<{ queue: string; state: JobState; n: number }[]>`
      select queue, state, count(*)::int as n from ${jobs} group by queue, state`,

    /**
     * Completed and failed per queue and minute over the last hour (the current minute last), and
     * over the last minute (the 10-second buckets that started within it), from job_counts (0007).
     */
    throughput: () => sql<
      {
        now: number;
        queue: string | null;
        minute: number;
        completed: number;
        failed: number;
        recent: boolean;
      }[]
    >`
      select (extract(epoch from now()) * 1000)::float8 as now, c.*
      from (select 1) one left join lateral (
        select k.queue, (extract(epoch from date_trunc('minute', k.bucket)) * 1000)::float8 as minute,
               sum(k.completed)::int as completed, sum(k.failed)::int as failed,
               k.bucket > now() - interval '1 minute' as recent
        from ${sql(schema)}.job_counts k
        where k.bucket >= date_trunc('minute', now()) - interval '59 minutes'
        group by 1, 2, 5) c on true`,
  };
}

export type JobQueries = ReturnType<typeof createJobQueries>;
