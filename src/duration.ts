import { PgschedValidationError } from './errors.js';

/** Milliseconds as a number, or a string such as `'500ms'`, `'30s'`, `'5m'`, `'1h30m'`, `'2d'`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/;

/**
 * Parses a duration into whole milliseconds, or throws a validation error naming `field`.
 * `allowZero` is off for things like intervals where zero would spin.
 */
export function parseDuration(field: string, value: unknown, { allowZero = true } = {}): number {
  const ms = toMs(value);
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || (!allowZero && ms === 0)) {
    throw new PgschedValidationError(
      field,
      value,
      `expected a ${allowZero ? 'non-negative' : 'positive'} duration: milliseconds or a string like '500ms', '30s', '5m', '1h30m'`,
    );
  }
  return Math.round(ms);
}

function toMs(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  let rest = value.trim();
  if (rest === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(rest)) return Number(rest);
  let total = 0;
  while (rest.length > 0) {
    const match = DURATION_RE.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}
