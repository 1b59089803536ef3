-- Claim, settle, heartbeat and release run inside functions whose SET clauses take sequential
-- and bitmap scans, sorts, and hash and merge joins off the planner's table while they are planned.
-- The same SET list is repeated on each function: SQL has no way to share it.
--
-- Why: their best plans depend on statistics that are wrong exactly when it matters. A queue is
-- often empty when autovacuum analyzes it; when a burst then arrives, the claim, planned for a
-- table of a few rows, fetched every pending row and sorted them for each batch (14 ms per claim
-- of 50 at 30,000 rows, and linear in the backlog), and a connection that had cached the settle's
-- generic plan while the table was tiny rescanned the whole table per settled row (0.7 s per
-- batch). Both lasted until the next ANALYZE. Measured with a worker idle for a few seconds, then
-- 30,000 jobs: 6-10 s instead of about 2 s. With these paths off, the only plans left are the
-- ordered scan of the claim index and primary-key probes, whatever the statistics say. So the
-- functions also force generic plans: each statement is planned once per session, not per call
-- (a claim of 250 spent ~0.5 ms of its ~4 ms planning).

-- Claims up to p_limit runnable jobs in priority, then run-time order. SKIP LOCKED lets any number
-- of workers claim at once. The p_default_* arrays are the worker's per-name defaults (parallel to
-- p_names) for rows whose enqueuer left them unset. A serial job is claimable only while no job of
-- its group runs and it is the group's oldest pending job.
create function :SCHEMA.claim_jobs(
  p_worker text, p_limit int, p_names text[], p_queues text[],
  p_default_max_attempts int[], p_default_visibility_ms int[], p_default_at_most_once int[])
returns table (
  id bigint, claimed_at text, name text, queue text, payload jsonb, priority int, attempt int,
  max_attempts int, visibility_ms int, timeout_ms int, backoff jsonb, at_most_once boolean, key text,
  serial_key text, schedule text, occurrence uuid, run_at_ms float8, created_at_ms float8,
  fire_at_ms float8)
language plpgsql
set enable_seqscan = off set enable_bitmapscan = off set enable_sort = off
set enable_hashjoin = off set enable_mergejoin = off set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
begin
  return query
  with next as (
    select c.id from :SCHEMA.jobs c
    where c.state = 'pending' and c.run_at <= now()
      and c.name = any(p_names)
      and (p_queues is null or c.queue = any(p_queues))
      and (c.serial_key is null or (
        not exists (select 1 from :SCHEMA.jobs r where r.serial_key = c.serial_key and r.state = 'running')
        and c.id = (select min(p.id) from :SCHEMA.jobs p where p.serial_key = c.serial_key and p.state = 'pending')))
    order by c.priority, c.run_at, c.id
    limit p_limit
    for update skip locked
  )
  update :SCHEMA.jobs j set
    state = 'running',
    attempt = j.attempt + 1,
    locked_by = p_worker,
    max_attempts = coalesce(j.max_attempts, p_default_max_attempts[array_position(p_names, j.name)]),
    visibility_ms = coalesce(j.visibility_ms, p_default_visibility_ms[array_position(p_names, j.name)]),
    at_most_once = coalesce(j.at_most_once, p_default_at_most_once[array_position(p_names, j.name)] = 1),
    locked_until = now() + coalesce(j.visibility_ms, p_default_visibility_ms[array_position(p_names, j.name)])
                           * interval '1 millisecond',
    started_at = now()
  where j.id = any(array(select n.id from next n))
  returning j.id, j.started_at::text, j.name, j.queue, j.payload, j.priority, j.attempt, j.max_attempts,
            j.visibility_ms, j.timeout_ms, j.backoff, j.at_most_once, j.key, j.serial_key, j.schedule,
            j.occurrence,
            -- numeric, then float8: exact whole milliseconds (date_part's float8 seconds are not)
            (extract(epoch from j.run_at) * 1000)::float8,
            (extract(epoch from j.created_at) * 1000)::float8,
            (extract(epoch from j.fire_at) * 1000)::float8;
end $$;

-- Writes the outcome of many attempts (parallel arrays; shorter ones read as NULL) and returns the
-- ids written. A row only matches while the attempt still owns its job (same claim time, attempt
-- and worker, still running), so a worker whose lease expired never overwrites a newer attempt.
-- With p_delete_completed, completed jobs are deleted (retention 0): a DELETE costs the server
-- about half of an UPDATE. The writes find rows by id: writing by the ctid the ownership check had
-- locked (a cheaper TID scan) lost outcomes and lease extensions in a 1M-job drain.
create function :SCHEMA.settle_jobs(
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
    returning j.id
  ), updated as (
    update :SCHEMA.jobs j set
      state = o.state:::SCHEMA.job_state,
      result = case when o.state = 'completed' then o.result::jsonb else j.result end,
      errors = case when o.error is null then j.errors
               else j.errors || jsonb_build_array(o.error::jsonb || jsonb_build_object('at', now())) end,
      run_at = case when o.state = 'pending' then now() + o.delay_ms * interval '1 millisecond' else j.run_at end,
      attempt = j.attempt - o.refund,
      finished_at = case when o.state = 'pending' then null else now() end,
      locked_by = null,
      locked_until = null
    from owned o
    where j.id = o.id and not o.remove
    returning j.id
  )
  select r.id from removed r union all select u.id from updated u;
end $$;

-- Extends the lease of every job in p_ids this worker still owns and returns those ids. Rows
-- locked right now are skipped, not waited for: they are being settled by this worker (done
-- anyway) or taken away by a cancel or the rescuer; waiting would deadlock against a settle.
create function :SCHEMA.extend_leases(p_worker text, p_ids bigint[])
returns setof bigint
language plpgsql
set enable_seqscan = off set enable_bitmapscan = off set enable_sort = off
set enable_hashjoin = off set enable_mergejoin = off set plan_cache_mode = force_generic_plan
as $$
begin
  return query
  with mine as (
    select k.id from :SCHEMA.jobs k
    where k.id = any(p_ids) and k.locked_by = p_worker and k.state = 'running'
    for update skip locked)
  update :SCHEMA.jobs j set locked_until = now() + j.visibility_ms * interval '1 millisecond'
  where j.id = any(array(select m.id from mine m))
  returning j.id;
end $$;

-- Returns claimed-but-unstarted jobs to the queue as if never claimed.
create function :SCHEMA.release_jobs(p_worker text, p_ids bigint[])
returns void
language plpgsql
set enable_seqscan = off set enable_bitmapscan = off set enable_sort = off
set enable_hashjoin = off set enable_mergejoin = off set plan_cache_mode = force_generic_plan
as $$
begin
  update :SCHEMA.jobs set state = 'pending', attempt = attempt - 1, locked_by = null, locked_until = null,
    started_at = null
  where id = any(p_ids) and locked_by = p_worker and state = 'running';
end $$;
