import { parseInstant } from './instant.js';
import type { Sequence } from './types.js';
import { MINUTE, type Zone } from './zone.js';

/** A one-off trigger: fires at `at` (millisecond precision kept) and never again. */
export function onceSequence(field: string, value: unknown, zone: Zone): Sequence {
  const at = parseInstant(field, value, zone);
  return {
    hasSeconds: at % MINUTE !== 0,
    nextAfter: (after: number) => (at > after ? at : null),
  };
}
