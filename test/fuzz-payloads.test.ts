import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';
import {
  expectRejected,
  footprint,
  oddText,
  RUNS,
  storableChar,
  unstorableText,
  wrongType,
} from './support/fuzz.js';

/*
 * Property tests of payloads (enqueue, enqueueMany, schedule) and job ids (getJob, cancel, retry):
 * what is accepted reads back deep-equal; what JSON or jsonb cannot hold is a PgschedValidationError
 * naming the payload, with nothing written.
 */

let db: TestDb;
let q: Pgsched;
let small: Pgsched;
const LIMIT = 300;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  small = db.pgsched({ maxPayloadBytes: LIMIT });
  await q.migrate();
});

/** Any JSON value, with strings and keys of any Unicode text jsonb stores. */
const json = (maxDepth: number) =>
  fc.jsonValue({
    maxDepth,
    stringUnit: fc.oneof(storableChar, fc.constantFrom('a', 'e\u0301', '👩‍👩‍👧', '"', '\\')),
  });

/** JSON has no negative zero: -0 reads back as 0, the one change an accepted payload undergoes. */
function zeroed<T>(value: T): T {
  if (Object.is(value, -0)) return 0 as T;
  if (Array.isArray(value)) return value.map(zeroed) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, zeroed(v)])) as T;
  }
  return value;
}

describe('payloads that JSON and jsonb hold read back equal', () => {
  test.prop([json(5)], { numRuns: RUNS })('enqueue → getJob', async (payload) => {
    const id = await q.enqueue('echo', payload);
    expect((await q.getJob(id))!.payload).toStrictEqual(zeroed(payload));
  });

  test.prop([fc.array(json(3), { minLength: 1, maxLength: 5 })], { numRuns: RUNS })(
    'enqueueMany → getJob, in order',
    async (payloads) => {
      const ids = await q.enqueueMany('echo', payloads);
      const jobs = await Promise.all(ids.map((id) => q.getJob(id)));
      expect(jobs.map((j) => j!.payload)).toStrictEqual(zeroed(payloads));
    },
  );

  test.prop([fc.dictionary(oddText(8), fc.option(fc.integer(), { nil: undefined }), { maxKeys: 5 })], {
    numRuns: RUNS,
  })('undefined properties are left out, as for optional fields', async (payload) => {
    const id = await q.enqueue('echo', payload);
    const stored = (await q.getJob(id))!.payload as Record<string, unknown>;
    expect(stored).toEqual(payload);
    expect(Object.keys(stored).sort()).toEqual(
      Object.keys(payload)
        .filter((k) => payload[k] !== undefined)
        .sort(),
    );
  });

  test.prop([json(3)], { numRuns: RUNS })('accepted iff it fits maxPayloadBytes', async (payload) => {
    const bytes = Buffer.byteLength(JSON.stringify(payload));
    if (bytes <= LIMIT) {
      const id = await small.enqueue('echo', payload);
      expect((await small.getJob(id))!.payload).toStrictEqual(zeroed(payload));
    } else {
      const error = await expectRejected(db.sql, () => small.enqueue('echo', payload), 'enqueue.payload');
      expect(error.message).toContain(`${bytes} bytes, more than maxPayloadBytes ${LIMIT}`);
    }
  });

  test.prop([fc.integer({ min: 1, max: 100_000 })], { numRuns: 8 })(
    'deep nesting is stored whole or refused by name',
    async (depth) => {
      let payload: unknown = 'leaf';
      for (let i = 0; i < depth; i++) payload = i % 2 ? [payload] : { d: payload };
      const before = await footprint(db.sql);
      try {
        const id = await q.enqueue('echo', payload);
        expect((await q.getJob(id))!.payload).toStrictEqual(payload);
      } catch {
        expect(await footprint(db.sql)).toBe(before);
        await expectRejected(db.sql, () => q.enqueue('echo', payload), 'enqueue.payload');
      }
    },
  );
});

type Build = () => unknown;

/** Values JSON or jsonb cannot hold as given: each a function, so every run gets fresh objects. */
const badLeaf: fc.Arbitrary<Build> = fc.oneof(
  fc.bigInt().map((n) => () => n),
  fc.constant(() => () => 1),
  fc.constant(() => Symbol('s')),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY).map((n) => () => n),
  fc.constant(() => new Map([[1, 2]])),
  fc.constant(() => new Set([1])),
  unstorableText.map((s) => () => s),
  unstorableText.map((s) => () => ({ [s]: 1 })),
  fc.constant(() => ({ [Symbol('k')]: 1, ok: true })),
  fc.nat(3).map((i) => () => Object.assign(new Array(4).fill(0), { [i]: undefined })),
  fc.constant(() => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    return cyclic;
  }),
);

