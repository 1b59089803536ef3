-- Flow control: queue policies (concurrency, rate limits, groups, pause), fair groups, and dedupe keys
-- that belong to their job name, with a "next" slot for onConflict 'replace' and debounce.

-- Dedupe keys belong to their job name (a key of 'resize' never collides with one of 'send-email').
-- key_slot: the holder of a key is slot 0; while it runs, an enqueue with onConflict 'replace' (or
-- debounce) adds the key's single next job in the other slot. Each slot is unique among unfinished
-- jobs, so a running job returning to pending (retry, snooze, rescue, release) never collides with
-- anything, and the claim runs a key's jobs one at a time, oldest first.
-- The new index is built before the old one is dropped: every existing row is unique on (key) and so
-- on (name, key, 0), and enqueues are never without a unique index to conflict on.
alter table :SCHEMA.jobs add column key_slot smallint not null default 0 check (key_slot in (0, 1));
create unique index jobs_name_key_idx on :SCHEMA.jobs (name, key, key_slot)
  where key is not null and state in ('pending', 'running');
drop index :SCHEMA.jobs_key_idx;

-- Groups: a job's group within its queue. serialKey is a group whose jobs carry group_max = 1 (one
-- concept: a per-group limit, from the job or from the queue's groupConcurrency, whichever is lower).
alter table :SCHEMA.jobs rename column serial_key to group_key;
alter table :SCHEMA.jobs add column group_max integer check (group_max >= 1);
-- Unfinished jobs enqueued with a serial key keep running one at a time.
update :SCHEMA.jobs set group_max = 1 where group_key is not null and state in ('pending', 'running');
alter table :SCHEMA.jobs add constraint jobs_group_key_check check (length(group_key) between 1 and 1000);
drop index :SCHEMA.jobs_serial_idx;
-- Grouped pending jobs by queue and group, in claim order: the claim walks the groups of a queue
-- (a loose index scan) and takes each group's next jobs. Ungrouped rows are not in it.
create index jobs_group_idx on :SCHEMA.jobs (queue, group_key, priority, run_at, id)
  where state = 'pending' and group_key is not null;
