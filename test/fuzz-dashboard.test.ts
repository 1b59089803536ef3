import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { createDashboard, type Dashboard } from '../src/dashboard/index.js';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';
import { footprint, RUNS, settle } from './support/fuzz.js';

/*
 * Property tests of the dashboard's JSON API as an HTTP client reaches it: random paths, query
 * strings and bodies (malformed JSON included). Bad input is a 4xx JSON error, never a 500, never a
 * hang; a 4xx changes nothing.
 */

let db: TestDb;
let q: Pgsched;
let dashboard: Dashboard;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
  await q.enqueue('seen', { n: 1 });
  dashboard = createDashboard({ pgsched: q });
});

/** Path segments as a client might send them, percent-encoded (NUL and lone surrogates included). */
const segment = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '1',
    '0',
    '-1',
    '99999999999999999999',
    '9223372036854775808',
    '%',
    '..',
    'retry',
    'cancel',
    '\u0000',
    '\uD800',
    ' ',
  ),
);
const encoded = (s: string) => encodeURIComponent(s.toWellFormed());

const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        name: fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
        payload: fc.jsonValue({ maxDepth: 2 }),
        options: fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })),
        ),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '',
    '{',
    'null',
    '[]',
    '{"name":"a","payload":"\\u0000"}',
    '{"__proto__":{"x":1}}',
    '{"options":{"delay":"60d"}}',
  ),
  fc.string({ maxLength: 20 }),
);

const query = fc
  .dictionary(
    fc.constantFrom(
      'state',
      'queue',
      'name',
      'group',
      'key',
      'since',
      'limit',
      'after',
      'order',
      'n',
      'bogus',
    ),
    fc.oneof(
      fc.string({ maxLength: 10 }),
      fc.constantFrom('pending,failed', '0', '1001', '-1', '2026-01-01T00:00:00Z'),
    ),
    { maxKeys: 3 },
  )
  .map((d) =>
    new URLSearchParams(
      Object.entries(d).map(([k, v]) => [k, v.toWellFormed()] as [string, string]),
    ).toString(),
  );

const request = fc.oneof(
  fc.tuple(fc.constantFrom('jobs', 'schedules', 'queues', 'workers', 'stats'), query).map(([r, qs]) => ({
    method: 'GET',
    path: `/api/${r}?${qs}`,
  })),
  fc
    .tuple(fc.constantFrom('jobs', 'schedules', 'queues'), segment)
    .map(([r, s]) => ({ method: 'GET', path: `/api/${r}/${encoded(s)}` })),
  fc
    .tuple(fc.constantFrom('jobs', 'schedules'), segment)
    .map(([r, s]) => ({ method: 'DELETE', path: `/api/${r}/${encoded(s)}` })),
  fc
    .tuple(
      fc.constantFrom('jobs', 'schedules', 'queues'),
      segment,
      fc.constantFrom('retry', 'cancel', 'pause', 'resume'),
      jsonBody,
    )
    .map(([r, s, a, body]) => ({ method: 'POST', path: `/api/${r}/${encoded(s)}/${a}`, body })),
  fc
    .tuple(fc.constantFrom('/api/jobs', '/api/jobs/retry', '/api/jobs/cancel'), jsonBody)
    .map(([path, body]) => ({ method: 'POST', path, body })),
  fc
    .tuple(fc.constantFrom('schedules', 'queues'), segment, jsonBody)
    .map(([r, s, body]) => ({ method: 'PUT', path: `/api/${r}/${encoded(s)}`, body })),
);

describe('dashboard API', () => {
  test.prop([request], { numRuns: RUNS * 2 })(
    'bad requests are 4xx JSON errors, and change nothing',
    async (r) => {
      const before = await footprint(db.sql);
      const init: RequestInit = { method: r.method };
      if ('body' in r) {
        init.body = r.body;
        init.headers = { 'content-type': 'application/json' };
      }
      const { value, error } = await settle(() =>
        dashboard.fetch(new Request(`http://localhost${r.path}`, init)),
      );
      expect(error).toBeUndefined();
      const res = value as Response;
      const text = await res.text();
      expect(res.status, `${r.method} ${r.path} → ${res.status} ${text}`).toBeLessThan(500);
      expect(() => JSON.parse(text), text).not.toThrow();
      if (res.status >= 400) {
        expect(JSON.parse(text).error.code).toBeTypeOf('string');
        expect(await footprint(db.sql)).toBe(before);
      }
    },
  );
});
