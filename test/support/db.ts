import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, inject } from 'vitest';
import { Pgsched, type PgschedOptions } from '../../src/index.js';

/** Silent unless PGSCHED_TEST_LOG is set: tests assert on rows, not on log lines. */
export const testLogger = pino({ level: process.env.PGSCHED_TEST_LOG ?? 'silent' });

/** A fresh database for this test file, so files run in parallel without seeing each other's rows. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject('adminUrl');
  const name = `pgsched_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export interface TestDb {
  url: string;
  sql: postgres.Sql;
  /** A migrated pgsched instance factory; every instance is stopped after the file. */
  pgsched(options?: Partial<PgschedOptions>): Pgsched;
}

/** Creates the file's database, a client, and cleans both up after the file. */
export async function useTestDb(): Promise<TestDb> {
  const db = await createTestDatabase();
  const sql = postgres(db.url, { max: 10, onnotice: () => {} });
  const instances: Pgsched[] = [];
  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop({ timeout: 1_000 }).catch(() => {})));
    await sql.end({ timeout: 5 });
    await db.drop();
  });
  return {
    url: db.url,
    sql,
    pgsched(options = {}) {
      const instance = new Pgsched({ sql, logger: testLogger, ...options });
      instances.push(instance);
      return instance;
    },
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`waitFor: condition not met within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Count of jobs by state in the default schema. */
export async function countByState(sql: postgres.Sql, schema = 'pgsched'): Promise<Record<string, number>> {
  const rows = await sql<{ state: string; n: number }[]>`
    select state::text, count(*)::int as n from ${sql(schema)}.jobs group by state`;
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}
