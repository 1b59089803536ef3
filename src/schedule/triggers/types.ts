import type { Duration } from '../../duration.js';

/** How a recurring schedule says when it fires. Exactly one of `cron`, `every`, `iso` or `at` must be set. */
export interface TriggerSpec {
  /**
   * 5 fields (minute first) or 6 fields (second first), with names, ranges, lists and steps; the macros
   * `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly`; or `@every <duration>`
   * (an interval anchored at `startAt`, else at the unix epoch).
   */
  cron?: string;
  /** Fixed interval, anchored at `startAt` if given, else at the unix epoch (so `15m` fires at :00, :15, …). */
  every?: Duration;
  /**
   * ISO 8601 repeating interval: `R10/2026-01-01T00:00:00Z/PT6H` (10 fire times), `R/…/PT6H` (unbounded)
   * or `R5/<start>/<end>` (the period is end − start).
   */
  iso?: string;
  /** Fires once. */
  at?: Date | string;
  /** IANA zone that cron fields, calendar durations and offset-less date-times are read in. Default `UTC`. */
  tz?: string;
  /** Nothing fires before this instant (inclusive bound). */
  startAt?: Date | string;
  /** Nothing fires after this instant (inclusive bound). Must be later than `startAt`. */
  endAt?: Date | string;
}

export type TriggerKind = 'cron' | 'every' | 'iso' | 'at';

export interface Trigger {
  readonly kind: TriggerKind;
  /** First fire time strictly after `after`, or null if none remain (window end, repetition count, once already past). */
  next(after: Date): Date | null;
  /** All fire times t with from < t <= to, ascending, at most `limit` (default 10_000). Same code path as next(). */
  between(from: Date, to: Date, limit?: number): Date[];
  /** True when fire times are not all on whole minutes (seconds field, sub-minute interval or anchor) — the ticker uses this. */
  readonly hasSeconds: boolean;
}

/**
 * The unclipped fire-time sequence of one trigger kind, in epoch milliseconds. The window layer turns it
 * into a {@link Trigger}; keeping the kinds this small is what lets next() and between() share one path.
 */
export interface Sequence {
  /**
   * First fire time strictly after `after`, or null when there is none. `until` is a hint: the sequence
   * may stop searching (and return null) once it would only find times later than `until`.
   */
  nextAfter(after: number, until: number): number | null;
  readonly hasSeconds: boolean;
}
