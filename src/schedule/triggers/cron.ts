/*
 * Cron schedules follow the wall clock of their time zone. Daylight-saving transitions make some wall
 * times happen twice and others not at all, and cron has no single standard answer, so this is ours:
 *
 * - A cron whose hour field names specific hours (`30 2 * * *`, `*\/20 1 * * *`, `0 *\/2 * * *`) is an
 *   appointment on the wall clock: each matching wall time fires exactly once.
 *     - Clocks fall back (02:00–03:00 happens twice): it fires on the first occurrence only.
 *     - Clocks spring forward (02:00–03:00 never happens): it fires once at the first instant after the
 *       gap (03:00 local), however many skipped times matched (`15,45 2 * * *` fires once at 03:00).
 * - A cron whose hour field covers every hour (`0 * * * *`, `*\/15 * * * *`, `0 0-23 * * *`) is a
 *   periodic job that happens to be written on a clock: it follows real time. It fires in both passes
 *   of a repeated hour (so `0 * * * *` still fires every real hour) and skips wall times that did not
 *   exist (the real hours on either side of the gap still fire, so nothing is missed).
 *
 * cron-parser 5.10 behaved the same on the repeated hour in our experiments, but not in the gap: it
 * moves a skipped time forward by the length of the gap (02:30 becomes 03:30, and `15,45 2 * * *` fires
 * at 03:15 and 03:45). So we use it only to parse and to match days, and do the iteration here.
 */
import { PgschedValidationError } from '../../errors.js';
import { CRON_EXPECTED, CronPattern } from './cron-pattern.js';
import { INTERVAL_EXPECTED, intervalSequence, parseInterval } from './interval.js';
import type { Sequence } from './types.js';
import { DAY, HOUR, type Zone } from './zone.js';

/** The DST behaviour of cron schedules, for the README. */
export const DST_RULES =
  'A cron that names specific hours fires once per matching wall-clock time: a time that repeats when clocks fall back fires on its first occurrence, and a time skipped when clocks spring forward fires once at the first instant after the gap (02:30 → 03:00). A cron whose hour field covers every hour (such as `*/15 * * * *`) follows real time instead: it fires in both passes of a repeated hour and skips times that did not exist.';

/** Longer than any fall-back in tzdata (the largest is 2h), so a repeated stretch is always found. */
const FALL_BACK_REACH = 3 * HOUR;

/** Parses `cron`: an expression or macro, or `@every <duration>` anchored at `anchor`. */
export function cronSequence(field: string, value: unknown, zone: Zone, anchor: number): Sequence {
  if (typeof value !== 'string') throw new PgschedValidationError(field, value, CRON_EXPECTED);
  const every = /^@every(?:\s+(.*))?$/i.exec(value.trim());
  if (every) {
    let period: number;
    try {
      period = parseInterval(field, every[1]?.trim() ?? '');
    } catch {
      // Report the whole expression, not just the duration part.
      throw new PgschedValidationError(field, value, `'@every <duration>': ${INTERVAL_EXPECTED}`);
    }
    return intervalSequence(period, anchor);
  }
  const pattern = CronPattern.parse(field, value);
  return {
    hasSeconds: pattern.hasSeconds,
    nextAfter: (after, until) => nextFire(pattern, zone, after, until),
  };
}

/**
 * Walks forward one constant-offset stretch of time at a time. Within a stretch, wall time and real
 * time move together, so the first matching wall time is the next fire; at a transition the rules above
 * decide which wall times the next stretch still owes.
 */
function nextFire(pattern: CronPattern, zone: Zone, after: number, until: number): number | null {
  let stretchStart = after;
  let offset = zone.offsetAt(after);
  let fromWall = after + offset + 1;
  if (!pattern.everyHour) fromWall = Math.max(fromWall, endOfRepeatedWalls(zone, after, offset));
  // Offsets are under a day, so no wall time past this can belong to an instant ≤ until.
  const maxWall = until + DAY;
  for (;;) {
    const wall = pattern.nextMatch(fromWall, maxWall);
    if (wall === null) return null;
    const fire = wall - offset;
    const transition = zone.firstTransition(stretchStart, fire);
    if (transition === null) return fire;
    // The clock changes before `wall` comes round. No wall time of this stretch matched before the
    // change (`wall` is the first match), so carry on in the next stretch.
    const nextOffset = zone.offsetAt(transition);
    if (nextOffset > offset) {
      // Spring forward: wall times in [transition + offset, transition + nextOffset) never happen.
      if (!pattern.everyHour && wall < transition + nextOffset) return transition;
      fromWall = transition + nextOffset;
    } else {
      // Fall back: wall times from transition + nextOffset come round again; appointments already fired.
      fromWall = transition + (pattern.everyHour ? nextOffset : offset);
    }
    stretchStart = transition;
    offset = nextOffset;
  }
}

/**
 * When `after` lies in the second pass of a repeated stretch, the wall time where that stretch ends:
 * appointment-style crons already fired for every wall time before it. Otherwise -Infinity.
 */
function endOfRepeatedWalls(zone: Zone, after: number, offset: number): number {
  const earlierOffset = zone.offsetAt(after - FALL_BACK_REACH);
  if (earlierOffset <= offset) return Number.NEGATIVE_INFINITY;
  const fallBack = zone.firstTransition(after - FALL_BACK_REACH, after);
  return fallBack === null ? Number.NEGATIVE_INFINITY : fallBack + earlierOffset;
}
