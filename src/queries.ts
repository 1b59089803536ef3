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
     * Claims up to `limit` runnable jobs in priority, then run-time order, in one statement
     * (`claim_jobs`, sql/0004: SKIP LOCKED, and plans that do not depend on statistics).
     */
    claim: (workerId: string, limit: number, queues: string[] | null, d: ClaimDefaults) => sql<ClaimedRow[]>`
      select * from ${sql(schema)}.claim_jobs(${workerId}, ${limit}, ${pgArray(d.names)}::text[],
        ${queues === null ? null : pgArray(queues)}::text[], ${pgArray(d.maxAttempts)}::int[],
        ${pgArray(d.visibilityMs)}::int[], ${pgArray(d.atMostOnce)}::int[])`,

    /**
     * Writes the outcome of many attempts in one statement (`settle_jobs`, sql/0004) and returns
     * the ids written: a row only matches while the attempt still owns its job, so a worker whose
     * lease expired can never overwrite a newer attempt. With `deleteCompleted`, completed jobs
     * are deleted rather than kept (retention 0).
     */
    settle: (workerId: string, b: SettleBatch, deleteCompleted: boolean) => sql<{ id: string }[]>`
      select id from ${sql(schema)}.settle_jobs(${workerId}, ${b.ids}::bigint[], ${b.attempts}::int[],
        ${b.claims}::timestamptz[], ${b.states}::text[], ${b.results}::text[], ${b.errors}::text[],
        ${b.delays}::bigint[], ${b.refunds}::int[], ${deleteCompleted}::bool) as s(id)`,

    /**
     * Extends the lease of every job this worker still owns and returns those ids
     * (`extend_leases`, sql/0004); rows locked right now are skipped, not waited for.
     */
    heartbeat: (workerId: string, ids: string[]) => sql<{ id: string }[]>`
      select id from ${sql(schema)}.extend_leases(${workerId}, ${pgArray(ids)}::bigint[]) as h(id)`,

    /** Returns claimed-but-unstarted jobs to the queue as if never claimed (`release_jobs`). */
    release: (workerId: string, ids: string[]) => sql`
      select ${sql(schema)}.release_jobs(${workerId}, ${pgArray(ids)}::bigint[])`,
  };
}

export type Queries = ReturnType<typeof createQueries>;
