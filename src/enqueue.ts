import type { Sql } from 'postgres';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { PgschedValidationError } from './errors.js';
import { validateJobName } from './identifiers.js';
import {
  dateSchema,
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
  /** Dedupe key: while an unfinished job has this key, enqueue returns that job's id and inserts nothing. */
  key?: string;
  /** Jobs with the same serial key run one at a time, oldest first, across all workers. */
  serialKey?: string;
}

export type EnqueueManyOptions = Omit<EnqueueOptions, 'key'>;

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
    serialKey: textField(1000).optional(),
  })
  .refine((o) => o.runAt === undefined || o.delay === undefined, {
    message: 'give either runAt or delay, not both',
    path: ['delay'],
  });

const enqueueManySchema = enqueueSchema.refine((o) => o.key === undefined, {
  message: 'key is not supported by enqueueMany; enqueue keyed jobs one by one',
  path: ['key'],
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
  const key = opts.key ?? null;
  for (;;) {
    const [inserted] = await deps.queries.insert(db, { ...values, payload: text, key });
    if (inserted) return inserted.id;
    const [existing] = await deps.queries.unfinishedByKey(db, key!);
    if (existing) return existing.id;
    // The job holding the key finished between the two statements: insert again.
  }
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
  opts: ParsedJobOptions & { runAt?: Date; delay?: number | string; serialKey?: string },
  field: string,
): Omit<InsertValues, 'payload' | 'key'> {
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
    serialKey: opts.serialKey ?? null,
  };
}
