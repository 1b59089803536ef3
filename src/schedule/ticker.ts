import type { Logger } from 'pino';
import type { Sql, TransactionSql } from 'postgres';
import { parse as parseUuid, v5 as uuidv5 } from 'uuid';
import type { Duty } from '../maintenance/leader.js';
import { fromColumns, triggerOf } from './definition.js';
import { type Plan, planOccurrences } from './plan.js';
import {
  createTickerQueries,
  type DueRow,
  type FireBatch,
  type MissBatch,
  type TickerQueries,
} from './ticker-queries.js';

/** Namespace of occurrence keys: UUIDv5(namespace, `<schedule name>@<fire time ISO>`). */
export const OCCURRENCE_NAMESPACE = '955823a6-d72b-45d0-ad26-0917da76c8dc';

// Parsed once: uuid would otherwise parse the namespace string on every call.
const NAMESPACE_BYTES = parseUuid(OCCURRENCE_NAMESPACE);

/** The deterministic key of one occurrence of a schedule (`fireAt` as a Date or its ISO string). */
export function occurrenceKey(schedule: string, fireAt: Date | string): string {
  const iso = typeof fireAt === 'string' ? fireAt : fireAt.toISOString();
  return uuidv5(`${schedule}@${iso}`, NAMESPACE_BYTES);
}

export interface TickerOptions {
  /** Default: the database's `now()` (the batch transaction's start). Tests inject a fixed time. */
  clock?: () => Date;
  /** Schedules locked and handled per transaction. Default 250. */
  batchSize?: number;
  /**
   * Batches in flight at once, each a transaction on its own connection (SKIP LOCKED gives them
   * disjoint schedules), so one batch's SQL overlaps another's planning. Default 2.
   */
  concurrency?: number;
  /** Occurrences of one schedule per transaction (so catch-up 'all' of a long outage pages). Default 1,000. */
  perSchedule?: number;
  /** One pass keeps taking due batches for at most this long, then lets the leader check its lock. Default 1s. */
  passBudgetMs?: number;
}

export interface TickerStats {
  /** Jobs inserted (occurrences enqueued). */
  fired: number;
  /** Occurrences recorded as missed. */
  missed: number;
  /** Batches (transactions) committed. */
  batches: number;
}

export interface Ticker extends Duty {
  readonly stats: TickerStats;
}

const MISS_RETENTION_MS = 30 * 86_400_000;
const MISS_PRUNE_EVERY_MS = 3_600_000;
const UNPLANNABLE_RETRY_MS = 60_000;

/**
 * The leader duty that turns due schedule occurrences into jobs. Each batch is one transaction:
 * lock due schedules (SKIP LOCKED), plan their occurrences from the triggers, record misses, then
 * one statement inserts the jobs (unique occurrence key) and advances the schedules
 * (conditionally on version and cursor). Returns the ms until the earliest next fire time, so the
 * leader wakes exactly when something is due.
 */
export function createTicker(sql: Sql, schema: string, logger: Logger, options: TickerOptions = {}): Ticker {
  const q = createTickerQueries(sql, schema);
  const batchSize = options.batchSize ?? 250;
  const concurrency = options.concurrency ?? 2;
  const perSchedule = options.perSchedule ?? 1_000;
  const budget = options.passBudgetMs ?? 1_000;
  const stats: TickerStats = { fired: 0, missed: 0, batches: 0 };
  let lastPrune = 0;
  // Schedules this process cannot plan (say, a trigger written by a newer pgsched during a rolling
  // upgrade): left untouched for a leader that can, and skipped here for a while, so that one bad
  // row neither fails every batch nor keeps the ticker spinning on a due time it cannot handle.
  const unplannable = new Map<string, number>();

  function plan(rows: DueRow[], now: Date): Work[] {
    const work: Work[] = [];
    for (const row of rows) {
      try {
        work.push(planRow(row, now, perSchedule));
      } catch (error) {
        unplannable.set(row.name, Date.now() + UNPLANNABLE_RETRY_MS);
        logger.error({ err: error, schedule: row.name }, 'cannot plan schedule; skipping it for now');
      }
    }
    return work;
  }

  const skipped = () => {
    for (const [name, until] of unplannable) if (until < Date.now()) unplannable.delete(name);
    return [...unplannable.keys()];
  };

  async function batch(): Promise<{ locked: number; again: boolean }> {
    const result = await sql.begin(async (tx) => {
      const rows = await q.lockDue(tx, options.clock?.() ?? null, batchSize, skipped());
      if (rows.length === 0) return { locked: 0, again: false, fired: 0, missed: 0 };
      const now = rows[0]!.tick_now;
      const work = plan(rows, now);
      const missed = await recordMisses(q, tx, work);
      const advanced = work.length > 0 ? await q.fire(tx, fireBatch(work)) : [];
      if (advanced.length !== work.length) {
        throw new Error(`schedules changed while being ticked (${work.length - advanced.length}); retrying`);
      }
      const promoted = work.filter((w) => w.row.pending !== null).map((w) => w.row.name);
      if (promoted.length > 0) await q.promote(tx, promoted);
      return {
        locked: rows.length,
        again: work.some((w) => w.next !== null && w.next <= now),
        fired: advanced.reduce((sum, r) => sum + r.fired, 0),
        missed,
      };
    });
    if (result.locked > 0) {
      stats.fired += result.fired;
      stats.missed += result.missed;
      stats.batches++;
      if (result.missed > 0)
        logger.info({ missed: result.missed }, 'schedule occurrences skipped (see missedOccurrences)');
    }
    return result;
  }

  return {
    name: 'schedules',
    stats,
    async runOnce() {
      const started = Date.now();
      const lane = async () => {
        for (;;) {
          const { locked, again } = await batch();
          if ((locked < batchSize && !again) || Date.now() - started > budget) return;
        }
      };
      // allSettled: a failing lane must not return while the other still has a batch in flight.
      const lanes = await Promise.allSettled(Array.from({ length: concurrency }, lane));
      const failed = lanes.find((l) => l.status === 'rejected');
      if (failed) throw failed.reason;
      if (Date.now() - lastPrune > MISS_PRUNE_EVERY_MS) {
        lastPrune = Date.now();
        await q.pruneMisses(MISS_RETENTION_MS);
      }
      const [row] = await q.earliest(skipped());
      if (!row?.next) return 60_000;
      const wait = row.next.getTime() - (options.clock?.() ?? row.now).getTime();
      // Due but not taken: locked by a writer or another leader right now. Look again shortly.
      return wait <= 0 ? 25 : wait + 1;
    },
  };
}

