import type { Sql } from 'postgres';
import { z } from 'zod';
import { type Duration, parseDuration } from './duration.js';
import { PgschedValidationError } from './errors.js';
import { validateJobName } from './identifiers.js';
import {
  dateSchema,
  duration,
  type JobOptions,
  jobOptionShape,
  type ParsedJobOptions,
  parseOptions,
  textField,
} from './options.js';
import { serializePayload } from './payload.js';
import type { Db, InsertValues, Queries } from './queries.js';
import { type Registry, validatePayload } from './registry.js';

/** Options of `enqueue`. Unset job options fall back to the job's definition, if this process has one. */
export interface EnqueueOptions extends JobOptions {
  /** A postgres.js transaction from `sql.begin`: the job (and its wake-up) commits or rolls back with it. */
  tx?: Db;
  /** When the job becomes runnable. Mutually exclusive with `delay`. */
  runAt?: Date | string;
  /** Run after this long, measured on the database clock. */
  delay?: number | string;
  /**
   * Dedupe key of this job name: while an unfinished job of the same name has this key, enqueue
   * returns that job's id and inserts nothing (`onConflict: 'skip'`, the default). Keys of different
   * job names never collide.
   */
  key?: string;
  /**
   * With `key`: `'skip'` (default) keeps the existing job; `'replace'` gives the key's pending job this
   * payload and run time, or, while the key's job runs, makes this job the key's single next job.
   */
  onConflict?: 'skip' | 'replace';
  /**
   * With `key`: like `onConflict: 'replace'`, and the job runs `debounce` after the latest enqueue
   * (each enqueue pushes it back), but never later than `debounceMaxWait` after the first.
   */
  debounce?: Duration;
  /** With `debounce`: the longest a pending job is pushed back, counted from its first enqueue. */
  debounceMaxWait?: Duration;
  /**
   * The job's group within its queue (1–200 characters). Groups share the queue's workers fairly, and
   * the queue's `groupConcurrency` / `groupRateLimit` apply to each group (see `setQueue`).
   */
  group?: string;
  /** Jobs with the same serial key run one at a time, oldest first: a group limited to one running job. */
  serialKey?: string;
}

export type EnqueueManyOptions = Omit<EnqueueOptions, 'key' | 'onConflict' | 'debounce' | 'debounceMaxWait'>;

/** Debounce durations: positive, and at most ~31 years (they are added to timestamps in SQL). */
const boundedDuration = duration(false).refine((ms) => ms <= 1e12, 'expected at most 1e12 ms');

const txSchema = z.custom<Db>(
  // Any other function would fail later with a TypeError from inside the insert.
  (value) => typeof value === 'function' && typeof (value as { unsafe?: unknown }).unsafe === 'function',
  'expected a postgres.js sql or transaction',
);

const enqueueSchema = z
  .strictObject({
    ...jobOptionShape,
    tx: txSchema.optional(),
    runAt: dateSchema.optional(),
    delay: z.union([z.number(), z.string()]).optional(),
    key: textField(1000).optional(),
    onConflict: z.enum(['skip', 'replace']).optional(),
    debounce: boundedDuration.optional(),
    debounceMaxWait: boundedDuration.optional(),
    group: textField(200).optional(),
    serialKey: textField(1000).optional(),
  })
  .refine((o) => o.runAt === undefined || o.delay === undefined, {
    message: 'give either runAt or delay, not both',
    path: ['delay'],
  })
  .refine((o) => o.group === undefined || o.serialKey === undefined, {
    message: 'give either group or serialKey, not both',
    path: ['serialKey'],
  })
  .refine((o) => o.onConflict === undefined || o.key !== undefined, {
    message: 'onConflict needs a key',
    path: ['onConflict'],
  })
  .refine((o) => o.debounce === undefined || o.key !== undefined, {
    message: 'debounce needs a key',
    path: ['debounce'],
  })
  .refine((o) => o.debounce === undefined || o.onConflict !== 'skip', {
    message: "debounce replaces the pending job; it cannot be combined with onConflict 'skip'",
    path: ['onConflict'],
  })
  .refine((o) => o.debounce === undefined || (o.runAt === undefined && o.delay === undefined), {
    message: 'debounce sets the run time; give no runAt or delay with it',
    path: ['debounce'],
  })
  .refine((o) => o.debounceMaxWait === undefined || o.debounce !== undefined, {
    message: 'debounceMaxWait needs debounce',
    path: ['debounceMaxWait'],
  });