/** A bad leaf wrapped in a few levels of good objects and arrays. */
const badPayload: fc.Arbitrary<Build> = fc
  .tuple(badLeaf, fc.array(fc.tuple(fc.boolean(), oddText(6), json(1)), { maxLength: 4 }))
  .map(([leaf, wrappers]) => () => {
    let value = leaf();
    for (const [asArray, key, sibling] of wrappers) {
      value = asArray ? [sibling, value] : { [`k${key}`]: value, sibling };
    }
    return value;
  });

describe('payloads JSON or jsonb cannot hold are refused by name', () => {
  test.prop([badPayload], { numRuns: RUNS })('enqueue', async (build) => {
    await expectRejected(db.sql, () => q.enqueue('echo', build()), 'enqueue.payload');
  });

  test.prop([badPayload, fc.array(json(2), { maxLength: 3 }), fc.nat()], { numRuns: RUNS })(
    'enqueueMany names the index',
    async (build, good, at) => {
      const i = at % (good.length + 1);
      const payloads = [...good.slice(0, i), build(), ...good.slice(i)];
      await expectRejected(db.sql, () => q.enqueueMany('echo', payloads), `enqueueMany.payloads[${i}]`);
    },
  );

  test.prop([badPayload], { numRuns: RUNS })('schedule', async (build) => {
    await expectRejected(
      db.sql,
      () => q.schedule('bad-payload', { job: 'echo', every: '1h', payload: build() }),
      'schedule.options.payload',
    );
  });

  test.prop(
    [
      fc.oneof(
        wrongType.filter((v) => !Array.isArray(v)),
        fc.string(),
      ),
    ],
    { numRuns: 10 },
  )('enqueueMany payloads that are not an array', async (payloads) => {
    await expectRejected(db.sql, () => q.enqueueMany('echo', payloads as never), 'enqueueMany.payloads', {
      is: payloads,
    });
  });
});

const MAX_ID = 2n ** 63n - 1n;

/** Everything that is not a positive bigint id in a representation that cannot be misread. */
const badId = fc.oneof(
  fc.string({ maxLength: 25 }).filter((s) => !/^[1-9]\d{0,18}$/.test(s)),
  fc.constantFrom(
    '01',
    '1.0',
    '1e3',
    ' 1',
    '1 ',
    '0x1',
    '-1',
    '+1',
    '１',
    '0',
    '9223372036854775808',
    '9999999999999999999',
  ),
  fc.bigInt({ min: MAX_ID + 1n, max: 2n ** 70n }),
  fc.bigInt({ min: MAX_ID + 1n, max: 2n ** 70n }).map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 0n }),
  fc.integer({ max: 0 }),
  fc.double().filter((n) => !Number.isSafeInteger(n) || n <= 0),
  fc.constant(undefined),
  wrongType.filter((v) => typeof v !== 'bigint'),
);

/** Valid ids far past any row of this file, as string, bigint and (when exact) number. */
const absentId = fc
  .bigInt({ min: 10n ** 12n, max: MAX_ID })
  .chain((n) =>
    fc.constantFrom<string | bigint | number>(
      String(n),
      n,
      ...(n <= BigInt(Number.MAX_SAFE_INTEGER) ? [Number(n)] : []),
    ),
  );

describe('job ids', () => {
  test.prop([badId], { numRuns: RUNS })('getJob, cancel and retry refuse a bad id by name', async (id) => {
    await expectRejected(db.sql, () => q.getJob(id as never), 'getJob.id', { is: id });
    await expectRejected(db.sql, () => q.cancel(id as never), 'cancel.id', { is: id });
    await expectRejected(db.sql, () => q.retry(id as never), 'retry.id', { is: id });
  });

  test.prop([absentId], { numRuns: RUNS })('a well-formed id of no job: null and false', async (id) => {
    const before = await footprint(db.sql);
    expect(await q.getJob(id)).toBeNull();
    expect(await q.cancel(id)).toBe(false);
    expect(await q.retry(id)).toBe(false);
    expect(await footprint(db.sql)).toBe(before);
  });
});
