import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
  await db.sql`create table users (id serial primary key, email text)`;
});

describe('enqueue', () => {
  it('commits the job with the caller transaction', async () => {
    const id = await db.sql.begin(async (tx) => {
      await tx`insert into users (email) values ('a@b.c')`;
      return q.enqueue('welcome', { to: 'a@b.c' }, { tx });
    });
    const job = await q.getJob(id);
    expect(job).toMatchObject({ name: 'welcome', state: 'pending', payload: { to: 'a@b.c' }, attempt: 0 });
  });

  it('rolls the job back with the caller transaction', async () => {
    let id = '';
    await expect(
      db.sql.begin(async (tx) => {
        id = await q.enqueue('welcome', { to: 'rollback@b.c' }, { tx });
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    expect(id).toMatch(/^\d+$/);
    expect(await q.getJob(id)).toBeNull();
    const [row] =
      await db.sql`select count(*)::int as n from pgsched.jobs where payload->>'to' = 'rollback@b.c'`;
    expect(row!.n).toBe(0);
  });

  it('sends the wake-up NOTIFY only when the transaction commits', async () => {
    const heard: string[] = [];
    const listener = postgres(db.url, { max: 1, onnotice: () => {} });
    await listener.listen('pgsched.jobs', (payload) => heard.push(payload));
    await db.sql
      .begin(async (tx) => {
        await q.enqueue('notify-test', { n: 1 }, { tx });
        throw new Error('rollback');
      })
      .catch(() => {});
    await new Promise((r) => setTimeout(r, 200));
    expect(heard).toHaveLength(0);
    await q.enqueue('notify-test', { n: 2 });
    await expect.poll(() => heard.length, { timeout: 5_000 }).toBe(1);
    await listener.end();
  });

  it('stores options: queue, priority, delay on the database clock, attempts, delivery', async () => {
    const id = await q.enqueue(
      'opts',
      { x: 1 },
      { queue: 'emails', priority: -5, delay: '1h', maxAttempts: 3, timeout: '2s', delivery: 'at-most-once' },
    );
    const [row] = await db.sql`
      select queue, priority, max_attempts, timeout_ms, at_most_once,
             extract(epoch from run_at - now())::int as delay_s from pgsched.jobs where id = ${id}`;
    expect(row).toMatchObject({
      queue: 'emails',
      priority: -5,
      max_attempts: 3,
      timeout_ms: 2000,
      at_most_once: true,
    });
    expect(row!.delay_s).toBeGreaterThan(3590);
    expect(row!.delay_s).toBeLessThanOrEqual(3600);
  });

  it('enqueues 50,000 jobs in one call and returns their ids in order', async () => {
    const payloads = Array.from({ length: 50_000 }, (_, i) => ({ i }));
    const ids = await q.enqueueMany('bulk', payloads, { queue: 'bulk' });
    expect(ids).toHaveLength(50_000);
    expect(new Set(ids).size).toBe(50_000);
    const rows =
      await db.sql`select id, (payload->>'i')::int as i from pgsched.jobs where name = 'bulk' order by id`;
    expect(rows).toHaveLength(50_000);
    expect(rows.map((r) => r.i)).toEqual(payloads.map((p) => p.i));
    expect(rows.map((r) => String(r.id))).toEqual(ids);
  });

  it('enqueueMany takes part in the caller transaction', async () => {
    await db.sql
      .begin(async (tx) => {
        await q.enqueueMany('bulk-tx', [{ a: 1 }, { a: 2 }], { tx });
        throw new Error('rollback');
      })
      .catch(() => {});
    const [row] = await db.sql`select count(*)::int as n from pgsched.jobs where name = 'bulk-tx'`;
    expect(row!.n).toBe(0);
  });

  it('dedupes by key among unfinished jobs under 20 concurrent enqueuers', async () => {
    const clients = Array.from({ length: 20 }, () => postgres(db.url, { max: 1, onnotice: () => {} }));
    const ids = await Promise.all(
      clients.map((sql, i) => sql.begin((tx) => q.enqueue('dedupe', { from: i }, { tx, key: 'welcome:42' }))),
    );
    await Promise.all(clients.map((c) => c.end()));
    expect(new Set(ids).size).toBe(1);
    const [row] = await db.sql`select count(*)::int as n from pgsched.jobs where key = 'welcome:42'`;
    expect(row!.n).toBe(1);
    // Once the job is finished, the key is free again.
    await db.sql`update pgsched.jobs set state = 'completed', finished_at = now() where key = 'welcome:42'`;
    const next = await q.enqueue('dedupe', { from: 'later' }, { key: 'welcome:42' });
    expect(next).not.toBe(ids[0]);
  });

  it('enqueues from SQL with the enqueue() function, deduping by key', async () => {
    const [a] =
      await db.sql`select pgsched.enqueue('from-sql', '{"to":"x@y.z"}'::jsonb, key => 'sql-key') as id`;
    const [b] =
      await db.sql`select pgsched.enqueue('from-sql', '{"to":"other"}'::jsonb, key => 'sql-key') as id`;
    expect(String(a!.id)).toBe(String(b!.id));
    const job = await q.getJob(String(a!.id));
    expect(job).toMatchObject({
      name: 'from-sql',
      state: 'pending',
      payload: { to: 'x@y.z' },
      queue: 'default',
    });
  });

  it('the table itself refuses a bad queue name from SQL, and accepts the longest good one', async () => {
    const good = `${'a'.repeat(96)}.b:-`;
    const [row] = await db.sql`select pgsched.enqueue('q-check', null, queue => ${good}) as id`;
    expect((await q.getJob(String(row!.id)))?.queue).toBe(good);
    for (const bad of ['', 'has space', 'a'.repeat(101), 'tab\there', 'line\n']) {
      await expect(db.sql`select pgsched.enqueue('q-check', null, queue => ${bad})`).rejects.toMatchObject({
        code: '23514',
        constraint_name: 'jobs_queue_check',
      });
    }
    const [{ n }] = (await db.sql`select count(*)::int as n from pgsched.jobs where name = 'q-check'`) as [
      { n: number },
    ];
    expect(n).toBe(1);
  });

  it('enqueues without a local definition (producer-only process)', async () => {
    const producer = db.pgsched();
    const id = await producer.enqueue('defined-elsewhere', { ok: true });
    expect((await producer.getJob(id))?.state).toBe('pending');
  });
});
