import { PgschedValidationError } from './errors.js';

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const QUEUE_RE = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Schema names are interpolated (quoted) into migration SQL, so only plain identifiers pass. */
export function validateSchemaName(field: string, value: unknown): string {
  // PostgreSQL reserves the pg_ prefix: CREATE SCHEMA pg_x fails (42939) halfway into migrate.
  if (typeof value !== 'string' || !SCHEMA_RE.test(value) || value.startsWith('pg_')) {
    throw new PgschedValidationError(
      field,
      value,
      'expected a lowercase SQL identifier: letters, digits and _, not starting with a digit or pg_, at most 63 characters',
    );
  }
  return value;
}

export function validateQueueName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !QUEUE_RE.test(value)) {
    throw new PgschedValidationError(field, value, 'expected 1–100 characters of A-Z a-z 0-9 _ . : -');
  }
  return value;
}

/** Job and schedule names: 1–200 characters of text PostgreSQL can store. */
export function validateJobName(field: string, value: unknown): string {
  return validateText(field, value, 200);
}

/**
 * Text bound for a `text` column: 1–`max` UTF-16 units, no NUL (PostgreSQL text cannot hold it:
 * the statement fails) and no unpaired surrogate (the driver would store U+FFFD instead, so the
 * value would not round-trip).
 */
export function validateText(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > max) {
    throw new PgschedValidationError(
      field,
      value,
      `expected a non-empty string of at most ${max} characters`,
    );
  }
  if (!isStorableText(value)) {
    throw new PgschedValidationError(field, value, UNSTORABLE_TEXT);
  }
  return value;
}

export const UNSTORABLE_TEXT = 'PostgreSQL text cannot store \\u0000 or an unpaired surrogate';

/** No NUL, no unpaired surrogate. */
export function isStorableText(value: string): boolean {
  return value.isWellFormed() && !value.includes('\u0000');
}
