import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { Duty } from './leader.js';

/**
 * Takes back running jobs whose lease expired (their worker died or froze): at-least-once
 * jobs return to `pending` unless their attempts are used up; at-most-once jobs end `failed`,
 * because their handler may already have run.
 */
export function createRescuer(sql: Sql, schema: string, logger: Logger, everyMs = 1_000): Duty {
  const jobs = sql`${sql(schema)}.jobs`;
  return {
    name: 'rescuer',
    async runOnce() {
      const rows = await sql<{ id: string; state: string }[]>`
        with expired as (
          select id from ${jobs}
          where state = 'running' and locked_until < now()
          order by locked_until
          limit 1000
          for update skip locked
        ), rescued as (
          update ${jobs} j set
          state = case when j.at_most_once or j.attempt >= j.max_attempts then 'failed' else 'pending' end::${sql(schema)}.job_state,
          errors = j.errors || jsonb_build_array(jsonb_build_object(
            'attempt', j.attempt, 'at', now(), 'kind', 'lease-expired',
            'message', 'lease expired: worker ' || coalesce(j.locked_by, '?') || ' stopped heartbeating')),
          -- The attempt history (0007), as the settle records attempts that did not complete.
          history = (case when jsonb_array_length(j.history) >= 100 then j.history - 0 else j.history end)
            || jsonb_build_array(jsonb_build_object('attempt', j.attempt, 'startedAt', j.started_at,
                 'finishedAt', now(), 'worker', j.locked_by, 'outcome', 'lease-expired')),
          run_at = now(),
          finished_at = case when j.at_most_once or j.attempt >= j.max_attempts then now() end,
          locked_by = null,
          locked_until = null
        from expired
        where j.id = expired.id
        returning j.id, j.state, j.queue
        ), counted as (
          -- Jobs failed for good here count in stats() like those a worker fails (job_counts, 0007).
          insert into ${sql(schema)}.job_counts as c (bucket, queue, worker, failed)
          select to_timestamp(floor(extract(epoch from now()) / 10) * 10), r.queue, 'rescuer', count(*)
          from rescued r where r.state = 'failed' group by r.queue
          on conflict (bucket, queue, worker) do update set failed = c.failed + excluded.failed
        )
        select r.id, r.state from rescued r`;
      if (rows.length > 0) {
        logger.warn(
          { rescued: rows.length, ids: rows.slice(0, 20).map((r) => r.id) },
          'rescued jobs with expired leases',
        );
      }
      return rows.length === 1000 ? 0 : everyMs;
    },
  };
}
