import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { migrate, Pgsched } from '../src/index.js';
import { runCli } from './support/cli.js';
import { type TestDb, testLogger, useTestDb } from './support/db.js';
import {
  expectRejected,
  oddText,
  RUNS,
  settle,
  unknownKeyName,
  unstorableText,
  wrongType,
} from './support/fuzz.js';

/*
 * Property tests of names (schema, job) and of the `pgsched migrate` command line. A bad schema name
 * creates no schema; a good one migrates and works. The CLI is spawned for a handful of generated
 * command lines at once, since each process takes a second or more to start.
 */

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

async function schemaCount(): Promise<number> {
  const [row] = await db.sql`select count(*)::int as n from pg_namespace`;
  return row!.n;
}

const badSchema = fc.oneof(
  fc.string({ maxLength: 70 }).filter((s) => !SCHEMA_RE.test(s) || s.startsWith('pg_')),
  fc.constantFrom(
    'Upper',
    'drop table x;',
    '1abc',
    'a'.repeat(64),
    'with space',
    'x"y',
    'pg_catalog',
    'pg_jobs',
    'pg_',
  ),
  unstorableText,
  wrongType.filter((v) => v !== null),
);

/** Valid identifiers; the reserved pg_ prefix and names in use by the test database are left out. */
const goodSchema = fc
  .stringMatching(SCHEMA_RE)
  .filter((s) => !s.startsWith('pg_') && !['public', 'pgsched', 'information_schema'].includes(s));

describe('schema names', () => {
  test.prop([badSchema], { numRuns: RUNS })(
    'a bad schema name is refused and creates nothing',
    async (schema) => {
      const before = await schemaCount();
      await expectRejected(
        db.sql,
        () => new Pgsched({ sql: db.sql, logger: testLogger, schema: schema as never }),
        'Pgsched.options.schema',
        {
          is: schema,
        },
      );
      await expectRejected(db.sql, () => migrate(db.sql, schema as never), 'schema', { is: schema });
      expect(await schemaCount()).toBe(before);
    },
  );

  test.prop([goodSchema, fc.jsonValue({ maxDepth: 2 })], { numRuns: 4 })(
    'a good schema name migrates, and jobs round-trip in it',
    async (schema, payload) => {
      const p = new Pgsched({ sql: db.sql, logger: testLogger, schema });
      try {
        await p.migrate();
        const id = await p.enqueue('in-schema', payload);
        expect((await p.getJob(id))!.payload).toEqual(payload);
      } finally {
        await db.sql`drop schema if exists ${db.sql(schema)} cascade`;
      }
    },
  );
});

const badMigrateOptions = fc.oneof(
  fc
    .oneof(fc.string(), fc.integer(), fc.constant(null))
    .map((v) => ({ options: { dryRun: v }, field: 'dryRun', value: v })),
  fc.tuple(unknownKeyName, fc.integer()).map(([k, v]) => ({ options: { [k]: v }, field: k, value: v })),
  fc
    .oneof(fc.string(), fc.integer(), fc.array(fc.integer()))
    .map((v) => ({ options: v, field: '', value: v })),
);

describe('migrate options', () => {
  test.prop([badMigrateOptions], { numRuns: 20 })(
    'migrate() and pgsched.migrate() refuse bad options by name',
    async (bad) => {
      const before = await schemaCount();
      const field = bad.field ? `migrate.options.${bad.field}` : 'migrate.options';
      await expectRejected(db.sql, () => migrate(db.sql, 'never_made', bad.options as never), field, {
        is: bad.value,
      });
      await expectRejected(
        db.sql,
        () => new Pgsched({ sql: db.sql, schema: 'never_made' }).migrate(bad.options as never),
        field,
        {
          is: bad.value,
        },
      );
      expect(await schemaCount()).toBe(before);
    },
  );

  test.prop([fc.oneof(fc.string(), fc.integer(), fc.object(), fc.constant(null), fc.func(fc.anything()))], {
    numRuns: 10,
  })('migrate() refuses something other than a client', async (sql) => {
    await expectRejected(db.sql, () => migrate(sql as never, 'never_made'), 'migrate.sql', { is: sql });
  });
});

const badJobName = fc.oneof(
  fc.constant(''),
  fc.string({ minLength: 201, maxLength: 210 }),
  unstorableText,
  wrongType,
);

