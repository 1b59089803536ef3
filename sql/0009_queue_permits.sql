-- Queue concurrency as permits: each worker holds a share of a limited queue's concurrency and
-- starts at most that many of its jobs at once; it may claim more (its prefetch) and keep them in
-- its buffer until a permit frees. A limit then costs no turn-taking claim per batch: a claim is
-- as cheap as on an unlimited queue, and a finished job's permit is taken up by the next buffered
-- job without a round trip. Before this, claims counted running rows under the queue's lock, and
-- at most `concurrency` jobs could be out of the table: one claim round trip per batch of at most
-- that many jobs bounded the drain (docs/flow-control.md).
--
-- A worker renews its permits every half second (take_permits) and holds them for a lease. Past
-- it, a worker's permits still count as far as it has jobs of the queue running in the table
-- whose own leases are live: a crashed or frozen worker's running job stops counting once its
-- lease runs out (before, claims counted running rows until the rescuer took them back), and an
-- idle one's permits free when the permit lease ends. `held` is what others must leave to it: at least
-- what it may be running until it hears the answer (its previous permits, or its running jobs if
-- more), so a shrink takes effect in two renewals and the sum of `held` never exceeds the limit.
create table :SCHEMA.queue_permits (
  queue      text not null,
  worker     text not null,
  held       integer not null check (held >= 0),
  want       integer not null check (want >= 0),
  expires_at timestamptz not null,
  primary key (queue, worker)
);

-- Renews this worker's permits on every limited queue it takes (p_queues, null for every queue)
-- and returns them. It wants p_want of each (its slots). p_known names the queues whose jobs it
-- runs or holds permits of, with what it occupies (the larger of its current permits and its
-- running jobs of the queue); it occupies nothing of the others. Shares: the limit split evenly
-- among the workers that want permits (in worker id order, the first `limit mod n` one more); a
-- worker may take more than its share only while no other is below its own share and wants more.
-- A worker wants its slots whatever they run now: one busy with another queue's backlog still
-- gets its share of this one, whose jobs then take turns with the others' in its slots.
create function :SCHEMA.take_permits(
  p_worker text, p_queues text[], p_want int, p_known text[], p_occupied int[], p_lease_ms int)
returns table (queue text, permits int)
language plpgsql
as $$
#variable_conflict use_column
declare
  q record;
  v_want int;
  v_occupied int;
  v_others int;
  v_fair int;
  v_starved boolean;
  v_grant int;
begin
  -- Rows of queues that lost their limit (any worker's: no renewal would clear a dead one's) or
  -- that this worker no longer takes.
  delete from :SCHEMA.queue_permits p
  where not exists (
    select 1 from :SCHEMA.queues x
    where x.name = p.queue and x.concurrency is not null
      and (p.worker <> p_worker or p_queues is null or x.name = any(p_queues)));
  for q in
    select x.name, x.concurrency as lim from :SCHEMA.queues x
    where x.concurrency is not null and (p_queues is null or x.name = any(p_queues))
    order by x.name
  loop
    -- Grants of one queue take turns: each sees every earlier one.
    perform pg_advisory_xact_lock(hashtextextended(':SCHEMA.permits:' || q.name, 0));
    delete from :SCHEMA.queue_permits p
    where p.queue = q.name and p.expires_at < clock_timestamp() and not exists (
      select 1 from :SCHEMA.jobs j where j.state = 'running' and j.queue = q.name and j.locked_by = p.worker
        and j.locked_until > clock_timestamp());
    v_want := greatest(0, p_want);
    v_occupied := greatest(0, coalesce(p_occupied[array_position(p_known, q.name)], 0));
    select coalesce(sum(case when p.expires_at >= clock_timestamp() then p.held else least(p.held, (
             select count(*) from :SCHEMA.jobs j
             where j.state = 'running' and j.queue = q.name and j.locked_by = p.worker
               and j.locked_until > clock_timestamp())::int) end), 0)::int
    into v_others
    from :SCHEMA.queue_permits p where p.queue = q.name and p.worker <> p_worker;
    -- Fair shares among the live workers that want permits.
    with w as (
      select p.worker, p.held, p.want from :SCHEMA.queue_permits p
      where p.queue = q.name and p.worker <> p_worker and p.want > 0 and p.expires_at >= clock_timestamp()
      union all
      select p_worker, 0, v_want where v_want > 0
    ), ranked as (
      select w.worker, w.held, w.want,
             q.lim / count(*) over () + case when row_number() over (order by w.worker) <= q.lim % count(*) over ()
                                             then 1 else 0 end as fair
      from w
    )
    select coalesce(max(r.fair) filter (where r.worker = p_worker), 0),
           coalesce(bool_or(r.worker <> p_worker and r.held < least(r.want, r.fair)), false)
    into v_fair, v_starved
    from ranked r;
    v_grant := greatest(0, least(v_want, q.lim - v_others, case when v_starved then v_fair else q.lim end));
    insert into :SCHEMA.queue_permits as p (queue, worker, held, want, expires_at)
    values (q.name, p_worker, greatest(v_grant, v_occupied), v_want,
            clock_timestamp() + p_lease_ms * interval '1 millisecond')
    on conflict (queue, worker) do update
      set held = excluded.held, want = excluded.want, expires_at = excluded.expires_at;
    queue := q.name;
    permits := v_grant;
    return next;
  end loop;