const enqueueManySchema = enqueueSchema.superRefine((o, ctx) => {
  for (const field of ['key', 'onConflict', 'debounce', 'debounceMaxWait'] as const) {
    if (o[field] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `${field} is not supported by enqueueMany; enqueue keyed jobs one by one`,
        path: [field],
      });
      return;
    }
  }
});

export interface EnqueueDeps {
  sql: Sql;
  queries: Queries;
  registry: Registry;
  maxPayloadBytes: number;
}

export async function enqueueOne(
  deps: EnqueueDeps,
  name: string,
  payload: unknown,
  options: unknown,
): Promise<string> {
  validateJobName('enqueue.name', name);
  const opts = parseOptions(enqueueSchema, options, 'enqueue.options');
  const values = insertValues(deps, name, opts, 'enqueue.options');
  const text = await payloadText(deps, name, 'enqueue.payload', payload);
  const db = opts.tx ?? deps.sql;
  if (opts.key === undefined) {
    const [inserted] = await deps.queries.insert(db, { ...values, payload: text });
    return inserted!.id;
  }
  const [row] = await deps.queries.insertKeyed(db, {
    ...values,
    payload: text,
    key: opts.key,
    onConflict: opts.debounce === undefined ? (opts.onConflict ?? 'skip') : 'replace',
    debounceMs: opts.debounce ?? null,
    debounceMaxWaitMs: opts.debounceMaxWait ?? null,
  });
  return row!.id;
}

export async function enqueueMany(
  deps: EnqueueDeps,
  name: string,
  payloads: readonly unknown[],
  options: unknown,
): Promise<string[]> {
  validateJobName('enqueueMany.name', name);
  if (!Array.isArray(payloads))
    throw new PgschedValidationError('enqueueMany.payloads', payloads, 'expected an array');
  const opts = parseOptions(enqueueManySchema, options, 'enqueueMany.options');
  const values = insertValues(deps, name, opts, 'enqueueMany.options');
  if (payloads.length === 0) return [];
  const texts = new Array<string>(payloads.length);
  // One lookup for the batch, and no await per payload unless there is a schema to run.
  const schema = deps.registry.get(name)?.schema;
  for (let i = 0; i < payloads.length; i++) {
    const field = `enqueueMany.payloads[${i}]`;
    const value = schema ? await validatePayload(field, schema, payloads[i]) : payloads[i];
    texts[i] = serializePayload(field, value, deps.maxPayloadBytes);
  }
  const rows = await deps.queries.insertMany(opts.tx ?? deps.sql, values, `[${texts.join(',')}]`);
  return rows.map((r) => r.id);
}

async function payloadText(
  deps: EnqueueDeps,
  name: string,
  field: string,
  payload: unknown,
): Promise<string> {
  const schema = deps.registry.get(name)?.schema;
  const value = schema ? await validatePayload(field, schema, payload) : payload;
  return serializePayload(field, value, deps.maxPayloadBytes);
}

function insertValues(
  deps: EnqueueDeps,
  name: string,
  opts: ParsedJobOptions & { runAt?: Date; delay?: number | string; serialKey?: string; group?: string },
  field: string,
): Omit<InsertValues, 'payload'> {
  const defaults = deps.registry.get(name)?.options ?? {};
  const delivery = opts.delivery ?? defaults.delivery;
  const backoff = opts.backoff ?? defaults.backoff;
  return {
    name,
    queue: opts.queue ?? defaults.queue ?? 'default',
    priority: opts.priority ?? defaults.priority ?? 0,
    runAt: opts.runAt ?? null,
    delayMs: opts.delay === undefined ? 0 : parseDuration(`${field}.delay`, opts.delay),
    maxAttempts: opts.maxAttempts ?? defaults.maxAttempts ?? null,
    timeoutMs: opts.timeout ?? defaults.timeout ?? null,
    visibilityMs: opts.visibilityTimeout ?? defaults.visibilityTimeout ?? null,
    atMostOnce: delivery === undefined ? null : delivery === 'at-most-once',
    backoff: backoff ? JSON.stringify(backoff) : null,
    groupKey: opts.group ?? opts.serialKey ?? null,
    groupMax: opts.serialKey === undefined ? null : 1,
  };
}