describe('job names', () => {
  test.prop([badJobName], { numRuns: RUNS })(
    'define, enqueue and enqueueMany refuse a bad name',
    async (name) => {
      await expectRejected(db.sql, () => db.pgsched().define(name as never, async () => {}), 'define.name', {
        is: name,
      });
      await expectRejected(db.sql, () => q.enqueue(name as never, {}), 'enqueue.name', { is: name });
      await expectRejected(db.sql, () => q.enqueueMany(name as never, [{}]), 'enqueueMany.name', {
        is: name,
      });
    },
  );

  test.prop([oddText(200).filter((s) => s.length > 0 && s.length <= 200)], { numRuns: RUNS })(
    'any storable name of 1–200 characters round-trips',
    async (name) => {
      const id = await q.enqueue(name, null);
      expect((await q.getJob(id))!.name).toBe(name);
    },
  );

  test.prop([fc.oneof(fc.string(), fc.integer(), fc.constant(null))], { numRuns: 10 })(
    'define refuses a handler that is not a function',
    async (handler) => {
      await expectRejected(db.sql, () => db.pgsched().define('h', handler as never), 'define.handler', {
        is: handler,
      });
    },
  );
});

/** argv text: what a shell can pass (no NUL). */
const arg = fc.string({ maxLength: 12 }).filter((s) => !s.includes('\u0000'));

type CliCase = { argv: string[]; code: number; says: string; schema?: string };

const cliCase: fc.Arbitrary<CliCase> = fc.oneof(
  badSchema
    .filter(
      (s): s is string =>
        typeof s === 'string' && !s.includes('\u0000') && !s.startsWith('-') && s.isWellFormed(),
    )
    .map((s) => ({
      argv: ['migrate', '--schema', s],
      code: 2,
      says: `Invalid --schema: ${JSON.stringify(s)}`,
    })),
  arg
    .filter((s) => /^[a-z][a-z-]*$/.test(s) && !['database-url', 'schema', 'dry-run', 'help'].includes(s))
    .map((s) => ({ argv: ['migrate', `--${s}`], code: 2, says: `'--${s}'` })),
  arg
    .filter((s) => s !== 'migrate' && !s.startsWith('-') && s.length > 0)
    .map((s) => ({ argv: [s], code: 2, says: `unknown command: ${s}` })),
  arg
    .filter((s) => s !== '' && !/^postgres(ql)?:\/\//.test(s) && !s.startsWith('-') && s.isWellFormed())
    .map((s) => ({ argv: ['migrate', '--database-url', s], code: 1, says: 'invalid database URL' })),
  fc
    .constantFrom('--schema', '--database-url')
    .map((flag) => ({ argv: ['migrate', flag], code: 2, says: flag })),
  goodSchema.map((s) => ({ argv: ['migrate', '--schema', s], code: 0, says: `schema "${s}"`, schema: s })),
  goodSchema.map((s) => ({ argv: ['migrate', '--schema', s, '--dry-run'], code: 0, says: '' })),
);

describe('pgsched migrate', () => {
  test.prop([fc.uniqueArray(cliCase, { minLength: 6, maxLength: 6, selector: (c) => c.argv.join(' ') })], {
    numRuns: 1,
  })(
    'exit 2 for bad usage, 1 for a bad URL, 0 for good input; no stack traces; bad input creates nothing',
    async (cases) => {
      const before = await schemaCount();
      const created = cases.filter((c) => c.schema !== undefined).length;
      const results = await Promise.all(
        cases.map((c) => settle(() => runCli(c.argv, { DATABASE_URL: db.url }), 30_000)),
      );
      try {
        for (const [i, c] of cases.entries()) {
          const r = results[i]!.value as { code: number; stdout: string; stderr: string };
          const out = `${c.argv.join(' ')} → ${r.code}\n${r.stdout}${r.stderr}`;
          expect(r.code, out).toBe(c.code);
          expect(r.code === 0 ? r.stdout : r.stderr, out).toContain(c.says);
          expect(r.stderr, out).not.toMatch(/\n\s+at /);
        }
        expect(await schemaCount()).toBe(before + created);
      } finally {
        for (const c of cases) if (c.schema) await db.sql`drop schema if exists ${db.sql(c.schema)} cascade`;
      }
    },
  );
});
