import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTsx } from './support/cli.js';
import { type TestDb, useTestDb } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
});

const runExample = (file: string, env: Record<string, string>) =>
  runTsx(fileURLToPath(new URL(`../examples/${file}`, import.meta.url)), [], env);

describe('examples', () => {
  it('quickstart runs to completion against the database', async () => {
    const r = await runExample('quickstart.ts', { DATABASE_URL: db.url, PGSCHED_LOG_LEVEL: 'warn' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/quickstart: 3 jobs completed; welcome job \d+ result \{"sent":true\}/);
    const rows = await db.sql`select state::text, count(*)::int as n from pgsched.jobs group by 1`;
    expect(rows).toEqual([{ state: 'completed', n: 3 }]);
  });
});