end $$;

-- A stopping worker gives its permits back at once.
create function :SCHEMA.release_permits(p_worker text) returns void language sql as $$
  delete from :SCHEMA.queue_permits p where p.worker = p_worker;
$$;

-- Claims: 0006's claim_jobs and flow_pick, with the permits of the queues' concurrency limits.
-- p_cap_queues/p_caps: how many jobs of each limited queue the worker may claim now (its permits
-- plus its prefetch, less what it holds); a limited queue it names no cap for is not claimed from.
-- p_group_ahead: how many jobs beyond a group's limit the worker may hold of a group whose running
-- jobs are all its own (see flow_pick); `group_limit` tells it how many of them may run at once.
--
-- Without any policy for the worker's queues and without grouped pending jobs, the claim is 0004's
-- single statement, plus the key rule: a keyed job is claimable only while no job of its (name, key)
-- runs and it is the key's oldest pending job (a key's "next" job waits for its holder).
-- Otherwise flow_pick chooses the ids queue by queue, under the queues' budgets, and one UPDATE
-- claims them. `unblocks` tells the worker that writing this job's outcome may let another job start
-- (a group or a key), so it claims again at once instead of waiting for a poll.
drop function :SCHEMA.settle_and_claim_jobs(text, bigint[], int[], timestamptz[], text[], text[], text[],
  bigint[], int[], boolean, int, text[], text[], int[], int[], int[]);
drop function :SCHEMA.claim_jobs(text, int, text[], text[], int[], int[], int[]);
drop function :SCHEMA.flow_pick(int, text[], text[]);
create function :SCHEMA.claim_jobs(
  p_worker text, p_limit int, p_names text[], p_queues text[],
  p_default_max_attempts int[], p_default_visibility_ms int[], p_default_at_most_once int[],
  p_cap_queues text[], p_caps int[], p_group_ahead int)
returns table (
  id bigint, claimed_at text, name text, queue text, payload jsonb, priority int, attempt int,
  max_attempts int, visibility_ms int, timeout_ms int, backoff jsonb, at_most_once boolean, key text,
  group_key text, schedule text, occurrence uuid, run_at_ms float8, created_at_ms float8,
  fire_at_ms float8, unblocks boolean, group_limit int)
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
              j.key is not null, null::int;
    return;
  end if;

  select f.ids, f.limited, f.start_time into v_pick from :SCHEMA.flow_pick(p_worker, p_limit, p_names, p_queues, p_cap_queues, p_caps,
                                                           p_group_ahead) f;
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
            j.key is not null or j.group_key is not null or j.queue = any(v_pick.limited),
            -- The most jobs of its group that may run at once (the job's own, or the queue's).
            case when j.group_key is not null then least(j.group_max, (
              select p.group_concurrency from :SCHEMA.queues p where p.name = j.queue)) end;
end $$;

