import { fc } from '@fast-check/vitest';
import type postgres from 'postgres';
import { expect } from 'vitest';
import { describeValue } from '../../src/errors.js';
import { PgschedValidationError } from '../../src/index.js';

/*
 * Shared pieces of the property tests (test/fuzz-*.test.ts): the "rejected properly" assertion and
 * arbitraries of good and bad input. Each `bad*` arbitrary is one kind of bad input; docs/fuzzing.md
 * lists them.
 */

/** 2³¹−1 ms: integer columns and Node timers. */
export const MAX_TIMER = 2_147_483_647;
/** 100 years: every other duration. */
export const MAX_DELAY = 36_500 * 86_400_000;
export const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Runs per property: enough to hit each generator branch many times, small enough for the 30 s budget. */
export const RUNS = Number(process.env.PGSCHED_FUZZ_RUNS ?? 40);

// Replays a failure: each failing property prints its seed.
if (process.env.PGSCHED_FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.PGSCHED_FUZZ_SEED) });

/** Settles `call` (sync or async), failing the property if it neither returns nor throws within `ms`. */
export async function settle(call: () => unknown, ms = 5_000): Promise<{ error?: unknown; value?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: no answer within ${ms}ms`)), ms);
  });
  try {
    return { value: await Promise.race([Promise.resolve().then(call), hang]) };
  } catch (error) {
    if ((error as Error).message?.startsWith('hang:')) throw error;
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

/** Row counts of every table a public call could write to, as one comparable string. */
export async function footprint(sql: postgres.Sql, schema = 'pgsched'): Promise<string> {
  const s = sql(schema);
  const [row] = await sql<{ n: string }[]>`select concat_ws('/',
    (select count(*) from ${s}.jobs), (select count(*) from ${s}.schedules),
    (select count(*) from ${s}.schedule_misses)) as n`;
  return row!.n;
}

/**
 * The property of every bad input: the call rejects with a PgschedValidationError whose field is
 * `field` (or matches it) and whose value is the input, within 5 s, and no row was written.
 */
export async function expectRejected(
  sql: postgres.Sql,
  call: () => unknown,
  field: string | RegExp,
  value?: { is: unknown },
): Promise<PgschedValidationError> {
  const before = await footprint(sql);
  const { error } = await settle(call);
  if (!(error instanceof PgschedValidationError)) {
    throw new Error(`expected a PgschedValidationError naming ${String(field)}, got ${describe(error)}`);
  }
  if (typeof field === 'string') expect(error.field).toBe(field);
  else expect(error.field).toMatch(field);
  if (value) expect(Object.is(error.value, value.is), `value ${describe(error.value)}`).toBe(true);
  expect(error.message).toContain(error.field);
  expect(await footprint(sql)).toBe(before);
  return error;
}

function describe(value: unknown): string {
  if (value === undefined) return 'no error (the input was accepted)';
  if (value instanceof Error) return `${value.constructor.name}: ${value.message}`;
  return describeValue(value);
}

// ---------- arbitraries of values that are never valid where a specific type is expected ----------

/** Values of the wrong type for a number, string or duration field. */
export const wrongType = fc.oneof(
  fc.boolean(),
  fc.constant(null),
  fc.bigInt(),
  fc.constant(Symbol('s')),
  fc.func(fc.anything()),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
  fc.array(fc.integer(), { maxLength: 2 }),
);

/** A Unicode scalar value other than NUL: what PostgreSQL text and jsonb both store. */
export const storableChar = fc
  .integer({ min: 1, max: 0x10ffff })
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCodePoint(c));

/** Text mixing ASCII, astral characters, combining marks and emoji. */
export const oddText = (maxLength = 20) =>
  fc.string({
    unit: fc.oneof(storableChar, fc.constantFrom('a', 'é', 'e\u0301', '👩‍👩‍👧', '\uFEFF', '\u200D')),
    maxLength,
  });

/** A string PostgreSQL cannot store as given: a NUL or an unpaired surrogate somewhere in it. */
export const unstorableText = fc
  .tuple(
    oddText(5),
    fc.constantFrom('\u0000', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', 'a\uDC00\uD800b'),
    oddText(5),
  )
  .map(([a, bad, b]) => a + bad + b);

const VALID_DURATION = /^(?:\d+(?:\.\d+)?|(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)$/;

/** Strings that are not durations: random text and near misses. */
export const malformedDuration = fc.oneof(
  fc.string({ maxLength: 12 }).filter((s) => !VALID_DURATION.test(s.trim())),
  fc.constantFrom('1 s', '1sec', '1.s', '-1s', '1e3', '5 minutes', '1S', 's', '1h 30m', '', ' ', '0x10', '∞'),
);

/** Every way a duration can be bad where at most `max` ms (and maybe zero) is allowed. */
export function badDuration(max: number, allowZero: boolean) {
  const kinds: fc.Arbitrary<unknown>[] = [
    fc.double({ max: -Number.MIN_VALUE, noNaN: true }), // negative
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY), // not finite
    fc.double({ min: max + 1, noNaN: true }), // past the bound, as a number
    fc.integer({ min: Math.floor(max / 86_400_000) + 1, max: 1e9 }).map((d) => `${d}d`), // past it, as text
    malformedDuration,
    wrongType,
  ];
  if (!allowZero)
    kinds.push(fc.oneof(fc.double({ min: 0, max: 0.49, noNaN: true }), fc.constantFrom('0', '0ms', '0.4ms')));
  return fc.oneof(...kinds);
}

/** A valid duration as given, with the milliseconds it means. */
export function goodDuration(max: number, allowZero: boolean) {
  const min = allowZero ? 0 : 1;
  return fc.oneof(
    fc.integer({ min, max }).map((ms) => ({ given: ms as number | string, ms })),
    fc.integer({ min, max: Math.floor(max / 1000) }).map((s) => ({ given: `${s}s`, ms: s * 1000 })),
    fc
      .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: min, max: 59 }))
      .map(([h, m]) => ({ given: `${h}h${m}m`, ms: h * 3_600_000 + m * 60_000 })),
  );
}

/** Numbers that are not an integer in [min, max], and non-numbers. */
export function badInteger(min: number, max: number) {
  return fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
    fc.double({ min: max + 1 }),
    fc.double({ max: min - 1 }),
    fc.constantFrom(Number.NaN, '3', '0'),
    wrongType,
  );
}

export const QUEUE_RE = /^[A-Za-z0-9_.:-]{1,100}$/;
export const badQueue = fc.oneof(
  fc.string({ maxLength: 20 }).filter((s) => !QUEUE_RE.test(s)),
  fc.stringMatching(/^[a-z]{101,120}$/),
  unstorableText,
  wrongType,
);

/** An option name that does not exist (typos of real ones included). */
export const unknownKeyName = fc.oneof(
  fc.constantFrom(
    'prority',
    'retries',
    'timeOut',
    'visibility',
    'maxAttempt',
    'delayMs',
    'Queue',
    '__proto__x',
  ),
  fc
    .string({ minLength: 1, maxLength: 12 })
    .filter(
      (k) =>
        !/^(queue|priority|maxAttempts|timeout|visibilityTimeout|backoff|delivery|schema|tx|runAt|delay|key|serialKey|group|onConflict|debounce|debounceMaxWait|job|payload|cron|every|iso|at|tz|startAt|endAt|catchUp|misfireGrace|overlap|expectedVersion|updatePolicy|sql|logger|maxPayloadBytes|random|queues|concurrency|prefetch|pollInterval|pollOnly|listenUrl|leaderTimeout|leader|retention|schedules|removeUnlistedSchedules|registryInterval|dryRun|state|name|since|limit|after|order|rateLimit|groupConcurrency|groupRateLimit|__proto__|constructor|toString|valueOf)$/.test(
          k,
        ),
    ),
);
const unknownKey = fc.tuple(unknownKeyName, fc.jsonValue({ maxDepth: 1 })).map(([k, v]) => ({
  options: { [k]: v },
  field: k,
  value: v,
}));

/** One bad job option (define, enqueue and schedule share them): the options and the field at fault. */
export const badJobOption: fc.Arbitrary<{ options: Record<string, unknown>; field: string; value: unknown }> =
  fc.oneof(
    badQueue.map((v) => one('queue', v)),
    badInteger(-(2 ** 31), 2 ** 31 - 1).map((v) => one('priority', v)),
    badInteger(1, 1_000_000).map((v) => one('maxAttempts', v)),
    badDuration(MAX_TIMER, false).map((v) => one('timeout', v)),
    badDuration(MAX_TIMER, false).map((v) => one('visibilityTimeout', v)),
    fc
      .oneof(fc.string(), wrongType)
      .filter((v) => v !== 'at-least-once' && v !== 'at-most-once')
      .map((v) => one('delivery', v)),
    fc
      .oneof(fc.string(), wrongType)
      .filter((v) => !['fixed', 'linear', 'exponential'].includes(v as string))
      .map((v) => ({
        options: { backoff: { type: v, base: 1 } },
        field: 'backoff.type',
        value: v,
      })),
    badDuration(MAX_DELAY, true).map((v) => ({
      options: { backoff: { type: 'fixed', base: v } },
      field: 'backoff.base',
      value: v,
    })),
    badDuration(MAX_DELAY, true).map((v) => ({
      options: { backoff: { type: 'linear', base: 1, max: v } },
      field: 'backoff.max',
      value: v,
    })),
    fc
      .oneof(
        fc.double({ min: 1.0000001 }),
        fc.double({ max: -Number.MIN_VALUE }),
        fc.constant(Number.NaN),
        wrongType,
      )
      .map((v) => ({
        options: { backoff: { type: 'fixed', base: 1, jitter: v } },
        field: 'backoff.jitter',
        value: v,
      })),
    fc
      .oneof(fc.string(), fc.integer(), wrongType)
      .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
      .map((v) => one('backoff', v)),
    unknownKey,
  );

function one(field: string, value: unknown) {
  return { options: { [field]: value }, field, value };
}

/** `option('delay')(v)`: options with one field set to `v`, the field's name, and `v`. */
export const option = (field: string) => (value: unknown) => one(field, value);
