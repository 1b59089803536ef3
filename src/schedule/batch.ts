import type { TransactionSql } from 'postgres';
import { parse as parseUuid, v5 as uuidv5 } from 'uuid';
import { fromColumns, triggerOf } from './definition.js';
import { type Plan, planOccurrences } from './plan.js';
import type { DueRow, FireBatch, MissBatch, TickerQueries } from './ticker-queries.js';

/** Namespace of occurrence keys: UUIDv5(namespace, `<schedule name>@<fire time ISO>`). */
export const OCCURRENCE_NAMESPACE = '955823a6-d72b-45d0-ad26-0917da76c8dc';

// Parsed once: uuid would otherwise parse the namespace string on every call.
const NAMESPACE_BYTES = parseUuid(OCCURRENCE_NAMESPACE);

/** The deterministic key of one occurrence of a schedule (`fireAt` as a Date or its ISO string). */
export function occurrenceKey(schedule: string, fireAt: Date | string): string {
  const iso = typeof fireAt === 'string' ? fireAt : fireAt.toISOString();
  return uuidv5(`${schedule}@${iso}`, NAMESPACE_BYTES);
}

export interface BatchResult {
  /** Schedules handled. */
  handled: number;
  /** Jobs inserted. */
  fired: number;
  /** Occurrences recorded as missed. */
  missed: number;
}

/**
 * Handles locked due schedules inside the caller's transaction: plans each from its trigger as of
 * `now`, records misses, then one statement inserts the jobs and advances the schedules. Rows that
 * cannot be planned are reported to `unplannable` and left untouched.
 */
export async function handleBatch(
  q: TickerQueries,
  tx: TransactionSql,
  rows: DueRow[],
  now: Date,
  perSchedule: number,
  unplannable: (row: DueRow, error: unknown) => void,
): Promise<BatchResult> {
  const work: Work[] = [];
  for (const row of rows) {
    try {
      work.push(planRow(row, now, perSchedule));
    } catch (error) {
      unplannable(row, error);
    }
  }
  if (work.length === 0) return { handled: 0, fired: 0, missed: 0 };
  const missed = await recordMisses(q, tx, work);
  const advanced = await q.fire(tx, fireBatch(work));
  if (advanced.length !== work.length) {
    throw new Error(`schedules changed while being ticked (${work.length - advanced.length}); retrying`);
  }
  const promoted = work.filter((w) => w.row.pending !== null).map((w) => w.row.name);
  if (promoted.length > 0) await q.promote(tx, promoted);
  return { handled: work.length, fired: advanced.reduce((sum, r) => sum + r.fired, 0), missed };
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
