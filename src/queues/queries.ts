import type { Sql, TransactionSql } from 'postgres';
import { pgArray } from '../pg-array.js';
import { transaction } from '../transaction.js';
import type { ParsedPolicy } from './policy.js';

/** A `queues` row with the job counts of its queue. */
export interface QueueRow {
  name: string;
  paused: boolean;
  concurrency: number | null;
  rate_limit: number | null;
  rate_period_ms: string | null;
  group_concurrency: number | null;
  group_rate_limit: number | null;
  group_rate_period_ms: string | null;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
}

/**
 * Every statement of queue policies. A queue with neither a limit nor a pause has no row, so that
 * claims with no policy anywhere keep their single-statement fast path (sql/0006). Every change
 * NOTIFYs, in its own transaction, the jobs channel (a resumed queue or a raised limit may have jobs
 * to start now, and workers should not wait for their poll) and `<schema>.queues` (workers re-read
 * which queues are paused, see FlowNotifier).
 */
export function createQueueQueries(sql: Sql, schema: string) {
  const queues = sql`${sql(schema)}.queues`;
  const jobs = sql`${sql(schema)}.jobs`;
  const starts = sql`${sql(schema)}.queue_starts`;
  const channel = `${schema}.jobs`;

  /** Deletes the row if it holds nothing, and wakes the workers (run after the change, in its transaction). */
  const finish = async (tx: TransactionSql, name: string) => {
    await tx`
      delete from ${queues} q where q.name = ${name} and not q.paused and q.concurrency is null
        and q.rate_limit is null and q.group_concurrency is null and q.group_rate_limit is null`;
    await tx`select pg_notify(${channel}, ''), pg_notify(${`${schema}.queues`}, ${name})`;
  };

  return {
    /** Upserts the given fields (undefined: keep, null: clear); forgets counted starts of cleared rates. */
    set: (name: string, p: ParsedPolicy) => {
      const keep = (v: unknown) => v === undefined;
      return transaction(sql, async (tx) => {
        await tx`
          insert into ${queues} (name, concurrency, rate_limit, rate_period_ms, group_concurrency,
                                 group_rate_limit, group_rate_period_ms)
          values (${name}, ${p.concurrency ?? null}::int, ${p.rateLimit?.limit ?? null}::int,
                  ${p.rateLimit?.period ?? null}::bigint, ${p.groupConcurrency ?? null}::int,
                  ${p.groupRateLimit?.limit ?? null}::int, ${p.groupRateLimit?.period ?? null}::bigint)
          on conflict (name) do update set
            concurrency = case when ${keep(p.concurrency)}::bool then ${queues}.concurrency
                          else excluded.concurrency end,
            rate_limit = case when ${keep(p.rateLimit)}::bool then ${queues}.rate_limit else excluded.rate_limit end,
            rate_period_ms = case when ${keep(p.rateLimit)}::bool then ${queues}.rate_period_ms
                             else excluded.rate_period_ms end,
            group_concurrency = case when ${keep(p.groupConcurrency)}::bool then ${queues}.group_concurrency
                                else excluded.group_concurrency end,
            group_rate_limit = case when ${keep(p.groupRateLimit)}::bool then ${queues}.group_rate_limit
                               else excluded.group_rate_limit end,
            group_rate_period_ms = case when ${keep(p.groupRateLimit)}::bool then ${queues}.group_rate_period_ms
                                   else excluded.group_rate_period_ms end,
            updated_at = now()`;
        if (p.rateLimit === null) await tx`delete from ${starts} where queue = ${name} and group_key = ''`;
        if (p.groupRateLimit === null)
          await tx`delete from ${starts} where queue = ${name} and group_key <> ''`;
        await finish(tx, name);
      });
    },

    /** Pauses (true) or resumes (false) a queue. */
    pause: (name: string, paused: boolean) =>
      transaction(sql, async (tx) => {
        await tx`
          insert into ${queues} (name, paused) values (${name}, ${paused})
          on conflict (name) do update set paused = excluded.paused, updated_at = now()`;
        await finish(tx, name);
      }),

    /** The policy rows of `names` (all when null) and the job counts of those queues. */
    read: (names: string[] | null) => sql<QueueRow[]>`
      with counts as (
        select j.queue,
               count(*) filter (where j.state = 'pending')::int as pending,
               count(*) filter (where j.state = 'running')::int as running,
               count(*) filter (where j.state = 'completed')::int as completed,
               count(*) filter (where j.state = 'failed')::int as failed,
               count(*) filter (where j.state = 'cancelled')::int as cancelled
        from ${jobs} j
        where ${names === null ? sql`true` : sql`j.queue = any(${pgArray(names)}::text[])`}
        group by j.queue
      ), names as (
        select q.name from ${queues} q
        where ${names === null ? sql`true` : sql`q.name = any(${pgArray(names)}::text[])`}
        union
        select c.queue from counts c
        union
        select unnest(${pgArray(names ?? [])}::text[])
      )
      select n.name, coalesce(q.paused, false) as paused, q.concurrency, q.rate_limit,
             q.rate_period_ms, q.group_concurrency, q.group_rate_limit, q.group_rate_period_ms,
             coalesce(c.pending, 0) as pending, coalesce(c.running, 0) as running,
             coalesce(c.completed, 0) as completed, coalesce(c.failed, 0) as failed,
             coalesce(c.cancelled, 0) as cancelled
      from names n left join ${queues} q on q.name = n.name left join counts c on c.queue = n.name
      order by n.name`,
  };
}

export type QueueQueries = ReturnType<typeof createQueueQueries>;
