import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, Pgsched, PgschedSchemaTooNewError } from '../src/index.js';
import { runCli } from './support/cli.js';
import { type TestDb, testLogger, useTestDb } from './support/db.js';

let db: TestDb;
const latest = loadMigrations('pgsched').at(-1)!.version;

beforeAll(async () => {
  db = await useTestDb();
});

describe('migrations', () => {
  it('10 processes migrating the same database at once all succeed, and apply it once', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => runCli(['migrate', '--schema', 'race'], { DATABASE_URL: db.url })),
    );
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0 });
    // each version was applied by exactly one of the ten
    const applied = results.flatMap(
      (r) => /^applied ([\d, ]+);/.exec(r.stdout)?.[1]?.split(', ').map(Number) ?? [],
    );
    expect(applied.sort()).toEqual(loadMigrations('race').map((m) => m.version));
    const rows = await db.sql`select version from race.migrations order by version`;
    expect(rows.map((r) => r.version)).toEqual(loadMigrations('race').map((m) => m.version));
    const [t] =
      await db.sql`select count(*)::int as n from information_schema.tables where table_schema = 'race'`;
    expect(t!.n).toBeGreaterThanOrEqual(2);
  });

  it('is idempotent from code, and reports what it applied', async () => {
    const q = new Pgsched({ sql: db.sql, schema: 'fromcode', logger: testLogger });
    const first = await q.migrate();
    expect(first.applied).toEqual(loadMigrations('fromcode').map((m) => m.version));
    const second = await q.migrate();
    expect(second).toMatchObject({ applied: [], pending: [], currentVersion: latest });
  });

  it("prints nothing through a default client's notice handler, first run or later", async () => {
    const notices: string[] = [];
    const sql = postgres(db.url, { max: 1, onnotice: (n) => notices.push(String(n.message)) });
    const q = new Pgsched({ sql, schema: 'quiet_notices', logger: testLogger });
    expect((await q.migrate()).applied.length).toBeGreaterThan(3);
    expect((await q.migrate()).applied).toEqual([]);
    expect(notices).toEqual([]);
    await sql.end();
  });

  it('dry run prints the SQL and changes nothing', async () => {
    const r = await runCli(['migrate', '--schema', 'dry', '--dry-run'], { DATABASE_URL: db.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('-- 0001_init.sql');
    expect(r.stdout).toContain('create table "dry".jobs');
    const [row] =
      await db.sql`select count(*)::int as n from information_schema.schemata where schema_name = 'dry'`;
    expect(row!.n).toBe(0);
  });

  it('refuses a database whose schema is newer than the package', async () => {
    const q = new Pgsched({ sql: db.sql, schema: 'future', logger: testLogger });
    await q.migrate();
    await db.sql`insert into future.migrations (version, name) values (${latest + 1}, 'from_the_future')`;
    await expect(q.migrate()).rejects.toBeInstanceOf(PgschedSchemaTooNewError);
    await expect(q.migrate()).rejects.toThrow(`at migration ${latest + 1}`);
    const r = await runCli(['migrate', '--schema', 'future'], { DATABASE_URL: db.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('upgrade pgsched');
  });
});

describe('the pgsched CLI', () => {
  it('--help prints usage and exits 0', async () => {
    const r = await runCli(['migrate', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: pgsched migrate');
    expect(r.stdout).toContain('--dry-run');
    const root = await runCli(['--help']);
    expect(root.code).toBe(0);
    expect(root.stdout).toMatch(/^\s+migrate /m);
  });

  it('--database-url wins over DATABASE_URL', async () => {
    const r = await runCli(['migrate', '--database-url', db.url, '--schema', 'flag'], {
      DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^applied/);
  });

  it('a bad DATABASE_URL: one clear line, non-zero exit, no stack trace', async () => {
    const refused = await runCli(['migrate'], { DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/db' });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      'pgsched: could not connect to the database at 127.0.0.1:1 (connection refused)',
    );
    const garbage = await runCli(['migrate', '--database-url', 'not a url']);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain('invalid database URL "not a url"');
    for (const r of [refused, garbage]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('bad usage exits 2 and names the problem', async () => {
    const unknown = await runCli(['migrate', '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("'--frobnicate'");
    const noUrl = await runCli(['migrate']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('DATABASE_URL');
    const badSchema = await runCli(['migrate', '--schema', 'x; drop table y'], { DATABASE_URL: db.url });
    expect(badSchema.code).toBe(2);
    expect(badSchema.stderr).toContain('Invalid --schema: "x; drop table y"');
    const badCommand = await runCli(['launch']);
    expect(badCommand.code).toBe(2);
    expect(badCommand.stderr).toContain('unknown command: launch');
  });
});
