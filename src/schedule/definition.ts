import { z } from 'zod';
import { MAX_TIMER_MS, parseDuration } from '../duration.js';
import { PgschedValidationError } from '../errors.js';
import { validateJobName } from '../identifiers.js';
import { jobOptionShape, parseOptions } from '../options.js';
import { serializePayload } from '../payload.js';
import { type Registry, validatePayload } from '../registry.js';
import { parseTrigger, type Trigger, type TriggerKind } from './triggers/index.js';
import { parseInstant } from './triggers/instant.js';
import { Zone } from './triggers/zone.js';
import type { ScheduleDefinition, StoredJobOptions, UpdatePolicy } from './types.js';

/** A validated `schedule()` call, ready to store. */
export interface ParsedSchedule {
  name: string;
  definition: ScheduleDefinition;
  trigger: Trigger;
  expectedVersion: number | undefined;
  updatePolicy: UpdatePolicy;
}

const DEFAULT_GRACE_MS = 60_000;
const CATCH_UP_EXPECTED = "expected 'all', 'last', 'none' or { max: n ≥ 1, within: duration }";

// Trigger fields and catchUp are checked by their own parsers, which name the exact sub-field.
const scheduleSchema = z.strictObject({
  cron: z.unknown().optional(),
  every: z.unknown().optional(),
  iso: z.unknown().optional(),
  at: z.unknown().optional(),
  tz: z.unknown().optional(),
  startAt: z.unknown().optional(),
  endAt: z.unknown().optional(),
  job: z.string('expected the name of the job to enqueue').min(1).max(200),
  payload: z.unknown().optional(),
  ...jobOptionShape,
  catchUp: z.unknown().optional(),
  misfireGrace: z.union([z.number(), z.string()]).optional(),
  overlap: z.enum(['allow', 'skip', 'queue']).optional(),
  expectedVersion: z.number().int().min(0).max(2_147_483_647).optional(),
  updatePolicy: z.enum(['immediate', 'graceful']).optional(),
});

/**
 * Validates a schedule's name and options completely (trigger, time zone, window, payload, job
 * options, policies) before anything is written; errors name the field under `field`.
 */
export async function parseSchedule(
  registry: Registry,
  maxPayloadBytes: number,
  name: unknown,
  options: unknown,
  nameField: string,
  field: string,
): Promise<ParsedSchedule> {
  const scheduleName = validateJobName(nameField, name);
  const o = parseOptions(scheduleSchema, options, field);
  validateJobName(`${field}.job`, o.job);
  const spec = {
    cron: o.cron,
    every: o.every,
    iso: o.iso,
    at: o.at,
    tz: o.tz,
    startAt: o.startAt,
    endAt: o.endAt,
  };
  const trigger = parseTrigger(spec as never, field);
  const kind = trigger.kind;
  const given = spec[kind];
  const definition: ScheduleDefinition = {
    kind,
    // Dates become ISO text; strings stay as given, since an offset-less one means a wall time in tz.
    spec: { [kind]: given instanceof Date ? given.toISOString() : given },
    tz: typeof o.tz === 'string' ? o.tz : 'UTC',
    startAt: o.startAt === undefined ? null : instantOf(`${field}.startAt`, o.startAt, o.tz),
    endAt: o.endAt === undefined ? null : instantOf(`${field}.endAt`, o.endAt, o.tz),
    job: o.job,
    payload: JSON.parse(await payloadText(registry, maxPayloadBytes, o.job, o.payload, `${field}.payload`)),
    options: storedOptions(registry, o),
    catchUp: parseCatchUp(`${field}.catchUp`, o.catchUp),
    misfireGraceMs:
      o.misfireGrace === undefined ? DEFAULT_GRACE_MS : parseGrace(`${field}.misfireGrace`, o.misfireGrace),
    overlap: o.overlap ?? 'allow',
  };
  return {
    name: scheduleName,
    definition,
    trigger,
    expectedVersion: o.expectedVersion,
    updatePolicy: o.updatePolicy ?? 'immediate',
  };
}

async function payloadText(
  registry: Registry,
  maxBytes: number,
  job: string,
  payload: unknown,
  field: string,
): Promise<string> {
  const schema = registry.get(job)?.schema;
  const value = schema ? await validatePayload(field, schema, payload) : payload;
  return serializePayload(field, value, maxBytes);
}

/** A window bound as an instant (parseTrigger already validated it; an offset-less one is read in tz). */
function instantOf(field: string, value: unknown, tz: unknown): Date {
  return new Date(parseInstant(field, value, Zone.parse(`${field}.tz`, tz)));
}

/** misfire_grace_ms is an integer column. */
function parseGrace(field: string, value: unknown): number {
  return parseDuration(field, value, { max: MAX_TIMER_MS });
}

