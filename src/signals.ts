import { type Duration, parseDuration } from './duration.js';

/**
 * A handler steers its own job by throwing or returning one of these. They are values, not
 * errors, so returning them is as good as throwing them.
 */
export type JobSignal = CancelSignal | DiscardSignal | SnoozeSignal;

const SIGNAL = Symbol.for('pgsched.signal');

/** End the job as `cancelled`; no retry. */
export class CancelSignal extends Error {
  readonly [SIGNAL] = 'cancel' as const;
  override name = 'CancelSignal';
}

/** End the job as `failed` now, whatever attempts remain. */
export class DiscardSignal extends Error {
  readonly [SIGNAL] = 'discard' as const;
  override name = 'DiscardSignal';
}

/** Put the job back to run again after `delayMs`, without using up an attempt. */
export class SnoozeSignal extends Error {
  readonly [SIGNAL] = 'snooze' as const;
  override name = 'SnoozeSignal';
  constructor(readonly delayMs: number) {
    super(`snoozed for ${delayMs}ms`);
  }
}

/** `throw cancel('no longer needed')` or `return cancel()` from a handler. */
export const cancel = (reason = 'cancelled by handler'): CancelSignal => new CancelSignal(reason);
/** `throw discard('bad payload')`: fail now, no more attempts. */
export const discard = (reason = 'discarded by handler'): DiscardSignal => new DiscardSignal(reason);
/** `return snooze('5m')`: run again later without using an attempt. */
export const snooze = (delay: Duration): SnoozeSignal =>
  new SnoozeSignal(parseDuration('snooze.delay', delay));

export function signalKind(value: unknown): JobSignal[typeof SIGNAL] | undefined {
  return value instanceof Error && SIGNAL in value ? (value as JobSignal)[SIGNAL] : undefined;
}
