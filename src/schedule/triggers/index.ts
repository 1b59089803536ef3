import { PgschedValidationError } from '../../errors.js';
import { cronSequence } from './cron.js';
import { intervalSequence, parseInterval } from './interval.js';
import { isoSequence } from './iso8601.js';
import { onceSequence } from './once.js';
import type { Sequence, Trigger, TriggerKind, TriggerSpec } from './types.js';
import { clipToWindow, parseWindow } from './window.js';
import { Zone } from './zone.js';

export { DST_RULES } from './cron.js';
export type { Trigger, TriggerKind, TriggerSpec } from './types.js';

const KINDS: readonly TriggerKind[] = ['cron', 'every', 'iso', 'at'];

/**
 * Validates a schedule spec and returns its trigger. Every bad input throws a PgschedValidationError
 * naming the field under `field` (e.g. `schedule.tz`) and the rejected value.
 */
export function parseTrigger(spec: TriggerSpec, field = 'schedule'): Trigger {
  if (typeof spec !== 'object' || spec === null) {
    throw new PgschedValidationError(field, spec, 'expected an object with one of cron, every, iso or at');
  }
  const given = KINDS.filter((kind) => spec[kind] !== undefined);
  if (given.length !== 1) {
    const names = KINDS.map((kind) => `${field}.${kind}`).join(', ');
    const got =
      given.length === 0 ? 'none was given' : `got ${given.map((k) => `${field}.${k}`).join(' and ')}`;
    throw new PgschedValidationError(field, spec, `expected exactly one of ${names}; ${got}`);
  }
  const kind = given[0]!;
  const zone = Zone.parse(`${field}.tz`, spec.tz);
  const window = parseWindow(field, spec, zone);
  // Intervals are anchored at the window start, else at the epoch, so their phase is reproducible.
  const anchor = window.startAt ?? 0;
  let sequence: Sequence;
  switch (kind) {
    case 'cron':
      sequence = cronSequence(`${field}.cron`, spec.cron, zone, anchor);
      break;
    case 'every':
      sequence = intervalSequence(parseInterval(`${field}.every`, spec.every), anchor);
      break;
    case 'iso':
      sequence = isoSequence(`${field}.iso`, spec.iso, zone);
      break;
    case 'at':
      sequence = onceSequence(`${field}.at`, spec.at, zone);
      break;
  }
  return clipToWindow(kind, sequence, window);
}
