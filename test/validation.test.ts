import { beforeAll, describe, expect, it } from 'vitest';
import { Pgsched, PgschedValidationError } from '../src/index.js';
import { type TestDb, testLogger, useTestDb } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched({ maxPayloadBytes: 1_000 });
  await q.migrate();
});

async function jobCount(): Promise<number> {
  const [row] = await db.sql`select count(*)::int as n from pgsched.jobs`;
  return row!.n;
}

/** Asserts a PgschedValidationError naming the field and showing the value, and that nothing was written. */
async function rejects(call: () => Promise<unknown> | unknown, field: string, shown: string) {
  const before = await jobCount();
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${field} to be rejected`).toBeInstanceOf(PgschedValidationError);
  const e = error as PgschedValidationError;
  expect(e.field).toBe(field);
  expect(e.message).toContain(field);
  expect(e.message).toContain(shown);
  expect(await jobCount()).toBe(before);
}

describe('bad input is rejected with the field and the value, and nothing is written', () => {
  it('unknown option keys', async () => {
    await rejects(() => q.enqueue('x', {}, { prority: 1 } as never), 'enqueue.options.prority', '1');
    await rejects(
      () => q.enqueueMany('x', [{}], { retries: 3 } as never),
      'enqueueMany.options.retries',
      '3',
    );
    await rejects(
      () => q.define('x', async () => {}, { timeOut: '1s' } as never),
      'define.options.timeOut',
      '"1s"',
    );
    await rejects(
      () => q.enqueue('x', {}, { backoff: { type: 'fixed', base: 1, cap: 2 } } as never),
      'enqueue.options.backoff.cap',
      '2',
    );
    await rejects(
      () => new Pgsched({ sql: db.sql, logger: testLogger, shema: 'x' } as never),
      'Pgsched.options.shema',
      '"x"',
    );
    await rejects(() => db.pgsched().start({ concurency: 5 } as never), 'start.options.concurency', '5');
  });

  it('negative, NaN, non-numeric and malformed durations', async () => {
    await rejects(() => q.enqueue('x', {}, { delay: -5 }), 'enqueue.options.delay', '-5');
    await rejects(() => q.enqueue('x', {}, { delay: '10 parsecs' }), 'enqueue.options.delay', '"10 parsecs"');
    await rejects(() => q.enqueue('x', {}, { timeout: Number.NaN }), 'enqueue.options.timeout', 'null');
    await rejects(() => q.enqueue('x', {}, { timeout: '0s' }), 'enqueue.options.timeout', '"0s"');
    await rejects(
      () => q.enqueue('x', {}, { visibilityTimeout: 'soon' }),
      'enqueue.options.visibilityTimeout',
      '"soon"',
    );
    await rejects(() => q.enqueue('x', {}, { timeout: true } as never), 'enqueue.options.timeout', 'true');
    await rejects(
      () => q.enqueue('x', {}, { backoff: { type: 'fixed', base: '-1s' } }),
      'enqueue.options.backoff.base',
      '"-1s"',
    );
    await rejects(
      () => db.pgsched().start({ pollInterval: '5 minutes' }),
      'start.options.pollInterval',
      '"5 minutes"',
    );
  });

  it('bad priorities and attempts', async () => {
    await rejects(() => q.enqueue('x', {}, { priority: 1.5 }), 'enqueue.options.priority', '1.5');
    await rejects(() => q.enqueue('x', {}, { priority: '3' } as never), 'enqueue.options.priority', '"3"');
    await rejects(
      () => q.enqueue('x', {}, { priority: Number.POSITIVE_INFINITY }),
      'enqueue.options.priority',
      'null',
    );
    await rejects(() => q.enqueue('x', {}, { maxAttempts: 0 }), 'enqueue.options.maxAttempts', '0');
    await rejects(
      () => q.define('y', async () => {}, { maxAttempts: -1 }),
      'define.options.maxAttempts',
      '-1',
    );
    await rejects(
      () => q.enqueue('x', {}, { delivery: 'exactly-once' } as never),
      'enqueue.options.delivery',
      '"exactly-once"',
    );
  });

  it('invalid schema and queue names', async () => {
    await rejects(
      () => new Pgsched({ sql: db.sql, schema: 'drop table x;' }),
      'Pgsched.options.schema',
      '"drop table x;"',
    );
    await rejects(() => new Pgsched({ sql: db.sql, schema: 'Upper' }), 'Pgsched.options.schema', '"Upper"');
    await rejects(() => q.enqueue('x', {}, { queue: 'has space' }), 'enqueue.options.queue', '"has space"');
    await rejects(() => q.enqueue('x', {}, { queue: '' }), 'enqueue.options.queue', '""');
    await rejects(
      () => db.pgsched().start({ queues: ['ok', 'not ok'] }),
      'start.options.queues[1]',
      '"not ok"',
    );
    await rejects(() => q.enqueue('', {}), 'enqueue.name', '""');
  });

  it('payloads that are not JSON-serialisable or too large', async () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    await rejects(() => q.enqueue('x', { n: 10n }), 'enqueue.payload', '10n');
    await rejects(() => q.enqueue('x', cyclic), 'enqueue.payload', 'circular');
    await rejects(() => q.enqueue('x', { fn: () => 1 }), 'enqueue.payload', 'function at key "fn"');
    await rejects(() => q.enqueue('x', { n: Number.NaN }), 'enqueue.payload', 'NaN at key "n"');
    await rejects(
      () => q.enqueue('x', { big: 'x'.repeat(2_000) }),
      'enqueue.payload',
      'more than maxPayloadBytes 1000',
    );
    await rejects(() => q.enqueueMany('x', [{ ok: 1 }, { bad: 1n }]), 'enqueueMany.payloads[1]', '1n');
    await rejects(() => q.enqueueMany('x', 'nope' as never), 'enqueueMany.payloads', '"nope"');
  });

  it('runAt that is not a valid date, or given with delay', async () => {
    await rejects(
      () => q.enqueue('x', {}, { runAt: 'tomorrow-ish' }),
      'enqueue.options.runAt',
      '"tomorrow-ish"',
    );
    await rejects(
      () => q.enqueue('x', {}, { runAt: new Date(Number.NaN) }),
      'enqueue.options.runAt',
      'Invalid Date',
    );
    await rejects(() => q.enqueue('x', {}, { runAt: new Date(), delay: 5 }), 'enqueue.options.delay', '5');
    await rejects(() => q.enqueueMany('x', [{}], { key: 'k' } as never), 'enqueueMany.options.key', '"k"');
  });

  it('defining the same name twice, and starting twice', async () => {
    const p = db.pgsched();
    p.define('dup', async () => {});
    await rejects(() => p.define('dup', async () => {}), 'define.name', '"dup"');
    await rejects(() => p.define('fn', 'not a function' as never), 'define.handler', '"not a function"');
    await p.start({ pollInterval: 1_000 });
    await rejects(() => p.start(), 'start', 'already started');
    await p.stop();
  });
});
