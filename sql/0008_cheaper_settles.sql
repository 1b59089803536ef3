-- Cheaper settles: one heap write per job instead of two, and a settle that carries the next claim.
--
-- 0007's settle first locked each owned row (SELECT … FOR UPDATE: a tuple lock, itself a heap write
-- and a WAL record) and then deleted or updated it (a second write). The lock is not needed: the
-- DELETE and the UPDATE carry the ownership test in their own WHERE, and under READ COMMITTED a row
-- changed meanwhile by another transaction (the rescuer, a cancel) is re-read and re-tested before
-- it is written, so an outcome is still only written while its attempt owns the job.
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
    select v.*, v.state = 'completed' and p_delete_completed as remove
    from unnest(p_ids, p_attempts, p_claims, p_states, p_results, p_errors, p_delays_ms, p_refunds)
      as v(id, attempt, claimed_at, state, result, error, delay_ms, refund)
  ), removed as (
    delete from :SCHEMA.jobs j using v o
    -- state::text keeps the partial lease index out of the probe: one primary-key lookup per job.
    where o.remove and j.id = o.id and j.attempt = o.attempt and j.locked_by = p_worker
      and j.state::text = 'running' and j.started_at = o.claimed_at
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
    from v o
    where not o.remove and j.id = o.id and j.attempt = o.attempt and j.locked_by = p_worker
      and j.state::text = 'running' and j.started_at = o.claimed_at
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

-- Settles a batch and claims the next jobs in one statement and one transaction. A worker uses it
-- when the batch's outcomes free room in a limit (a limited queue, a group, a key): the claim sees
-- that room at once (its own deletes and updates), and the pair costs one round trip and one commit
-- instead of two of each. Rows come back as the settled ids first (`settled` set, every other
-- column null), then the claimed jobs (`settled` null), with claim_jobs' columns.
create function :SCHEMA.settle_and_claim_jobs(
  p_worker text, p_ids bigint[], p_attempts int[], p_claims timestamptz[], p_states text[],
  p_results text[], p_errors text[], p_delays_ms bigint[], p_refunds int[], p_delete_completed boolean,
  p_limit int, p_names text[], p_queues text[],
  p_default_max_attempts int[], p_default_visibility_ms int[], p_default_at_most_once int[])
returns table (
  settled bigint, id bigint, claimed_at text, name text, queue text, payload jsonb, priority int,
  attempt int, max_attempts int, visibility_ms int, timeout_ms int, backoff jsonb, at_most_once boolean,
  key text, group_key text, schedule text, occurrence uuid, run_at_ms float8, created_at_ms float8,
  fire_at_ms float8, unblocks boolean)
language plpgsql
as $$
begin
  return query
  select s.id, null::bigint, null::text, null::text, null::text, null::jsonb, null::int, null::int,
         null::int, null::int, null::int, null::jsonb, null::boolean, null::text, null::text, null::text,
         null::uuid, null::float8, null::float8, null::float8, null::boolean
  from :SCHEMA.settle_jobs(p_worker, p_ids, p_attempts, p_claims, p_states, p_results, p_errors,
                           p_delays_ms, p_refunds, p_delete_completed) s(id);
  return query
  select null::bigint, c.*
  from :SCHEMA.claim_jobs(p_worker, p_limit, p_names, p_queues, p_default_max_attempts,
                          p_default_visibility_ms, p_default_at_most_once) c;
end $$;
