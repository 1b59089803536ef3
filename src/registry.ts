import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Logger } from 'pino';
import { z } from 'zod';
import { PgschedValidationError } from './errors.js';
import { validateJobName } from './identifiers.js';
import { type JobOptions, jobOptionShape, type ParsedJobOptions, parseOptions } from './options.js';
import type { JobSignal } from './signals.js';

/** What a handler learns about the job it runs. */
export interface JobInfo {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly priority: number;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly key: string | null;
  /** The job's group within its queue (`group` or `serialKey` at enqueue). */
  readonly group: string | null;
  readonly runAt: Date;
  readonly createdAt: Date;
  /** The schedule that enqueued this job, if any. */
  readonly schedule: string | null;
  /** UUIDv5 of (schedule, fire time): a stable idempotency key for scheduled jobs. */
  readonly occurrence: string | null;
  /** The occurrence's due time (scheduled jobs only; unlike runAt it never moves on retry). */
  readonly fireAt: Date | null;
}

export interface JobContext {
  readonly job: JobInfo;
  /** Aborted when the attempt times out, the job is cancelled, or the worker is forced to stop. */
  readonly signal: AbortSignal;
  /** A pino child logger carrying the job's id, name and attempt. */
  readonly log: Logger;
  /**
   * Records how far the job got: any JSON value (a number, `{ done: 40, of: 100 }`, …), readable
   * through `getJob()` while the job runs and kept after it ends. Calls in quick succession are
   * coalesced (the latest value wins). Resolves once stored; never rejects (a write that fails is
   * logged). Throws a PgschedValidationError at once for a value that is not JSON-serialisable.
   */
  progress(value: unknown): Promise<void>;
}

/** A job handler: its return value is stored as the job's result. */
export type Handler<P = unknown, R = unknown> = (
  payload: P,
  ctx: JobContext,
) => Promise<R | JobSignal | undefined | void> | R | JobSignal | undefined | void;

/** Options of `define`: job defaults plus an optional payload schema. */
export interface DefineOptions<P = unknown> extends JobOptions {
  /**
   * Any Standard Schema (zod, valibot, arktype, …). Payloads are checked at enqueue in
   * processes that define the job, and always before the handler runs; a payload that fails
   * there is discarded (retrying would not fix it).
   */
  schema?: StandardSchemaV1<unknown, P>;
}

export interface Definition {
  readonly name: string;
  readonly handler: Handler<any, any>;
  readonly options: ParsedJobOptions;
  readonly schema: StandardSchemaV1 | undefined;
}

const defineOptionsSchema = z.strictObject({
  ...jobOptionShape,
  schema: z
    .custom<StandardSchemaV1>(
      (value) => typeof value === 'object' && value !== null && '~standard' in value,
      'expected a Standard Schema (zod, valibot, arktype, …)',
    )
    .optional(),
});

/** The job definitions of one process. */
export class Registry {
  readonly #definitions = new Map<string, Definition>();

  define(name: string, handler: Handler<any, any>, options?: DefineOptions<any>): Definition {
    validateJobName('define.name', name);
    if (this.#definitions.has(name)) {
      throw new PgschedValidationError('define.name', name, 'a job with this name is already defined');
    }
    if (typeof handler !== 'function') {
      throw new PgschedValidationError('define.handler', handler, 'expected a function');
    }
    const { schema, ...jobOptions } = parseOptions(defineOptionsSchema, options, 'define.options');
    const definition: Definition = { name, handler, options: jobOptions, schema };
    this.#definitions.set(name, definition);
    return definition;
  }

  get(name: string): Definition | undefined {
    return this.#definitions.get(name);
  }

  names(): string[] {
    return [...this.#definitions.keys()];
  }
}

/** Runs a Standard Schema; returns the (possibly transformed) value or throws naming the issue. */
export async function validatePayload(
  field: string,
  schema: StandardSchemaV1,
  payload: unknown,
): Promise<unknown> {
  let result = schema['~standard'].validate(payload);
  if (result instanceof Promise) result = await result;
  if (result.issues) {
    const issue = result.issues[0]!;
    const path = (issue.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)).join('.');
    throw new PgschedValidationError(path ? `${field}.${path}` : field, payload, issue.message);
  }
  return result.value;
}
