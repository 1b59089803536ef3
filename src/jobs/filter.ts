import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PgschedValidationError } from '../errors.js';
import { dateSchema, parseOptions, textField } from '../options.js';
import type { JobFilter } from './queries.js';
import type { JobState } from './types.js';

/** Filters shared by listJobs, retryJobs and cancelJobs. */
export interface JobFilterOptions {
  /** One state or several. */
  state?: JobState | JobState[];
  queue?: string;
  /** The job's name (as defined). */
  name?: string;
  group?: string;
  key?: string;
  /** Only jobs created at or after this time (a Date or an ISO 8601 string). */
  since?: Date | string;
}

export interface ListJobsOptions extends JobFilterOptions {
  /** Page size, 1–1,000. Default 100. */
  limit?: number;
  /** The `next` cursor of the previous page. */
  after?: string;
  /** `newest` (default) or `oldest` first, by id (the order jobs were enqueued in). */
  order?: 'newest' | 'oldest';
}

export const MAX_LIST_LIMIT = 1_000;

const states = z.enum(['pending', 'running', 'completed', 'failed', 'cancelled']);
const filterShape = {
  state: z.union([states, z.array(states).min(1)]).optional(),
  queue: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'expected 1–100 characters of A-Z a-z 0-9 _ . : -')
    .optional(),
  // Text PostgreSQL can compare: a NUL would fail the statement rather than match nothing.
  name: textField(200).optional(),
  group: textField(200).optional(),
  key: textField(1_000).optional(),
  since: dateSchema.optional(),
};
const listSchema = z.strictObject({
  ...filterShape,
  limit: z.number().int().min(1).max(MAX_LIST_LIMIT).optional(),
  after: z.string().optional(),
  order: z.enum(['newest', 'oldest']).optional(),
});
const filterSchema = z.strictObject(filterShape);

function toFilter(o: z.output<typeof filterSchema>): JobFilter {
  return {
    states: o.state === undefined ? null : Array.isArray(o.state) ? o.state : [o.state],
    queue: o.queue ?? null,
    name: o.name ?? null,
    group: o.group ?? null,
    key: o.key ?? null,
    since: o.since ?? null,
    ids: null,
  };
}

export function parseListOptions(options: unknown) {
  const o = parseOptions(listSchema, options, 'listJobs.options');
  const order = o.order ?? 'newest';
  const after = o.after === undefined ? null : decodeCursor('listJobs.options.after', o.after, order);
  return { filter: toFilter(o), limit: o.limit ?? 100, order, after };
}

/**
 * A bulk filter: at least one field, so that `{}` (or a typo'd field dropped by a caller) can
 * never retry or cancel every job; states must be ones the action applies to.
 */
export function parseBulkFilter(field: string, options: unknown, allowed: readonly JobState[]): JobFilter {
  const filter = toFilter(parseOptions(filterSchema, options, field));
  if (Object.values(filter).every((v) => v === null)) {
    throw new PgschedValidationError(
      field,
      options,
      'expected at least one of state, queue, name, group, key, since',
    );
  }
  const bad = filter.states?.find((s) => !allowed.includes(s));
  if (bad !== undefined) {
    throw new PgschedValidationError(
      `${field}.state`,
      options && (options as { state: unknown }).state,
      `expected ${allowed.join(' or ')}`,
    );
  }
  return filter;
}

// A cursor names the last id of a page and the order it was read in, with a checksum so that a
// cursor listJobs did not produce (edited, truncated, from another order) is refused, not
// silently read as some other position.
const CURSOR_RE = /^(newest|oldest):([1-9]\d{0,18}):([0-9a-f]{12})$/;

function checksum(order: string, id: string): string {
  return createHash('sha256').update(`pgsched-cursor:${order}:${id}`).digest('hex').slice(0, 12);
}

export function encodeCursor(order: 'newest' | 'oldest', id: string): string {
  return Buffer.from(`${order}:${id}:${checksum(order, id)}`).toString('base64url');
}

function decodeCursor(field: string, cursor: string, order: 'newest' | 'oldest'): string {
  const match = /^[A-Za-z0-9_-]{1,100}$/.test(cursor)
    ? CURSOR_RE.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
    : null;
  if (!match || match[3] !== checksum(match[1]!, match[2]!)) {
    throw new PgschedValidationError(field, cursor, 'expected a `next` cursor returned by listJobs');
  }
  if (match[1] !== order) {
    throw new PgschedValidationError(field, cursor, `this cursor pages in ${match[1]} order, not ${order}`);
  }
  return match[2]!;
}