-- Chooses and locks (FOR UPDATE SKIP LOCKED, until the claim commits) up to p_limit runnable jobs
-- when policies or groups are in play. Returns their ids, the queues among them whose limits a
-- finished job frees, and the time the starts are counted at.
--
-- Rate and group limits hold across every worker because claims of such a queue take turns: each
-- takes a transaction-level advisory lock per such queue (in name order, so two claims never wait
-- for each other crosswise) and only then counts, in statements whose snapshots see every earlier
-- claim. The counts read the rows themselves (running jobs of a group; queue_starts for rates), so
-- a job the rescuer takes back stops counting at once, and no leader hands anything out. A queue's
-- concurrency is not counted here: it is the permits its workers hold (take_permits), and a claim
-- takes at most the cap its worker names.
--
-- Queues are visited in random order, each taking what is left of p_limit within its budget: over
-- many claims every queue goes first as often (priorities order jobs within a queue, not across
-- queues, on this path). Within a queue with groups, every group with room gets an equal share and
-- jobs are taken round by round (each group's first job, then each group's second, …): a small group
-- is never stuck behind a big one. The queue's ungrouped jobs take part as one more group.
create function :SCHEMA.flow_pick(p_worker text, p_limit int, p_names text[], p_queues text[],
  p_cap_queues text[], p_caps int[], p_group_ahead int,
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
      and (p.rate_limit is not null or p.group_concurrency is not null or p.group_rate_limit is not null
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
           -- A finished job frees room that only a claim can take: a group's limit (the queue's
           -- concurrency is taken up again by the worker's own permits, in its buffer).
           p.group_concurrency is not null as limited,
           -- Limits and groups only under this claim's lock: a policy set or a grouped job enqueued
           -- since the locks were chosen waits for the next claim.
           v.queue = any(v_locks) as locked,
           p.rate_limit is not null or p.group_concurrency is not null or p.group_rate_limit is not null
             as has_policy,
           -- The queue's concurrency is the worker's permits (take_permits): a worker holding none
           -- claims none of its jobs.
           case when p.concurrency is not null
                then coalesce(p_caps[array_position(p_cap_queues, v.queue)], 0) end as cap,
           v.queue = any(v_locks) and exists (select 1 from :SCHEMA.jobs g
             where g.queue = v.queue and g.state = 'pending' and g.group_key is not null) as grouped
    from unnest(v_queues) v(queue) left join :SCHEMA.queues p on p.name = v.queue
    where not coalesce(p.paused, false)
    order by random()
  loop
    exit when v_remaining <= 0;
    continue when q.has_policy and not q.locked;
    v_budget := v_remaining;
    if q.cap is not null then
      v_budget := least(v_budget, q.cap);
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
          select r.group_key as g, count(*)::int as n,
                 count(*) filter (where r.locked_by is distinct from p_worker)::int as others
          from :SCHEMA.jobs r
          where r.state = 'running' and r.queue = q.queue and r.group_key is not null
          group by r.group_key
        ), rate as (
          select s.group_key as g, sum(s.n)::int as n from :SCHEMA.queue_starts s
          where q.group_rate_limit is not null and s.queue = q.queue and s.group_key <> ''
            and s.at > start_time - q.group_rate_period_ms * interval '1 millisecond'
          group by s.group_key
        ), owned as (
          -- A group none of whose running jobs is another worker's: this worker may claim
          -- p_group_ahead of its jobs beyond its limit, to start one as soon as the previous ends
          -- (it starts no more than the limit at once). Others see the group full meanwhile.
          select grp.g, coalesce(run.n, 0) as running,
                 case when coalesce(run.others, 0) = 0 then p_group_ahead else 0 end as ahead,
                 rate.n as started
          from grp left join run on run.g = grp.g left join rate on rate.g = grp.g
          where grp.g is not null
        ), ready as (
          select o.g, o.running, o.ahead,
                 least(v_budget, coalesce(q.group_concurrency + o.ahead - o.running, v_budget),
                       coalesce(q.group_rate_limit - coalesce(o.started, 0), v_budget)) as budget
          from owned o
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
          where o.budget > 0 and x.rk + o.running <= coalesce(x.group_max + o.ahead, 2147483647)
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

-- 0008's settle-and-claim, passing the caps on.
create function :SCHEMA.settle_and_claim_jobs(
  p_worker text, p_ids bigint[], p_attempts int[], p_claims timestamptz[], p_states text[],
  p_results text[], p_errors text[], p_delays_ms bigint[], p_refunds int[], p_delete_completed boolean,
  p_limit int, p_names text[], p_queues text[],
  p_default_max_attempts int[], p_default_visibility_ms int[], p_default_at_most_once int[],
  p_cap_queues text[], p_caps int[], p_group_ahead int)
returns table (
  settled bigint, id bigint, claimed_at text, name text, queue text, payload jsonb, priority int,
  attempt int, max_attempts int, visibility_ms int, timeout_ms int, backoff jsonb, at_most_once boolean,
  key text, group_key text, schedule text, occurrence uuid, run_at_ms float8, created_at_ms float8,
  fire_at_ms float8, unblocks boolean, group_limit int)
language plpgsql
as $$
begin
  return query
  select s.id, null::bigint, null::text, null::text, null::text, null::jsonb, null::int, null::int,
         null::int, null::int, null::int, null::jsonb, null::boolean, null::text, null::text, null::text,
         null::uuid, null::float8, null::float8, null::float8, null::boolean, null::int
  from :SCHEMA.settle_jobs(p_worker, p_ids, p_attempts, p_claims, p_states, p_results, p_errors,
                           p_delays_ms, p_refunds, p_delete_completed) s(id);
  return query
  select null::bigint, c.*
  from :SCHEMA.claim_jobs(p_worker, p_limit, p_names, p_queues, p_default_max_attempts,
                          p_default_visibility_ms, p_default_at_most_once, p_cap_queues, p_caps,
                          p_group_ahead) c;
end $$;
