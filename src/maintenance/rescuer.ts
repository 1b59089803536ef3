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
        )
        update ${jobs} j set
          state = case when j.at_most_once or j.attempt >= j.max_attempts then 'failed' else 'pending' end::${sql(schema)}.job_state,
          errors = j.errors || jsonb_build_array(jsonb_build_object(
            'attempt', j.attempt, 'at', now(), 'kind', 'lease-expired',
            'message', 'lease expired: worker ' || coalesce(j.locked_by, '?') || ' stopped heartbeating')),
          run_at = now(),
          finished_at = case when j.at_most_once or j.attempt >= j.max_attempts then now() end,
          locked_by = null,
          locked_until = null
        from expired
        where j.id = expired.id
        returning j.id, j.state`;
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
