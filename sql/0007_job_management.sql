-- Job management: progress, attempt history, throughput counters and the live workers registry.

-- `progress`: the latest value a handler reported through ctx.progress (any JSON).
-- `history`: the attempts that ended without completing the job (failed, snoozed, cancelled,
-- lease expired, shutdown), oldest first, at most 100. Those outcomes already rewrite the row, so
-- recording them costs no extra write; a completed attempt is not recorded here: it is the row
-- itself (attempt, started_at, finished_at and locked_by, which the settle keeps for completed jobs).
-- Both columns have constant defaults: adding them rewrites no rows.
alter table :SCHEMA.jobs
  add column progress jsonb,
  add column history jsonb not null default '[]';

-- Completed and failed jobs per queue in 10-second buckets, for stats() and the dashboard's
-- throughput chart. Written by the settle in the same statement as the outcomes (one row per
-- batch and queue, not per job), so the numbers do not depend on retention: completed jobs may be
-- deleted at once (retention 0) or pruned after an hour. One row per worker, so that workers
-- settling at once never wait on each other's counter row. Rows older than two hours are deleted
-- by every process's registry beat.
create table :SCHEMA.job_counts (
  bucket    timestamptz not null,
  queue     text not null,
  worker    text not null,
  completed bigint not null default 0,
  failed    bigint not null default 0,
  primary key (bucket, queue, worker)
);

-- Every started pgsched process records itself here and refreshes the row on a timer; a row not
-- refreshed by expires_at belongs to a dead process: it is no longer listed, and deleted by the
-- next beat of any process.
create table :SCHEMA.workers (
  id           text primary key,
  host         text not null,
  pid          integer not null,
  -- Null: every queue. Empty names: a process that runs no jobs (leader duties only).
  queues       text[],
  names        text[] not null default '{}',
  concurrency  integer not null,
  leader       boolean not null default false,
  started_at   timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at   timestamptz not null
);

-- Same signature and plan settings as in 0004; what changed:
--  * a non-completing outcome appends its attempt to `history` (outcome from the state, the
--    refund and the error's kind); p_refunds is 0 (attempt kept), 1 (given back: a snooze) or 2
--    (given back because the worker stopped: shutdown);
--  * completed jobs keep locked_by: the worker of their final attempt, for the attempt history;
--  * completed and failed jobs are counted in job_counts, one upsert per queue of the batch.
create or replace function :SCHEMA.settle_jobs(
  p_worker text, p_ids bigint[], p_attempts int[], p_claims timestamptz[], p_states text[],
  p_results text[], p_errors text[], p_delays_ms bigint[], p_refunds int[], p_delete_completed boolean)
returns setof bigint
language plpgsql
set enable_seqscan = off set enable_bitmapscan = off set enable_sort = off
set enable_hashjoin = off set enable_mergejoin = off set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  with v as (
    select * from unnest(p_ids, p_attempts, p_claims, p_states, p_results, p_errors, p_delays_ms, p_refunds)
      as v(id, attempt, claimed_at, state, result, error, delay_ms, refund)
  ), owned as (
    select v.*, v.state = 'completed' and p_delete_completed as remove
    from v cross join lateral (
      select k.id from :SCHEMA.jobs k
      -- state::text keeps the partial lease index out of the probe.
      where k.id = v.id and k.attempt = v.attempt and k.locked_by = p_worker and k.state::text = 'running'
        and k.started_at = v.claimed_at
      for update) k
  ), removed as (
    delete from :SCHEMA.jobs j where j.id = any(array(select o.id from owned o where o.remove))
    returning j.id, j.queue, 'completed'::text as state
  ), updated as (
    update :SCHEMA.jobs j set
      state = o.state:::SCHEMA.job_state,
      result = case when o.state = 'completed' then o.result::jsonb else j.result end,
      errors = case when o.error is null then j.errors
               else j.errors || jsonb_build_array(o.error::jsonb || jsonb_build_object('at', now())) end,
      history = case when o.state = 'completed' then j.history
                else (case when jsonb_array_length(j.history) >= 100 then j.history - 0 else j.history end)
                  || jsonb_build_array(jsonb_build_object(
                       'attempt', j.attempt, 'startedAt', j.started_at, 'finishedAt', now(), 'worker', p_worker,
                       'outcome', case
                         when o.refund = 2 then 'shutdown'
                         when o.refund = 1 then 'snoozed'
                         when o.error::jsonb ->> 'kind' = 'shutdown' then 'shutdown'
                         when o.state = 'cancelled' then 'cancelled'
                         else 'failed' end)) end,
      run_at = case when o.state = 'pending' then now() + o.delay_ms * interval '1 millisecond' else j.run_at end,
      attempt = j.attempt - sign(o.refund)::int,
      finished_at = case when o.state = 'pending' then null else now() end,
      locked_by = case when o.state = 'completed' then j.locked_by end,
      locked_until = null
    from owned o
    where j.id = o.id and not o.remove
    returning j.id, j.queue, o.state
  ), counted as (
    insert into :SCHEMA.job_counts as c (bucket, queue, worker, completed, failed)
    select to_timestamp(floor(extract(epoch from now()) / 10) * 10), f.queue, p_worker,
           count(*) filter (where f.state = 'completed'), count(*) filter (where f.state = 'failed')
    from (select r.queue, r.state from removed r union all select u.queue, u.state from updated u) f
    where f.state in ('completed', 'failed')
    group by f.queue
    on conflict (bucket, queue, worker) do update
      set completed = c.completed + excluded.completed, failed = c.failed + excluded.failed
  )
  select r.id from removed r union all select u.id from updated u;
end $$;
