import { PgschedValidationError } from './errors.js';

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const QUEUE_RE = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Schema names are interpolated (quoted) into migration SQL, so only plain identifiers pass. */
export function validateSchemaName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !SCHEMA_RE.test(value)) {
    throw new PgschedValidationError(
      field,
      value,
      'expected a lowercase SQL identifier: letters, digits and _, not starting with a digit, at most 63 characters',
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

export function validateJobName(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 200) {
    throw new PgschedValidationError(field, value, 'expected a non-empty string of at most 200 characters');
  }
  return value;
}
