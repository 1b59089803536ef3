-- Leadership is a lease row, not a session advisory lock. A session lock outlives a frozen process
-- (SIGSTOP, a long GC pause, a suspended VM keep their connection and so their lock) and, through
-- PgBouncer transaction pooling, belongs to whichever client lands on that server connection.
-- The lease expires on the database clock unless its holder renews it, so a leader that stops
-- renewing loses leadership within `leaderTimeout`, whatever state its connection is in; and
-- every statement is self-contained, so it works through any pooler.
create table :SCHEMA.leader (
  -- One row per schema.
  singleton   boolean primary key default true check (singleton),
  -- The Leader instance (host, pid and a random suffix) that holds or last held the lease.
  holder      text not null check (length(holder) between 1 and 200),
  expires_at  timestamptz not null,
  -- When the current holder took over; `term` counts the takeovers (fencing for diagnostics).
  acquired_at timestamptz not null,
  term        bigint not null default 1,
  -- The server process of the holder's lease connection, when it has one of its own (not through
  -- a transaction pooler): once that process is gone (the holder was killed and its connection
  -- closed), a follower takes over without waiting for the lease to expire. A frozen holder
  -- keeps its connection, so only expiry ends its lease.
  backend_pid integer
);
