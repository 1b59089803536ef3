-- A settle that carries the next claim: one statement and one transaction for a limited queue's
-- cycle (outcomes that free room in a limit, then the claim that takes it).
--
-- Not changed here: settle_jobs keeps 0007's SELECT … FOR UPDATE of each owned row before writing
-- it. Writing without that lock (the DELETE or UPDATE carrying the ownership test in its own WHERE)
-- saves a heap write per job, but a DML join of the jobs table with the batch has no plan shape
-- that holds when the table's statistics say it is empty (the lateral probe that locks is what
-- keeps the primary-key lookup per row): test/stale-statistics.test.ts took over 60 s instead of
-- 1.5 s with it.

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
