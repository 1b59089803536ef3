-- pgsched core schema. The schema placeholder is replaced by the validated, quoted schema name.

create type :SCHEMA.job_state as enum ('pending', 'running', 'completed', 'failed', 'cancelled');

create table :SCHEMA.jobs (
  id            bigint generated always as identity primary key,
  name          text not null check (length(name) between 1 and 200),
  queue         text not null default 'default' check (queue ~ '^[A-Za-z0-9_.:-]{1,100}$'),
  payload       jsonb,
  state         :SCHEMA.job_state not null default 'pending',
  priority      integer not null default 0,
  run_at        timestamptz not null default now(),
  attempt       integer not null default 0,
  -- max_attempts, visibility_ms and at_most_once stay null until the first claim when the
  -- enqueuer left them to the job's definition (producers need not know it); the claim fills them.
  max_attempts  integer check (max_attempts >= 1),
  timeout_ms    integer check (timeout_ms > 0),
  visibility_ms integer check (visibility_ms > 0),
  backoff       jsonb,
  at_most_once  boolean,
  key           text,
  -- Jobs sharing a serial key run one at a time, oldest first (e.g. per customer, or a schedule
  -- with overlap 'queue').
  serial_key    text,
  locked_by     text,
  locked_until  timestamptz,
  errors        jsonb not null default '[]',
  result        jsonb,
  created_at    timestamptz not null default now(),
  started_at    timestamptz,
  finished_at   timestamptz
);

-- The claim path reads only runnable rows, in claim order.
create index jobs_claim_idx on :SCHEMA.jobs (priority, run_at, id) where state = 'pending';
-- The rescuer reads only running rows, by lease expiry.
create index jobs_lease_idx on :SCHEMA.jobs (locked_until) where state = 'running';
-- Dedupe keys are unique among unfinished jobs only.
create unique index jobs_key_idx on :SCHEMA.jobs (key) where key is not null and state in ('pending', 'running');
-- Serial groups: find a group's running job and its oldest pending job.
create index jobs_serial_idx on :SCHEMA.jobs (serial_key, id) where serial_key is not null and state in ('pending', 'running');
-- The pruner deletes finished rows by age.
create index jobs_finished_idx on :SCHEMA.jobs (finished_at) where state in ('completed', 'failed', 'cancelled');

-- Finished rows are pruned in the background; vacuum the hot table eagerly so dead index
-- entries do not slow the claim scan.
alter table :SCHEMA.jobs set (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0.01,
  autovacuum_vacuum_cost_delay = 0
);

-- One wake-up per inserting statement, sent in the inserting transaction: workers hear about
-- a job only if it committed, whatever client, ORM or trigger inserted it.
create function :SCHEMA.notify_jobs() returns trigger language plpgsql as $$
begin
  perform pg_notify(TG_TABLE_SCHEMA || '.jobs', '');
  return null;
end $$;

create trigger jobs_notify after insert on :SCHEMA.jobs
  for each statement execute function :SCHEMA.notify_jobs();

-- Enqueue from SQL, inside any transaction:
--   select pgsched.enqueue('send-email', '{"to":"a@b.c"}');
-- A job with a key that matches an unfinished job is not inserted; the existing id is returned.
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
  serial_key text default null
) returns bigint language plpgsql as $$
#variable_conflict use_column
declare
  new_id bigint;
begin
  loop
    insert into :SCHEMA.jobs as j (name, payload, queue, priority, run_at, max_attempts, key, timeout_ms, visibility_ms,
                                   at_most_once, serial_key)
    values (enqueue.name, enqueue.payload, enqueue.queue, enqueue.priority, coalesce(enqueue.run_at, now()),
            enqueue.max_attempts, enqueue.key, enqueue.timeout_ms, enqueue.visibility_ms, enqueue.at_most_once,
            enqueue.serial_key)
    on conflict (key) where key is not null and state in ('pending', 'running') do nothing
    returning j.id into new_id;
    if new_id is not null then
      return new_id;
    end if;
    select j.id into new_id from :SCHEMA.jobs j
      where j.key = enqueue.key and j.state in ('pending', 'running');
    if new_id is not null then
      return new_id;
    end if;
    -- the conflicting job finished between the two statements: try the insert again
  end loop;
end $$;
