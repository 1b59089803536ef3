import type { Sql, TransactionSql } from 'postgres';
import { pgArray } from './pg-array.js';

/** A postgres.js client or a transaction from `sql.begin`. */
export type Db = Sql | TransactionSql;

/** The columns a claim returns: what a worker needs to run the job. */
export interface ClaimedRow {
  id: string;
  /** started_at as the server prints it (microseconds, offset): names this claim (see Settlement.claimedAt). */
  claimed_at: string;
  name: string;
  queue: string;
  payload: unknown;
  priority: number;
  attempt: number;
  max_attempts: number;
  visibility_ms: number;
  timeout_ms: number | null;
  backoff: Record<string, unknown> | null;
  at_most_once: boolean;
  key: string | null;
  serial_key: string | null;
  /** Epoch milliseconds: a float is parsed far faster than a timestamp, and most jobs never read them. */
  run_at_ms: number;
  created_at_ms: number;
  schedule: string | null;
  occurrence: string | null;
  fire_at_ms: number | null;
}

export interface InsertValues {
  name: string;
  payload: string;
  queue: string;
  priority: number;
  runAt: Date | null;
  delayMs: number;
  maxAttempts: number | null;
  timeoutMs: number | null;
  visibilityMs: number | null;
  atMostOnce: boolean | null;
  backoff: string | null;
  serialKey: string | null;
  key: string | null;
}

/**
 * Outcomes of many attempts as parallel arrays, each one PostgreSQL array literal (`{…}`, see
 * settlement.ts): joining them is far cheaper than the driver escaping every element.
 */
export interface SettleBatch {
  ids: string;
  attempts: string;
  /** Each attempt's claim time (`started_at` as the server printed it). */
  claims: string;
  states: string;
  /** JSON texts, or NULL; `{}` when all are NULL. */
  results: string;
  /** JSON texts, or NULL; `{}` when all are NULL. */
  errors: string;
  delays: string;
  /** 1 gives the attempt back (snooze, release), else 0. */
  refunds: string;
}

/** Per-name defaults a worker applies to rows whose enqueuer left them unset. */
export interface ClaimDefaults {
  names: string[];
  maxAttempts: number[];
  visibilityMs: number[];
  /** 1 for at-most-once, else 0 (postgres.js does not bind boolean arrays). */
  atMostOnce: number[];
}

/**
 * Every statement of the hot path. Values are always bound parameters; the schema is always
 * an escaped identifier through `sql(schema)`.
 */
