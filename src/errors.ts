import { inspect } from 'node:util';

/** Base class of every error pgsched throws on purpose. */
export class PgschedError extends Error {
  override name = 'PgschedError';
}

/**
 * Bad input: names the offending field and the value it was given. Thrown before anything is
 * written, so a rejected call leaves the database untouched.
 */
export class PgschedValidationError extends PgschedError {
  override name = 'PgschedValidationError';
  constructor(
    /** Dotted path of the field, e.g. `enqueue.options.priority`. */
    readonly field: string,
    /** The rejected value, as given. */
    readonly value: unknown,
    /** What was expected instead. */
    readonly expected: string,
  ) {
    super(`Invalid ${field}: ${describeValue(value)} (${expected})`);
  }
}

/** An update carried `expectedVersion` but another writer changed the row first. */
export class PgschedConflictError extends PgschedError {
  override name = 'PgschedConflictError';
  constructor(
    readonly entity: string,
    readonly key: string,
    readonly expectedVersion: number,
    readonly actualVersion: number | null,
  ) {
    super(
      `${entity} "${key}" is at version ${actualVersion ?? 'none'}, expected ${expectedVersion}: another writer changed it first`,
    );
  }
}

/** The database was migrated by a newer pgsched than this one. */
export class PgschedSchemaTooNewError extends PgschedError {
  override name = 'PgschedSchemaTooNewError';
  constructor(
    readonly schema: string,
    readonly databaseVersion: number,
    readonly packageVersion: number,
  ) {
    super(
      `Schema "${schema}" is at migration ${databaseVersion}, but this pgsched only knows migrations up to ${packageVersion}; upgrade pgsched`,
    );
  }
}

/** Renders a value for an error message without throwing on BigInt, cycles or huge strings. */
export function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // BigInt inside, or a cycle: inspect shows both (`{ n: 10n }`, `<ref *1> { self: [Circular *1] }`).
    text = inspect(value, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
