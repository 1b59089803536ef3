import { PgschedValidationError } from '../../errors.js';

/*
 * Time-zone arithmetic on top of Intl. We do this ourselves rather than through a date library so that
 * what happens in DST gaps and overlaps is decided in one visible place (see cron.ts) and not by a default.
 *
 * A "wall" time is a local date-time encoded as if it were UTC: Date.UTC(y, m, d, h, min, s, ms). Wall
 * times compare and do calendar maths like plain numbers; only the zone maps them to real instants.
 */

export const SECOND = 1_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** Real offsets lie within -12h..+14h, so every instant showing a wall time is within this of it. */
const OFFSET_REACH = 15 * HOUR;
/** tzdata never has two transitions within a week, so sampling offsets this far apart finds each one. */
const TRANSITION_PROBE = 7 * DAY;

export class Zone {
  static readonly utc: Zone = new Zone('UTC', null);

  private constructor(
    readonly name: string,
    /** Null for UTC, which needs no lookups. */
    private readonly format: Intl.DateTimeFormat | null,
  ) {}

  /** Validates an IANA zone name (default `UTC`), throwing a validation error naming `field`. */
  static parse(field: string, value: unknown): Zone {
    if (value === undefined || value === 'UTC') return Zone.utc;
    if (typeof value !== 'string' || value.trim() === '') {
      throw new PgschedValidationError(
        field,
        value,
        "expected an IANA time zone name such as 'Europe/Berlin'",
      );
    }
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: value,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new PgschedValidationError(
        field,
        value,
        "unknown time zone: expected an IANA time zone name such as 'Europe/Berlin'",
      );
    }
    const name = format.resolvedOptions().timeZone;
    // Aliases such as 'utc' or 'Etc/UTC' get the lookup-free UTC zone too.
    return name === 'UTC' ? Zone.utc : new Zone(name, format);
  }

  /** Offset (local − UTC) in milliseconds in effect at `instant`. */
  offsetAt(instant: number): number {
    if (this.format === null) return 0;
    const whole = Math.floor(instant / SECOND) * SECOND;
    const f: Record<string, number> = {};
    for (const part of this.format.formatToParts(whole)) {
      if (part.type !== 'literal') f[part.type] = Number(part.value);
    }
    const wall = Date.UTC(f.year!, f.month! - 1, f.day!, f.hour!, f.minute!, f.second!);
    return wall - whole;
  }

  /** The wall time shown at `instant`. */
  toWall(instant: number): number {
    return instant + this.offsetAt(instant);
  }

  /**
   * Every instant at which the clock shows `wall`, ascending: one normally, two in a fall-back
   * overlap, none in a spring-forward gap. Assumes at most one transition within ±15h, true of tzdata.
   */
  instantsOf(wall: number): number[] {
    if (this.format === null) return [wall];
    const before = this.offsetAt(wall - OFFSET_REACH);
    const after = this.offsetAt(wall + OFFSET_REACH);
    const offsets = before === after ? [before] : [before, after];
    return offsets
      .map((offset) => wall - offset)
      .filter((instant) => this.offsetAt(instant) === wall - instant)
      .sort((a, b) => a - b);
  }

  /**
   * For a wall time inside a spring-forward gap: the transition instant, i.e. the first real instant
   * after the missing stretch (03:00 local when 02:00–03:00 is skipped).
   */
  gapEnd(wall: number): number {
    // The clock jumps from `before` to `after`, so the transition lies in (wall − after, wall − before].
    return this.bisect(wall - this.offsetAt(wall + OFFSET_REACH), wall - this.offsetAt(wall - OFFSET_REACH));
  }

  /**
   * The first instant in (from, to] whose offset differs from the one at `from`, or null. Probes weekly
   * so that two transitions between the ends (clocks back, then forward again) are not missed.
   */
  firstTransition(from: number, to: number): number | null {
    if (this.format === null) return null;
    const offset = this.offsetAt(from);
    for (let lo = from; lo < to; lo += TRANSITION_PROBE) {
      const hi = Math.min(lo + TRANSITION_PROBE, to);
      if (this.offsetAt(hi) !== offset) return this.bisect(lo, hi);
    }
    return null;
  }

  /** Given offsetAt(lo) !== offsetAt(hi), the first instant after lo with a different offset. */
  private bisect(lo: number, hi: number): number {
    const offset = this.offsetAt(lo);
    // tzdata transitions fall on whole seconds, so bisecting in seconds is exact.
    let a = Math.floor(lo / SECOND);
    let b = Math.ceil(hi / SECOND);
    while (b - a > 1) {
      const mid = Math.floor((a + b) / 2);
      if (this.offsetAt(mid * SECOND) === offset) a = mid;
      else b = mid;
    }
    return b * SECOND;
  }

  /**
   * The instant a wall time means when read as a single moment (offset-less date-times, calendar
   * arithmetic): the first occurrence if it repeats, the end of the gap if it does not exist.
   */
  toInstant(wall: number): number {
    return this.instantsOf(wall)[0] ?? this.gapEnd(wall);
  }
}
