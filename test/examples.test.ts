import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, useTestDb } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
});

function runExample(file: string, env: Record<string, string>) {
  const path = fileURLToPath(new URL(`../examples/${file}`, import.meta.url));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples', () => {
  it('quickstart runs to completion against the database', async () => {
    const r = await runExample('quickstart.ts', { DATABASE_URL: db.url, PGSCHED_LOG_LEVEL: 'warn' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/quickstart: 3 jobs completed; welcome job \d+ result \{"sent":true\}/);
    const rows = await db.sql`select state::text, count(*)::int as n from pgsched.jobs group by 1`;
    expect(rows).toEqual([{ state: 'completed', n: 3 }]);
  });
});