function parseCatchUp(field: string, value: unknown): ScheduleDefinition['catchUp'] {
  if (value === undefined) return 'last';
  if (value === 'all' || value === 'last' || value === 'none') return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PgschedValidationError(field, value, CATCH_UP_EXPECTED);
  }
  const { max, within, ...rest } = value as Record<string, unknown>;
  const unknownKey = Object.keys(rest)[0];
  if (unknownKey !== undefined) {
    throw new PgschedValidationError(`${field}.${unknownKey}`, rest[unknownKey], 'unknown option');
  }
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 10_000) {
    throw new PgschedValidationError(`${field}.max`, max, 'expected an integer from 1 to 10,000');
  }
  return { max, withinMs: parseDuration(`${field}.within`, within, { allowZero: false }) };
}

/**
 * Queue and priority are resolved now (the claim filters on them); the other options are stored
 * only when given, so the worker's own definition applies to them when the job runs.
 */
function storedOptions(registry: Registry, o: z.output<typeof scheduleSchema>): StoredJobOptions {
  const defaults = registry.get(o.job)?.options ?? {};
  const stored: StoredJobOptions = {
    queue: o.queue ?? defaults.queue ?? 'default',
    priority: o.priority ?? defaults.priority ?? 0,
  };
  if (o.maxAttempts !== undefined) stored.maxAttempts = o.maxAttempts;
  if (o.timeout !== undefined) stored.timeoutMs = o.timeout;
  if (o.visibilityTimeout !== undefined) stored.visibilityMs = o.visibilityTimeout;
  if (o.backoff !== undefined) stored.backoff = o.backoff;
  if (o.delivery !== undefined) stored.delivery = o.delivery;
  return stored;
}

/** The definition columns of `schedules` (also the keys of `pending`). */
export interface DefinitionColumns {
  spec: Record<string, unknown>;
  tz: string;
  start_at: Date | string | null;
  end_at: Date | string | null;
  job: string;
  payload: unknown;
  options: StoredJobOptions;
  catch_up: unknown;
  misfire_grace_ms: number;
  overlap: string;
}

export function toColumns(d: ScheduleDefinition): DefinitionColumns {
  return {
    spec: d.spec,
    tz: d.tz,
    start_at: d.startAt?.toISOString() ?? null,
    end_at: d.endAt?.toISOString() ?? null,
    job: d.job,
    payload: d.payload,
    options: d.options,
    catch_up:
      typeof d.catchUp === 'string' ? d.catchUp : { max: d.catchUp.max, within_ms: d.catchUp.withinMs },
    misfire_grace_ms: d.misfireGraceMs,
    overlap: d.overlap,
  };
}

export function fromColumns(c: DefinitionColumns): ScheduleDefinition {
  const catchUp = c.catch_up as string | { max: number; within_ms: number };
  return {
    kind: (['cron', 'every', 'iso', 'at'] as const).find((k) => c.spec[k] !== undefined)!,
    spec: c.spec,
    tz: c.tz,
    startAt: c.start_at === null ? null : new Date(c.start_at),
    endAt: c.end_at === null ? null : new Date(c.end_at),
    job: c.job,
    payload: c.payload,
    options: c.options,
    catchUp:
      typeof catchUp === 'string'
        ? (catchUp as 'all' | 'last' | 'none')
        : { max: catchUp.max, withinMs: Number(catchUp.within_ms) },
    misfireGraceMs: Number(c.misfire_grace_ms),
    overlap: c.overlap as ScheduleDefinition['overlap'],
  };
}

/** Equal keys ⇔ equal definitions, whatever key order jsonb gave back. */
export function definitionKey(d: ScheduleDefinition): string {
  return canonical(toColumns(d));
}

/** Equal keys ⇔ the same fire times. */
export function triggerKey(d: Pick<ScheduleDefinition, 'spec' | 'tz' | 'startAt' | 'endAt'>): string {
  // spec has exactly one key, so plain JSON is canonical here (and cheap: the ticker asks per row).
  return JSON.stringify([d.spec, d.tz, d.startAt?.getTime() ?? null, d.endAt?.getTime() ?? null]);
}

const triggers = new Map<string, Trigger>();

/** The trigger of a stored definition; parsed once per distinct trigger, since ticks re-read rows. */
export function triggerOf(d: ScheduleDefinition): Trigger {
  const key = triggerKey(d);
  let trigger = triggers.get(key);
  if (!trigger) {
    if (triggers.size >= 100_000) triggers.clear();
    const kind: TriggerKind = d.kind;
    trigger = parseTrigger(
      { [kind]: d.spec[kind], tz: d.tz, startAt: d.startAt ?? undefined, endAt: d.endAt ?? undefined },
      'schedule',
    );
    triggers.set(key, trigger);
  }
  return trigger;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
