import type { Trigger } from './triggers/index.js';
import type { ScheduleDefinition } from './types.js';

/** Stretches longer than this are recorded with count null rather than counted one by one. */
export const COUNT_CAP = 100_000;

export interface PlanInput {
  trigger: Trigger;
  /** The schedule's next_fire_at: occurrences before it were handled already. */
  cursor: Date;
  /** The last instant to handle: now, or the cursor itself when a graceful update switches after it. */
  until: Date;
  /** The database clock. */
  now: Date;
  catchUp: ScheduleDefinition['catchUp'];
  misfireGraceMs: number;
  overlap: ScheduleDefinition['overlap'];
  /** The schedule has a pending or running job (only read for overlap 'skip'). */
  busy: boolean;
  /** At most this many on-time (or, for 'all', any) occurrences per plan; the rest wait for the next pass. */
  limit: number;
}

export interface MissRange {
  reason: 'catch-up' | 'overlap';
  first: Date;
  last: Date;
  count: number | null;
}

export interface Plan {
  /** Occurrences to enqueue, ascending. */
  fires: Date[];
  /** Occurrences not enqueued, in time order. */
  misses: MissRange[];
  /** Null when every occurrence up to `until` was handled; else the last one handled (the limit cut in). */
  resumeAfter: Date | null;
}

/**
 * Decides what to do with the occurrences in [cursor, until], using only the trigger (so ticking
 * and recovery after downtime are the same code path). An occurrence at most `misfireGraceMs`
 * late is on time and always enqueued (subject to overlap); older ones are subject to catchUp.
 */
export function planOccurrences(p: PlanInput): Plan {
  const lo = p.cursor.getTime() - 1; // exclusive lower bound: the cursor itself is due
  const until = p.until.getTime();
  const staleHi = Math.min(until, p.now.getTime() - p.misfireGraceMs - 1);
  let fires: Date[];
  const misses: MissRange[] = [];
  let resumeAfter: Date | null = null;

  if (p.catchUp === 'all' || staleHi <= lo) {
    fires = p.trigger.between(new Date(lo), p.until, p.limit);
    if (fires.length === p.limit) resumeAfter = fires.at(-1)!;
  } else {
    const fresh = p.trigger.between(new Date(Math.max(lo, staleHi)), p.until, p.limit);
    if (fresh.length === p.limit) resumeAfter = fresh.at(-1)!;
    let kept: Date[] = [];
    if (p.catchUp === 'last') {
      kept = fresh.length > 0 ? [] : latestIn(p.trigger, lo, staleHi, 1);
    } else if (p.catchUp !== 'none') {
      const withinLo = Math.max(lo, p.now.getTime() - p.catchUp.withinMs - 1);
      kept = latestIn(p.trigger, withinLo, staleHi, p.catchUp.max);
    }
    // What is not kept is a prefix of the stale stretch: one range.
    const missedHi = kept.length > 0 ? kept[0]!.getTime() - 1 : staleHi;
    const first = p.trigger.next(new Date(lo));
    if (first !== null && first.getTime() <= missedHi) {
      misses.push({
        reason: 'catch-up',
        first,
        last: latestIn(p.trigger, lo, missedHi, 1)[0]!,
        count: countIn(p.trigger, lo, missedHi),
      });
    }
    fires = [...kept, ...fresh];
  }

  if (p.overlap === 'skip' && fires.length > 0) {
    // Sequentially, each later occurrence would find the first one still pending.
    const keep = p.busy ? 0 : 1;
    const skipped = fires.slice(keep);
    fires = fires.slice(0, keep);
    if (skipped.length > 0) {
      misses.push({ reason: 'overlap', first: skipped[0]!, last: skipped.at(-1)!, count: skipped.length });
    }
  }
  return { fires, misses, resumeAfter };
}

/**
 * The latest `n` occurrences in (lo, hi], ascending. Triggers only iterate forwards, so look back
 * over a growing span until it holds n occurrences or reaches lo: the cost is about the number of
 * occurrences in the last span, not in the whole (possibly years long) stretch.
 */
export function latestIn(trigger: Trigger, lo: number, hi: number, n: number): Date[] {
  if (hi <= lo) return [];
  for (let span = 1_000; ; span *= 8) {
    const from = Math.max(lo, hi - span);
    const found: Date[] = [];
    for (let t = trigger.next(new Date(from)); t !== null && t.getTime() <= hi; t = trigger.next(t)) {
      found.push(t);
      if (found.length >= 2 * n + 1_000) found.splice(0, found.length - n);
    }
    if (found.length >= n || from === lo) return found.slice(-n);
  }
}

/** How many occurrences lie in (lo, hi]; null when more than COUNT_CAP. */
export function countIn(trigger: Trigger, lo: number, hi: number): number | null {
  let count = 0;
  for (let t = trigger.next(new Date(lo)); t !== null && t.getTime() <= hi; t = trigger.next(t)) {
    if (++count > COUNT_CAP) return null;
  }
  return count;
}
