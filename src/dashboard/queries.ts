import type { Sql } from 'postgres';

/** One minute of finished jobs; `t` is the minute's start in Unix seconds. */
export interface ThroughputPoint {
  t: number;
  completed: number;
  failed: number;
}

/** The dashboard's own reads: aggregates that the library's management API does not offer. */
export function createDashboardQueries(sql: Sql, schema: string) {
  const jobs = sql`${sql(schema)}.jobs`;
  return {
    /**
     * Completed and failed jobs per minute over the last hour, oldest first, from the rows still
     * kept (retention prunes completed jobs after 1 h by default; `completed: 0` keeps none). It
     * reads the partial index on finished_at, so the cost follows the hour's volume, not the table.
     */
    async throughput(): Promise<ThroughputPoint[]> {
      return sql<ThroughputPoint[]>`
        with counts as (
          select date_trunc('minute', finished_at) as minute,
                 count(*) filter (where state = 'completed') as completed,
                 count(*) filter (where state = 'failed') as failed
          from ${jobs}
          where state in ('completed', 'failed')
            and finished_at >= date_trunc('minute', now()) - interval '59 minutes'
          group by 1)
        select extract(epoch from b.minute)::int as t,
               coalesce(counts.completed, 0)::int as completed,
               coalesce(counts.failed, 0)::int as failed
        from generate_series(date_trunc('minute', now()) - interval '59 minutes',
                             date_trunc('minute', now()), interval '1 minute') as b(minute)
        left join counts on counts.minute = b.minute
        order by b.minute`;
    },

    /** Jobs by queue and state, for `/metrics` when the library offers no metrics(). */
    async countsByQueue(): Promise<{ queue: string; state: string; n: number }[]> {
      return sql<{ queue: string; state: string; n: number }[]>`
        select queue, state::text as state, count(*)::int as n from ${jobs} group by 1, 2 order by 1, 2`;
    },

    /** Reachability of the database, for `/health`. */
    async ping(): Promise<void> {
      await sql`select 1`;
    },
  };
}

export type DashboardQueries = ReturnType<typeof createDashboardQueries>;