interface Work {
  row: DueRow;
  plan: Plan;
  next: Date | null;
}

/**
 * Plans one schedule. With a pending graceful update only the cursor occurrence is handled, under
 * the current definition; the pending definition then takes over from the first of its own
 * occurrences after the cursor.
 */
function planRow(row: DueRow, now: Date, limit: number): Work {
  const definition = fromColumns(row);
  const trigger = triggerOf(definition);
  const cursor = row.next_fire_at;
  const graceful = row.pending !== null;
  const until = graceful ? cursor : now;
  const plan = planOccurrences({
    trigger,
    cursor,
    until,
    now,
    catchUp: definition.catchUp,
    misfireGraceMs: definition.misfireGraceMs,
    overlap: definition.overlap,
    busy: row.busy,
    limit,
  });
  let next: Date | null;
  if (graceful) next = triggerOf(fromColumns(row.pending!)).next(cursor);
  else next = trigger.next(plan.resumeAfter ?? until);
  return { row, plan, next };
}

function fireBatch(work: Work[]): FireBatch {
  const b: FireBatch = {
    names: [],
    payloads: [],
    queues: [],
    priorities: [],
    runAts: [],
    maxAttempts: [],
    timeouts: [],
    visibilities: [],
    atMostOnce: [],
    backoffs: [],
    serialKeys: [],
    schedules: [],
    occurrences: [],
    advance: { names: [], versions: [], cursors: [], nexts: [], lastFires: [] },
  };
  for (const { row, plan, next } of work) {
    const o = row.options;
    const backoff = o.backoff ? JSON.stringify(o.backoff) : null;
    const atMostOnce = o.delivery === undefined ? null : o.delivery === 'at-most-once' ? 1 : 0;
    // overlap 'queue': the claim runs jobs sharing a serial key one at a time, oldest first.
    const serialKey = row.overlap === 'queue' ? `schedule:${row.name}` : null;
    for (const fire of plan.fires) {
      const runAt = fire.toISOString();
      b.names.push(row.job);
      b.payloads.push(row.payload_text);
      b.queues.push(o.queue);
      b.priorities.push(o.priority);
      b.runAts.push(runAt);
      b.maxAttempts.push(o.maxAttempts ?? null);
      b.timeouts.push(o.timeoutMs ?? null);
      b.visibilities.push(o.visibilityMs ?? null);
      b.atMostOnce.push(atMostOnce);
      b.backoffs.push(backoff);
      b.serialKeys.push(serialKey);
      b.schedules.push(row.name);
      b.occurrences.push(occurrenceKey(row.name, runAt));
    }
    b.advance.names.push(row.name);
    b.advance.versions.push(row.version);
    b.advance.cursors.push(row.next_fire_at.toISOString());
    b.advance.nexts.push(next?.toISOString() ?? null);
    b.advance.lastFires.push(plan.fires.at(-1)?.toISOString() ?? null);
  }
  return b;
}

/**
 * Records each plan's missed stretches. A stretch that continues the schedule's latest record
 * (same reason, nothing enqueued in between) lengthens that record instead of adding one, so an
 * every-second schedule skipping behind a long job costs one row, not one per second.
 */
async function recordMisses(q: TickerQueries, tx: TransactionSql, work: Work[]): Promise<number> {
  const withMisses = work.filter((w) => w.plan.misses.length > 0);
  if (withMisses.length === 0) return 0;
  const latest = new Map(
    (
      await q.latestMisses(
        tx,
        withMisses.map((w) => w.row.name),
      )
    ).map((m) => [m.schedule, m]),
  );
  const ext = { ids: [] as string[], lasts: [] as string[], counts: [] as (number | null)[] };
  const ins: MissBatch = { schedules: [], firsts: [], lasts: [], counts: [], reasons: [] };
  let missed = 0;
  for (const { row, plan } of withMisses) {
    plan.misses.forEach((miss, i) => {
      missed += miss.count ?? 0;
      const previous = latest.get(row.name);
      const firedSince =
        (row.last_fire_at !== null && previous !== undefined && row.last_fire_at > previous.last_at) ||
        (plan.fires[0] !== undefined && plan.fires[0] < miss.first);
      if (i === 0 && previous && previous.reason === miss.reason && !firedSince) {
        ext.ids.push(previous.id);
        ext.lasts.push(miss.last.toISOString());
        ext.counts.push(miss.count);
      } else {
        ins.schedules.push(row.name);
        ins.firsts.push(miss.first.toISOString());
        ins.lasts.push(miss.last.toISOString());
        ins.counts.push(miss.count);
        ins.reasons.push(miss.reason);
      }
    });
  }
  if (ext.ids.length > 0) await q.extendMisses(tx, ext.ids, ext.lasts, ext.counts);
  if (ins.schedules.length > 0) await q.insertMisses(tx, ins);
  return missed;
}
