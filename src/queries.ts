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
  /** The job's group within its queue (`group` or `serialKey` at enqueue). */
  group_key: string | null;
  /** Writing this job's outcome may let another job start (a group, a key, a limited queue): claim again then. */
  unblocks: boolean;
  /** How many jobs of its group may run at once (the job's own limit or its queue's); null: no limit. */
  group_limit: number | null;
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
  /** The job's group (`group`, or `serialKey`). */
  groupKey: string | null;
  /** Per-job limit of running jobs of its group: 1 for `serialKey`, else null (the queue's policy). */
  groupMax: number | null;
}

/** A keyed enqueue: what to do when the key's (name, key) already has an unfinished job. */
export interface KeyedValues extends InsertValues {
  key: string;
  onConflict: 'skip' | 'replace';
  debounceMs: number | null;
  debounceMaxWaitMs: number | null;
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
  /** 1 gives the attempt back (snooze), 2 too because the worker stopped (shutdown), else 0. */
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
 * How many jobs of each concurrency-limited queue a claim may take (the worker's permits plus its
 * prefetch, less what it holds): parallel arrays. A limited queue not named here is not claimed.
 */
export interface ClaimCaps {
  queues: string[];
  caps: number[];
}

/** No limited queue claimed from (none known, or no permits). */
export const NO_CAPS: ClaimCaps = { queues: [], caps: [] };

/** A worker's permits on one concurrency-limited queue (`take_permits`, sql/0009). */
export interface PermitRow {
  queue: string;
  permits: number;
}

/** What a worker tells `take_permits` of the queues whose jobs it runs or holds permits of. */
export interface PermitRequest {
  /** Permits wanted on each limited queue: the worker's slots. */
  want: number;
  /** Queues the worker runs jobs of or holds permits of, with what it occupies of each. */
  known: string[];
  occupied: number[];
  leaseMs: number;
}

/**
 * Every statement of the hot path. Values are always bound parameters; the schema is always
 * an escaped identifier through `sql(schema)`.
 */
export function createQueries(sql: Sql, schema: string) {
  const jobs = sql`${sql(schema)}.jobs`;
  return {
    /** Inserts one job without a key. */
    insert: (db: Db, v: InsertValues) => db<{ id: string }[]>`
      insert into ${jobs} (name, payload, queue, priority, run_at, max_attempts, timeout_ms, visibility_ms,
                           at_most_once, backoff, group_key, group_max)
      values (${v.name}, ${v.payload}::text::jsonb, ${v.queue}, ${v.priority},
              coalesce(${v.runAt}::timestamptz, now() + ${v.delayMs}::bigint * interval '1 millisecond'),
              ${v.maxAttempts}::int, ${v.timeoutMs}::int, ${v.visibilityMs}::int, ${v.atMostOnce}::bool,
              ${v.backoff}::text::jsonb, ${v.groupKey}::text, ${v.groupMax}::int)
      returning id`,

    /**
     * Enqueues a keyed job through the SQL `enqueue()` function (sql/0006), which applies the
     * key's conflict rule (skip, replace, debounce) in one round trip; returns the id that holds it.
     */
    insertKeyed: (db: Db, v: KeyedValues) => db<{ id: string }[]>`
      select ${sql(schema)}.enqueue(
        name => ${v.name}::text, payload => ${v.payload}::text::jsonb, queue => ${v.queue}::text,
        priority => ${v.priority}::int,
        run_at => coalesce(${v.runAt}::timestamptz, now() + ${v.delayMs}::bigint * interval '1 millisecond'),
        max_attempts => ${v.maxAttempts}::int, key => ${v.key}::text, timeout_ms => ${v.timeoutMs}::int,
        visibility_ms => ${v.visibilityMs}::int, at_most_once => ${v.atMostOnce}::bool,
        serial_key => ${v.groupMax === 1 ? v.groupKey : null}::text,
        group_key => ${v.groupMax === 1 ? null : v.groupKey}::text, on_conflict => ${v.onConflict}::text,
        debounce_ms => ${v.debounceMs}::bigint, debounce_max_wait_ms => ${v.debounceMaxWaitMs}::bigint,
        backoff => ${v.backoff}::text::jsonb) as id`,

    /** Inserts many jobs in one statement from one JSON array of payloads, in order. */
    insertMany: (db: Db, v: Omit<InsertValues, 'payload'>, payloadsJson: string) => db<{ id: string }[]>`
      insert into ${jobs} (name, payload, queue, priority, run_at, max_attempts, timeout_ms, visibility_ms,
                           at_most_once, backoff, group_key, group_max)
      select ${v.name}, p.value, ${v.queue}, ${v.priority},
             coalesce(${v.runAt}::timestamptz, now() + ${v.delayMs}::bigint * interval '1 millisecond'),
             ${v.maxAttempts}::int, ${v.timeoutMs}::int, ${v.visibilityMs}::int, ${v.atMostOnce}::bool,
             ${v.backoff}::text::jsonb, ${v.groupKey}::text, ${v.groupMax}::int
      from jsonb_array_elements(${payloadsJson}::text::jsonb) with ordinality as p(value, ord)
      order by p.ord
      returning id`,

    /**
     * Claims up to `limit` runnable jobs in priority, then run-time order, in one statement
     * (`claim_jobs`, sql/0006: SKIP LOCKED, plans that do not depend on statistics, and the queues'
     * policies: limits, rates, groups, pause).
     */
    claim: (
      workerId: string,
      limit: number,
      queues: string[] | null,
      d: ClaimDefaults,
      caps = NO_CAPS,
      groupAhead = 0,
    ) =>
      sql<ClaimedRow[]>`
      select * from ${sql(schema)}.claim_jobs(${workerId}, ${limit}, ${pgArray(d.names)}::text[],
        ${queues === null ? null : pgArray(queues)}::text[], ${pgArray(d.maxAttempts)}::int[],
        ${pgArray(d.visibilityMs)}::int[], ${pgArray(d.atMostOnce)}::int[], ${pgArray(caps.queues)}::text[],
        ${pgArray(caps.caps)}::int[], ${groupAhead}::int)`,

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
     * `settle` and then `claim` in one statement and one transaction (`settle_and_claim_jobs`,
     * sql/0008): the settled ids come first (`settled` set), then the claimed rows (`settled` null).
     */
    settleAndClaim: (
      workerId: string,
      b: SettleBatch,
      deleteCompleted: boolean,
      claim: {
        limit: number;
        queues: string[] | null;
        defaults: ClaimDefaults;
        caps: ClaimCaps;
        groupAhead: number;
      },
    ) => {
      const d = claim.defaults;
      return sql<(ClaimedRow & { settled: string | null })[]>`
        select * from ${sql(schema)}.settle_and_claim_jobs(${workerId}, ${b.ids}::bigint[], ${b.attempts}::int[],
          ${b.claims}::timestamptz[], ${b.states}::text[], ${b.results}::text[], ${b.errors}::text[],
          ${b.delays}::bigint[], ${b.refunds}::int[], ${deleteCompleted}::bool, ${claim.limit},
          ${pgArray(d.names)}::text[], ${claim.queues === null ? null : pgArray(claim.queues)}::text[],
          ${pgArray(d.maxAttempts)}::int[], ${pgArray(d.visibilityMs)}::int[], ${pgArray(d.atMostOnce)}::int[],
          ${pgArray(claim.caps.queues)}::text[], ${pgArray(claim.caps.caps)}::int[], ${claim.groupAhead}::int)`;
    },

    /**
     * Extends the lease of every job this worker still owns and returns those ids
     * (`extend_leases`, sql/0004); rows locked right now are skipped, not waited for.
     */
    heartbeat: (workerId: string, ids: string[]) => sql<{ id: string }[]>`
      select id from ${sql(schema)}.extend_leases(${workerId}, ${pgArray(ids)}::bigint[]) as h(id)`,

    /** Renews this worker's permits on the limited queues among `queues` (`take_permits`, sql/0009). */
    takePermits: (workerId: string, queues: string[] | null, r: PermitRequest) => sql<PermitRow[]>`
      select queue, permits from ${sql(schema)}.take_permits(${workerId},
        ${queues === null ? null : pgArray(queues)}::text[], ${r.want}::int, ${pgArray(r.known)}::text[],
        ${pgArray(r.occupied)}::int[], ${r.leaseMs}::int)`,

    /** Gives back every permit of this worker (`release_permits`, sql/0009). */
    releasePermits: (workerId: string) => sql`select ${sql(schema)}.release_permits(${workerId})`,

    /** Returns claimed-but-unstarted jobs to the queue as if never claimed (`release_jobs`). */
    release: (workerId: string, ids: string[]) => sql`
      select ${sql(schema)}.release_jobs(${workerId}, ${pgArray(ids)}::bigint[])`,
  };
}

export type Queries = ReturnType<typeof createQueries>;
