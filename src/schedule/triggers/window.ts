import { PgschedValidationError } from '../../errors.js';
import { MAX_INSTANT, parseInstant } from './instant.js';
import type { Sequence, Trigger, TriggerKind } from './types.js';
import type { Zone } from './zone.js';

/** The active window of a schedule in epoch milliseconds; both ends inclusive, either may be open. */
export interface Window {
  readonly startAt: number | null;
  readonly endAt: number | null;
}

const DEFAULT_LIMIT = 10_000;

export function parseWindow(field: string, spec: { startAt?: unknown; endAt?: unknown }, zone: Zone): Window {
  const startAt = spec.startAt === undefined ? null : parseInstant(`${field}.startAt`, spec.startAt, zone);
  const endAt = spec.endAt === undefined ? null : parseInstant(`${field}.endAt`, spec.endAt, zone);
  if (startAt !== null && endAt !== null && endAt <= startAt) {
    throw new PgschedValidationError(
      `${field}.endAt`,
      spec.endAt,
      `expected a time after ${field}.startAt (${new Date(startAt).toISOString()})`,
    );
  }
  return { startAt, endAt };
}

/**
 * Clips a sequence to its window and exposes it as a Trigger. between() is a loop over next() on
 * purpose: whatever a preview or catch-up lists is exactly what the ticker will fire, one at a time.
 */
export function clipToWindow(kind: TriggerKind, sequence: Sequence, window: Window): Trigger {
  // No fire time past what a timestamptz column and a Date both hold (calendar arithmetic of huge
  // ISO periods would otherwise give NaN or year 10000+, which the ticker could not store).
  const until = Math.min(window.endAt ?? MAX_INSTANT, MAX_INSTANT);
  // Fire times are whole milliseconds, so "strictly after startAt − 1ms" is "at or after startAt".
  const floor = window.startAt === null ? Number.NEGATIVE_INFINITY : window.startAt - 1;

  const nextAfter = (after: number): number | null => {
    const next = sequence.nextAfter(Math.max(after, floor), until);
    return next === null || !(next <= until) ? null : next;
  };

  return {
    kind,
    hasSeconds: sequence.hasSeconds,
    next(after: Date): Date | null {
      const next = nextAfter(instantArg('after', after));
      return next === null ? null : new Date(next);
    },
    between(from: Date, to: Date, limit = DEFAULT_LIMIT): Date[] {
      const start = instantArg('from', from);
      const end = instantArg('to', to);
      if (!Number.isInteger(limit) || limit < 1) {
        throw new PgschedValidationError('limit', limit, 'expected a positive integer');
      }
      const out: Date[] = [];
      for (let t = nextAfter(start); t !== null && t <= end && out.length < limit; t = nextAfter(t)) {
        out.push(new Date(t));
      }
      return out;
    },
  };
}

function instantArg(field: string, value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new PgschedValidationError(field, value, 'expected a valid Date');
  return ms;
}