export function createQueries(sql: Sql, schema: string) {
  const jobs = sql`${sql(schema)}.jobs`;
  // A serial job is claimable only while no job of its group runs and it is the group's oldest
  // pending job; so even two workers claiming at once cannot start two of a group.
  const serialClause = sql`(
    not exists (select 1 from ${jobs} r where r.serial_key = c.serial_key and r.state = 'running')
    and c.id = (select min(p.id) from ${jobs} p where p.serial_key = c.serial_key and p.state = 'pending'))`;

  return {
    /** Inserts one job; returns no row when an unfinished job holds the same key. */
    insert: (db: Db, v: InsertValues) => db<{ id: string }[]>`
      insert into ${jobs} (name, payload, queue, priority, run_at, max_attempts, timeout_ms, visibility_ms,
                           at_most_once, backoff, serial_key, key)
      values (${v.name}, ${v.payload}::text::jsonb, ${v.queue}, ${v.priority},
              coalesce(${v.runAt}::timestamptz, now() + ${v.delayMs}::bigint * interval '1 millisecond'),
              ${v.maxAttempts}::int, ${v.timeoutMs}::int, ${v.visibilityMs}::int, ${v.atMostOnce}::bool,
              ${v.backoff}::text::jsonb, ${v.serialKey}::text, ${v.key}::text)
      on conflict (key) where key is not null and state in ('pending', 'running') do nothing
      returning id`,

    unfinishedByKey: (db: Db, key: string) => db<{ id: string }[]>`
      select id from ${jobs} where key = ${key} and state in ('pending', 'running')`,

    /** Inserts many jobs in one statement from one JSON array of payloads, in order. */
    insertMany: (db: Db, v: Omit<InsertValues, 'payload' | 'key'>, payloadsJson: string) => db<
      { id: string }[]
    >`
      insert into ${jobs} (name, payload, queue, priority, run_at, max_attempts, timeout_ms, visibility_ms,
                           at_most_once, backoff, serial_key)
      select ${v.name}, p.value, ${v.queue}, ${v.priority},
             coalesce(${v.runAt}::timestamptz, now() + ${v.delayMs}::bigint * interval '1 millisecond'),
             ${v.maxAttempts}::int, ${v.timeoutMs}::int, ${v.visibilityMs}::int, ${v.atMostOnce}::bool,
             ${v.backoff}::text::jsonb, ${v.serialKey}::text
      from jsonb_array_elements(${payloadsJson}::text::jsonb) with ordinality as p(value, ord)
      order by p.ord
      returning id`,

    /**
     * Claims up to `limit` runnable jobs in priority, then run-time order, in one statement.
     * SKIP LOCKED lets any number of workers claim concurrently without blocking each other.
     */
    claim: (workerId: string, limit: number, queues: string[] | null, d: ClaimDefaults) => {
      const names = pgArray(d.names);
      const queueList = queues === null ? null : pgArray(queues);
      const visibilityMs = pgArray(d.visibilityMs);
      return sql<ClaimedRow[]>`
      with next as (
        select c.id from ${jobs} c
        where c.state = 'pending' and c.run_at <= now()
          and c.name = any(${names}::text[])
          and (${queueList}::text[] is null or c.queue = any(${queueList}::text[]))
          and (c.serial_key is null or ${serialClause})
        order by c.priority, c.run_at, c.id
        limit ${limit}
        for update skip locked
      )
      update ${jobs} j set
        state = 'running',
        attempt = j.attempt + 1,
        locked_by = ${workerId},
        max_attempts = coalesce(j.max_attempts, (${pgArray(d.maxAttempts)}::int[])[array_position(${names}::text[], j.name)]),
        visibility_ms = coalesce(j.visibility_ms, (${visibilityMs}::int[])[array_position(${names}::text[], j.name)]),
        at_most_once = coalesce(j.at_most_once, (${pgArray(d.atMostOnce)}::int[])[array_position(${names}::text[], j.name)] = 1),
        locked_until = now() + coalesce(j.visibility_ms,
          (${visibilityMs}::int[])[array_position(${names}::text[], j.name)]) * interval '1 millisecond',
        started_at = now()
      -- = any(array(...)) probes the primary key; a join with next let the planner hash-join
      -- against a scan of the whole table (~20 ms per claim after a large drain).
      where j.id = any(array(select id from next))
      returning j.id, j.started_at::text as claimed_at, j.name, j.queue, j.payload, j.priority, j.attempt, j.max_attempts, j.visibility_ms, j.timeout_ms,
                j.backoff, j.at_most_once, j.key, j.serial_key, j.schedule, j.occurrence,
                -- numeric, then float8: exact whole milliseconds (date_part's float8 seconds are not)
                (extract(epoch from j.run_at) * 1000)::float8 as run_at_ms,
                (extract(epoch from j.created_at) * 1000)::float8 as created_at_ms,
                (extract(epoch from j.fire_at) * 1000)::float8 as fire_at_ms`;
    },

    /**
     * Writes the outcome of many attempts in one statement. Each row only matches while the
     * attempt still owns its job (same claim, attempt and worker, still running), so a worker
     * whose lease expired can never overwrite a newer attempt; unmatched ids are not returned.
     * With `deleteCompleted`, completed jobs are deleted rather than kept (retention 0): a
     * DELETE costs the server about half of an UPDATE, which writes a new row version and index
     * entries.
     */
    settle: (workerId: string, b: SettleBatch, deleteCompleted: boolean) => sql<{ id: string }[]>`
      with v as (
        select * from unnest(${b.ids}::bigint[], ${b.attempts}::int[], ${b.claims}::timestamptz[], ${b.states}::text[],
                             ${b.results}::text[], ${b.errors}::text[], ${b.delays}::bigint[], ${b.refunds}::int[])
          as v(id, attempt, claimed_at, state, result, error, delay_ms, refund)
      ), owned as (
        -- The plan must be "walk the batch, probe the primary key per row" whatever the statistics
        -- say. A plain join let the planner, believing almost nothing is running or locked by this
        -- worker, scan the table and rescan the whole batch per row (seconds per statement). The
        -- lateral fixes the join order; state::text keeps the tiny-looking partial lease index
        -- out of the probe. FOR UPDATE also keeps the subquery from being flattened into a join.
        -- The writes below join by = ANY(ARRAY[id]): an equality could be hash-joined against a
        -- scan of the whole table (~20 ms per batch of 500 at 50k rows), and a range (BETWEEN),
        -- guessed to match thousands of rows per probe, lost to a nested loop over the whole table
        -- under generic plans (~1 s per batch of 1,000 at 20k rows). An array of one element is
        -- estimated as one row and cannot be hashed, so the plan is a primary-key probe per row.
        select v.*, k.id as job_id, v.state = 'completed' and ${deleteCompleted}::bool as remove
        from v cross join lateral (
          select id from ${jobs} k
          where k.id = v.id and k.attempt = v.attempt and k.locked_by = ${workerId} and k.state::text = 'running'
            and k.started_at = v.claimed_at
          for update) k
      ), removed as (
        delete from ${jobs} j using owned o where j.id = any(array[o.job_id]) and o.remove
        returning j.id
      ), updated as (
        update ${jobs} j set
          state = o.state::${sql(schema)}.job_state,
          result = case when o.state = 'completed' then o.result::jsonb else j.result end,
          errors = case when o.error is null then j.errors
                   else j.errors || jsonb_build_array(o.error::jsonb || jsonb_build_object('at', now())) end,
          run_at = case when o.state = 'pending' then now() + o.delay_ms * interval '1 millisecond' else j.run_at end,
          attempt = j.attempt - o.refund,
          finished_at = case when o.state = 'pending' then null else now() end,
          locked_by = null,
          locked_until = null
        from owned o
        where j.id = any(array[o.job_id]) and not o.remove
        returning j.id
      )
      select id from removed union all select id from updated`,

    /**
     * Extends the lease of every job this worker still owns and returns those ids. Rows locked
     * right now are skipped, not waited for: they are being settled by this worker (done anyway)
     * or taken away by a cancel or the rescuer; waiting would deadlock against the settle batch.
     */
    heartbeat: (workerId: string, ids: string[]) => sql<{ id: string }[]>`
      with mine as (
        select id from ${jobs}
        where id = any(${pgArray(ids)}::bigint[]) and locked_by = ${workerId} and state = 'running'
        for update skip locked)
      update ${jobs} j set locked_until = now() + j.visibility_ms * interval '1 millisecond'
      from mine where j.id = mine.id
      returning j.id`,

    /** Returns claimed-but-unstarted jobs to the queue as if never claimed. */
    release: (workerId: string, ids: string[]) => sql`
      update ${jobs} set state = 'pending', attempt = attempt - 1, locked_by = null, locked_until = null,
        started_at = null
      where id = any(${pgArray(ids)}::bigint[]) and locked_by = ${workerId} and state = 'running'`,
  };
}

export type Queries = ReturnType<typeof createQueries>;