-- Ungrouped pending jobs by queue, in claim order: with a policy set, the claim takes each queue's
-- jobs on its own (budgets differ per queue; a paused queue's backlog is never scanned).
create index jobs_queue_idx on :SCHEMA.jobs (queue, priority, run_at, id)
  where state = 'pending' and group_key is null;

-- One row per queue with a policy; a queue without a row has none (and is not paused).
create table :SCHEMA.queues (
  name                 text primary key check (length(name) <= 100 and name ~ '^[A-Za-z0-9_.:-]+$'),
  paused               boolean not null default false,
  concurrency          integer check (concurrency >= 1),
  rate_limit           integer check (rate_limit >= 1),
  rate_period_ms       bigint check (rate_period_ms >= 1),
  group_concurrency    integer check (group_concurrency >= 1),
  group_rate_limit     integer check (group_rate_limit >= 1),
  group_rate_period_ms bigint check (group_rate_period_ms >= 1),
  created_at           timestamptz not null default now(),
  updated_at           timestamptz not null default now(),
  check ((rate_limit is null) = (rate_period_ms is null)),
  check ((group_rate_limit is null) = (group_rate_period_ms is null))
);

-- Starts counted by rate limits: one row per claim and queue (group_key '') or group, trimmed by the
-- claim to the longest period. A queue's completed jobs may be deleted at once (retention 0), so the
-- jobs table cannot tell how many started in the last period.
create table :SCHEMA.queue_starts (
  queue     text not null,
  group_key text not null,
  at        timestamptz not null,
  n         integer not null
);
create index queue_starts_idx on :SCHEMA.queue_starts (queue, at);

-- Enqueue from SQL, inside any transaction (the same rules as the client's enqueue):
--   select pgsched.enqueue('send-email', '{"to":"a@b.c"}');
--   select pgsched.enqueue('sync', '{}', key => 'user:7', on_conflict => 'replace');
-- With a key, on_conflict 'skip' returns the id of the key's unfinished job (the pending one if any)
-- and inserts nothing; 'replace' gives the key's pending job the new payload and run time, or, while
-- its job runs, makes the new job the key's single next job. debounce_ms: like 'replace', and the run
-- time becomes now + debounce_ms, never later than the pending job's creation + debounce_max_wait_ms.
drop function :SCHEMA.enqueue(text, jsonb, text, integer, timestamptz, integer, text, integer, integer, boolean, text);
create function :SCHEMA.enqueue(
  name text,
  payload jsonb default null,
  queue text default 'default',
  priority integer default 0,
  run_at timestamptz default now(),
  max_attempts integer default null,
  key text default null,
  timeout_ms integer default null,
  visibility_ms integer default null,
  at_most_once boolean default null,
  serial_key text default null,
  group_key text default null,
  on_conflict text default 'skip',
  debounce_ms bigint default null,
  debounce_max_wait_ms bigint default null,
  backoff jsonb default null
) returns bigint language plpgsql as $$
#variable_conflict use_column
declare
  v_id bigint;
  v_group text := coalesce(enqueue.group_key, enqueue.serial_key);
  v_group_max integer := case when enqueue.group_key is null and enqueue.serial_key is not null then 1 end;
  v_run_at timestamptz := coalesce(enqueue.run_at, now());
  v_pending record;
  v_running record;
begin
  if enqueue.on_conflict is null or enqueue.on_conflict not in ('skip', 'replace') then
    raise exception 'enqueue: on_conflict must be skip or replace, got %', enqueue.on_conflict using errcode = '22023';
  end if;
  if enqueue.debounce_ms is not null and (enqueue.key is null or enqueue.debounce_ms < 0) then
    raise exception 'enqueue: debounce_ms needs a key and must not be negative' using errcode = '22023';
  end if;
  if enqueue.debounce_ms is not null then
    v_run_at := now() + least(enqueue.debounce_ms, coalesce(enqueue.debounce_max_wait_ms, enqueue.debounce_ms))
                        * interval '1 millisecond';
  end if;
  if enqueue.key is null then
    insert into :SCHEMA.jobs as j (name, payload, queue, priority, run_at, max_attempts, timeout_ms,
                                   visibility_ms, at_most_once, group_key, group_max, backoff)
    values (enqueue.name, enqueue.payload, enqueue.queue, enqueue.priority, v_run_at, enqueue.max_attempts,
            enqueue.timeout_ms, enqueue.visibility_ms, enqueue.at_most_once, v_group, v_group_max, enqueue.backoff)
    returning j.id into v_id;
    return v_id;
  end if;
  loop
    select j.id, j.created_at into v_pending from :SCHEMA.jobs j
      where j.name = enqueue.name and j.key = enqueue.key and j.state = 'pending'
      order by j.id desc limit 1;
    select j.id, j.key_slot into v_running from :SCHEMA.jobs j
      where j.name = enqueue.name and j.key = enqueue.key and j.state = 'running' limit 1;
    if enqueue.on_conflict = 'skip' and enqueue.debounce_ms is null then
      if v_pending.id is not null then return v_pending.id; end if;
      if v_running.id is not null then return v_running.id; end if;
    elsif v_pending.id is not null then
      -- Replace the key's pending job (the newest, which runs last): new payload and run time.
      update :SCHEMA.jobs j set payload = enqueue.payload,
        run_at = case when enqueue.debounce_max_wait_ms is null then v_run_at
                      else least(v_run_at, v_pending.created_at + enqueue.debounce_max_wait_ms * interval '1 millisecond') end
      where j.id = v_pending.id and j.state = 'pending'
      returning j.id into v_id;
      if v_id is not null then return v_id; end if;
      continue; -- claimed meanwhile: it is running now, so the new job becomes its next
    end if;
    -- Nothing pending: insert as the holder (slot 0), or as the next job of the running one.
    insert into :SCHEMA.jobs as j (name, payload, queue, priority, run_at, max_attempts, key, key_slot,
                                   timeout_ms, visibility_ms, at_most_once, group_key, group_max, backoff)
    values (enqueue.name, enqueue.payload, enqueue.queue, enqueue.priority, v_run_at, enqueue.max_attempts,
            enqueue.key, case when v_running.id is null then 0 else 1 - v_running.key_slot end,
            enqueue.timeout_ms, enqueue.visibility_ms, enqueue.at_most_once, v_group, v_group_max, enqueue.backoff)
    on conflict (name, key, key_slot) where key is not null and state in ('pending', 'running') do nothing
    returning j.id into v_id;
    if v_id is not null then return v_id; end if;
    -- Another enqueue took the slot first, or the key's jobs changed state: look again.
  end loop;
end $$;

-- Claims (replaces 0004's claim_jobs; the same plan-proof SET list, for the reasons given there).
--
-- Without any policy for the worker's queues and without grouped pending jobs, the claim is 0004's
-- single statement, plus the key rule: a keyed job is claimable only while no job of its (name, key)
-- runs and it is the key's oldest pending job (a key's "next" job waits for its holder).
-- Otherwise flow_pick chooses the ids queue by queue, under the queues' budgets, and one UPDATE
-- claims them. `unblocks` tells the worker that writing this job's outcome may let another job start
-- (a group, a key or a limited queue), so it claims again at once instead of waiting for a poll.
drop function :SCHEMA.claim_jobs(text, int, text[], text[], int[], int[], int[]);
create function :SCHEMA.claim_jobs(
  p_worker text, p_limit int, p_names text[], p_queues text[],
  p_default_max_attempts int[], p_default_visibility_ms int[], p_default_at_most_once int[])
returns table (
  id bigint, claimed_at text, name text, queue text, payload jsonb, priority int, attempt int,
  max_attempts int, visibility_ms int, timeout_ms int, backoff jsonb, at_most_once boolean, key text,
  group_key text, schedule text, occurrence uuid, run_at_ms float8, created_at_ms float8,
  fire_at_ms float8, unblocks boolean)
language plpgsql
set enable_seqscan = off set enable_bitmapscan = off set enable_sort = off
set enable_hashjoin = off set enable_mergejoin = off set plan_cache_mode = force_generic_plan
as $$
#variable_conflict use_column
declare
  v_pick record;
begin
  if not exists (select 1 from :SCHEMA.queues q where p_queues is null or q.name = any(p_queues))
     and not exists (select 1 from :SCHEMA.jobs g where g.state = 'pending' and g.group_key is not null) then
    return query
    with next as (
      select c.id from :SCHEMA.jobs c
      where c.state = 'pending' and c.run_at <= now()
        and c.name = any(p_names)
        and (p_queues is null or c.queue = any(p_queues))
        and c.group_key is null
        and (c.key is null or (
          not exists (select 1 from :SCHEMA.jobs r where r.name = c.name and r.key = c.key and r.state = 'running')
          and c.id = (select min(k.id) from :SCHEMA.jobs k where k.name = c.name and k.key = c.key and k.state = 'pending')))
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
              j.visibility_ms, j.timeout_ms, j.backoff, j.at_most_once, j.key, j.group_key, j.schedule,
              j.occurrence,
              -- numeric, then float8: exact whole milliseconds (date_part's float8 seconds are not)
              (extract(epoch from j.run_at) * 1000)::float8,
              (extract(epoch from j.created_at) * 1000)::float8,
              (extract(epoch from j.fire_at) * 1000)::float8,
              j.key is not null;
    return;
  end if;

  select f.ids, f.limited, f.start_time into v_pick from :SCHEMA.flow_pick(p_limit, p_names, p_queues) f;
  return query
  update :SCHEMA.jobs j set
    state = 'running',
    attempt = j.attempt + 1,
    locked_by = p_worker,
    max_attempts = coalesce(j.max_attempts, p_default_max_attempts[array_position(p_names, j.name)]),
    visibility_ms = coalesce(j.visibility_ms, p_default_visibility_ms[array_position(p_names, j.name)]),
    at_most_once = coalesce(j.at_most_once, p_default_at_most_once[array_position(p_names, j.name)] = 1),
    locked_until = v_pick.start_time + coalesce(j.visibility_ms, p_default_visibility_ms[array_position(p_names, j.name)])
                               * interval '1 millisecond',
    -- The time the rate limits counted this start at.
    started_at = v_pick.start_time
  where j.id = any(v_pick.ids)
  returning j.id, j.started_at::text, j.name, j.queue, j.payload, j.priority, j.attempt, j.max_attempts,
            j.visibility_ms, j.timeout_ms, j.backoff, j.at_most_once, j.key, j.group_key, j.schedule,
            j.occurrence,
            (extract(epoch from j.run_at) * 1000)::float8,
            (extract(epoch from j.created_at) * 1000)::float8,
            (extract(epoch from j.fire_at) * 1000)::float8,
            j.key is not null or j.group_key is not null or j.queue = any(v_pick.limited);
end $$;

-- Chooses and locks (FOR UPDATE SKIP LOCKED, until the claim commits) up to p_limit runnable jobs
-- when policies or groups are in play. Returns their ids, the queues among them whose limits a
-- finished job frees, and the time the starts are counted at.
--
-- Limits hold across every worker because claims of a limited or grouped queue take turns: each takes
-- a transaction-level advisory lock per such queue (in name order, so two claims never wait for each
-- other crosswise) and only then counts, in statements whose snapshots see every earlier claim. The
-- counts read the rows themselves (running jobs; queue_starts for rates), so a job the rescuer takes
-- back stops counting at once, and no leader hands anything out.
--
-- Queues are visited in random order, each taking what is left of p_limit within its budget: over
-- many claims every queue goes first as often (priorities order jobs within a queue, not across
-- queues, on this path). Within a queue with groups, every group with room gets an equal share and
-- jobs are taken round by round (each group's first job, then each group's second, …): a small group
-- is never stuck behind a big one. The queue's ungrouped jobs take part as one more group.
create function :SCHEMA.flow_pick(p_limit int, p_names text[], p_queues text[],
  out ids bigint[], out limited text[], out start_time timestamptz)
language plpgsql
set enable_seqscan = off set enable_bitmapscan = off set enable_sort = off
set enable_hashjoin = off set enable_mergejoin = off set plan_cache_mode = force_generic_plan
as $$
declare
  v_queues text[];
  v_locks text[];
  v_lock text;
  v_remaining int := p_limit;
  v_budget int;
  v_picked bigint[];
  v_n int;
  q record;
begin
  ids := '{}';
  limited := '{}';
  if p_queues is not null then
    v_queues := p_queues;
  else
    -- Every queue with pending jobs: loose index scans, one probe per queue.
    v_queues := array(
      with recursive u(queue) as (
        (select c.queue from :SCHEMA.jobs c where c.state = 'pending' and c.group_key is null
         order by c.queue limit 1)
        union all
        select (select c.queue from :SCHEMA.jobs c where c.state = 'pending' and c.group_key is null
                  and c.queue > u.queue order by c.queue limit 1)
        from u where u.queue is not null
      ), g(queue) as (
        (select c.queue from :SCHEMA.jobs c where c.state = 'pending' and c.group_key is not null
         order by c.queue limit 1)
        union all
        select (select c.queue from :SCHEMA.jobs c where c.state = 'pending' and c.group_key is not null
                  and c.queue > g.queue order by c.queue limit 1)
        from g where g.queue is not null
      )
      select u.queue from u where u.queue is not null
      union
      select g.queue from g where g.queue is not null);
  end if;

  -- Lock the queues whose claims must take turns, in name order: those with a limit and those with
  -- grouped jobs (a group's limit may come from its jobs: serialKey).
  v_locks := array(
    select v.queue from unnest(v_queues) v(queue) left join :SCHEMA.queues p on p.name = v.queue
    where not coalesce(p.paused, false)
      and (p.concurrency is not null or p.rate_limit is not null or p.group_concurrency is not null
           or p.group_rate_limit is not null
           or exists (select 1 from :SCHEMA.jobs g
                      where g.queue = v.queue and g.state = 'pending' and g.group_key is not null))
    order by v.queue);
  foreach v_lock in array v_locks loop
    perform pg_advisory_xact_lock(hashtextextended(':SCHEMA.queue:' || v_lock, 0));
  end loop;
  -- After the waits: the time this claim's starts are counted at, later than any earlier claim's.
  start_time := clock_timestamp();

  for q in
    select v.queue, p.concurrency, p.rate_limit, p.rate_period_ms, p.group_concurrency, p.group_rate_limit,
           p.group_rate_period_ms,
           p.concurrency is not null or p.group_concurrency is not null as limited,
           -- Limits and groups only under this claim's lock: a policy set or a grouped job enqueued
           -- since the locks were chosen waits for the next claim.
           v.queue = any(v_locks) as locked,
           p.concurrency is not null or p.rate_limit is not null or p.group_concurrency is not null
             or p.group_rate_limit is not null as has_policy,
           v.queue = any(v_locks) and exists (select 1 from :SCHEMA.jobs g
             where g.queue = v.queue and g.state = 'pending' and g.group_key is not null) as grouped
    from unnest(v_queues) v(queue) left join :SCHEMA.queues p on p.name = v.queue
    where not coalesce(p.paused, false)
    order by random()
  loop
    exit when v_remaining <= 0;
    continue when q.has_policy and not q.locked;
    v_budget := v_remaining;
    if q.concurrency is not null then
      v_budget := least(v_budget, q.concurrency - (
        select count(*) from :SCHEMA.jobs r where r.state = 'running' and r.queue = q.queue)::int);
    end if;
    if q.rate_limit is not null then
      v_budget := least(v_budget, q.rate_limit - coalesce((
        select sum(s.n) from :SCHEMA.queue_starts s
        where s.queue = q.queue and s.at > start_time - q.rate_period_ms * interval '1 millisecond'
          and s.group_key = ''), 0)::int);
    end if;
    continue when v_budget <= 0;

    if not q.grouped then
      v_picked := array(
        select c.id from :SCHEMA.jobs c
        where c.queue = q.queue and c.state = 'pending' and c.group_key is null and c.run_at <= now()
          and c.name = any(p_names)
          and (c.key is null or (
            not exists (select 1 from :SCHEMA.jobs r where r.name = c.name and r.key = c.key and r.state = 'running')
            and c.id = (select min(k.id) from :SCHEMA.jobs k where k.name = c.name and k.key = c.key and k.state = 'pending')))
        order by c.priority, c.run_at, c.id
        limit v_budget
        for update skip locked);
    else
      v_picked := array(
        with recursive grp(g) as (
          (select c.group_key from :SCHEMA.jobs c
           where c.queue = q.queue and c.state = 'pending' and c.group_key is not null
           order by c.group_key limit 1)
          union all
          select (select c.group_key from :SCHEMA.jobs c
                  where c.queue = q.queue and c.state = 'pending' and c.group_key is not null and c.group_key > grp.g
                  order by c.group_key limit 1)
          from grp where grp.g is not null
        ), run as (
          select r.group_key as g, count(*)::int as n from :SCHEMA.jobs r
          where r.state = 'running' and r.queue = q.queue and r.group_key is not null
          group by r.group_key
        ), rate as (
          select s.group_key as g, sum(s.n)::int as n from :SCHEMA.queue_starts s
          where q.group_rate_limit is not null and s.queue = q.queue and s.group_key <> ''
            and s.at > start_time - q.group_rate_period_ms * interval '1 millisecond'
          group by s.group_key
        ), ready as (
          select grp.g, coalesce(run.n, 0) as running,
                 least(v_budget, coalesce(q.group_concurrency - coalesce(run.n, 0), v_budget),
                       coalesce(q.group_rate_limit - coalesce(rate.n, 0), v_budget)) as budget
          from grp left join run on run.g = grp.g left join rate on rate.g = grp.g
          where grp.g is not null
        ), share as (
          -- The queue's ungrouped jobs, if any, are one more group.
          select ceil(v_budget::numeric / greatest(1, count(*) + exists (
                   select 1 from :SCHEMA.jobs u
                   where u.queue = q.queue and u.state = 'pending' and u.group_key is null)::int))::int as cap
          from ready where ready.budget > 0
        ), cand as (
          select x.id, x.rk, x.priority, x.run_at
          from ready o cross join share cross join lateral (
            select s.id, s.priority, s.run_at, s.group_max, row_number() over () as rk from (
              select c.id, c.priority, c.run_at, c.group_max from :SCHEMA.jobs c
              where c.queue = q.queue and c.group_key = o.g and c.state = 'pending' and c.run_at <= now()
                and c.name = any(p_names)
                and (c.key is null or (
                  not exists (select 1 from :SCHEMA.jobs r where r.name = c.name and r.key = c.key and r.state = 'running')
                  and c.id = (select min(k.id) from :SCHEMA.jobs k where k.name = c.name and k.key = c.key and k.state = 'pending')))
              order by c.priority, c.run_at, c.id
              limit least(o.budget, share.cap)
              for update skip locked) s) x
          where o.budget > 0 and x.rk + o.running <= coalesce(x.group_max, 2147483647)
          union all
          select x.id, x.rk, x.priority, x.run_at
          from share cross join lateral (
            select s.id, s.priority, s.run_at, row_number() over () as rk from (
              select c.id, c.priority, c.run_at from :SCHEMA.jobs c
              where c.queue = q.queue and c.state = 'pending' and c.group_key is null and c.run_at <= now()
                and c.name = any(p_names)
                and (c.key is null or (
                  not exists (select 1 from :SCHEMA.jobs r where r.name = c.name and r.key = c.key and r.state = 'running')
                  and c.id = (select min(k.id) from :SCHEMA.jobs k where k.name = c.name and k.key = c.key and k.state = 'pending')))
              order by c.priority, c.run_at, c.id
              limit share.cap
              for update skip locked) s) x
        )
        select cand.id from cand order by cand.rk, cand.priority, cand.run_at, cand.id limit v_budget);
    end if;

    v_n := cardinality(v_picked);
    continue when v_n = 0;
    ids := ids || v_picked;
    v_remaining := v_remaining - v_n;
    if q.limited or q.grouped then
      limited := limited || q.queue;
    end if;
    if q.rate_limit is not null then
      insert into :SCHEMA.queue_starts (queue, group_key, at, n) values (q.queue, '', start_time, v_n);
    end if;
    if q.group_rate_limit is not null then
      insert into :SCHEMA.queue_starts (queue, group_key, at, n)
      select q.queue, c.group_key, start_time, count(*) from :SCHEMA.jobs c
      where c.id = any(v_picked) and c.group_key is not null group by c.group_key;
    end if;
    if q.rate_limit is not null or q.group_rate_limit is not null then
      delete from :SCHEMA.queue_starts s
      where s.queue = q.queue
        and s.at <= start_time - greatest(q.rate_period_ms, q.group_rate_period_ms) * interval '1 millisecond';
    end if;
  end loop;
end $$;
