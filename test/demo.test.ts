import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ProcessResult, runProcess } from './support/cli.js';
import { type TestDb, useTestDb } from './support/db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
});

/** `npm run demo -- --once`, exactly as a newcomer types it. */
function npmRunDemoOnce(env: Record<string, string>): Promise<ProcessResult> {
  return runProcess('npm', ['run', '--silent', 'demo', '--', '--once'], env, ROOT);
}

describe('npm run demo -- --once', () => {
  it('plays the fixed scenario through the dev stack and exits 0', async () => {
    const r = await npmRunDemoOnce({ DATABASE_URL: db.url, PGSCHED_LOG_LEVEL: 'warn' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dashboard: +http:\/\/127\.0\.0\.1:\d+\//);
    expect(r.stdout).toMatch(/demo: charge-card +completed +1 job\(s\), 2 attempt\(s\)/);
    expect(r.stdout).toMatch(/demo: sync-crm +failed +1 job\(s\), 2 attempt\(s\)/);

    const rows = await db.sql`
      select name, state::text, count(*)::int as n from pgsched.jobs
      where name <> 'heartbeat' group by 1, 2 order by 1, 2`;
    expect(rows).toEqual([
      { name: 'charge-card', state: 'completed', n: 1 },
      { name: 'generate-report', state: 'completed', n: 1 },
      { name: 'resize-image', state: 'completed', n: 5 },
      { name: 'sync-crm', state: 'failed', n: 1 },
    ]);
    const [beat] = await db.sql`
      select count(*)::int as n from pgsched.jobs where name = 'heartbeat' and state = 'completed'`;
    expect(beat!.n).toBeGreaterThanOrEqual(1);
    const q = db.pgsched();
    const [charge] = await db.sql`select id::text from pgsched.jobs where name = 'charge-card'`;
    const job = await q.getJob(charge!.id);
    expect(job!.attempts.map((a) => a.outcome)).toEqual(['failed', 'completed']);
    expect(job!.errors[0]!.message).toContain('card network timeout');
  });
});
