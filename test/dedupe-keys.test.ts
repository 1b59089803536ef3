import { beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, type Pgsched, PgschedError } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

describe('dedupe keys belong to their job name (issue 11, bug 1)', () => {
  it('the same key under two job names makes two jobs; under one name, one', async () => {
    const resize = await q.enqueue('resize', { w: 1 }, { key: 'user:42' });
    const email = await q.enqueue('send-email', { to: 'a' }, { key: 'user:42' });
    expect(email).not.toBe(resize);
    expect(await q.enqueue('send-email', { to: 'b' }, { key: 'user:42' })).toBe(email);
    const rows = await db.sql`select name, payload from pgsched.jobs where key = 'user:42' order by id`;
    expect(rows).toEqual([
      { name: 'resize', payload: { w: 1 } },
      { name: 'send-email', payload: { to: 'a' } },
    ]);
  });

  it('the SQL enqueue() function follows the same rule', async () => {
    const [a] = await db.sql`select pgsched.enqueue('sql-a', '{}', key => 'k:1') as id`;
    const [b] = await db.sql`select pgsched.enqueue('sql-b', '{}', key => 'k:1') as id`;
    const [a2] = await db.sql`select pgsched.enqueue('sql-a', '{"again":true}', key => 'k:1') as id`;
    expect(b!.id).not.toBe(a!.id);
    expect(a2!.id).toBe(a!.id);
    expect((await q.getJob(a!.id))!.payload).toEqual({});
  });

  it('retry() conflicts only with an unfinished job of the same name and key', async () => {
    const failed = await q.enqueue('sync', {}, { key: 'doc:1' });
    await db.sql`update pgsched.jobs set state = 'failed', finished_at = now() where id = ${failed}`;
    await q.enqueue('other', {}, { key: 'doc:1' }); // another name's holder: no conflict
    expect(await q.retry(failed)).toBe(true);
    expect((await q.getJob(failed))!.state).toBe('pending');

    await db.sql`update pgsched.jobs set state = 'failed', finished_at = now() where id = ${failed}`;
    const holder = await q.enqueue('sync', { newer: true }, { key: 'doc:1' });
    expect(holder).not.toBe(failed);
    await expect(q.retry(failed)).rejects.toThrow(PgschedError);
    await expect(q.retry(failed)).rejects.toThrow(/holds the same key/);
    expect((await q.getJob(failed))!.state).toBe('failed');
  });

  it('migrates a database with keyed jobs forward: rows kept, the global key index replaced', async () => {
    const schema = 'keys_upgrade';
    // The schema as 0001–0004 left it (before this change), with keyed jobs in every state.
    await db.sql`create schema ${db.sql(schema)}`;
    for (const m of loadMigrations(schema).filter((m) => m.version <= 4)) {
      await db.sql.begin(async (tx) => {
        await tx.unsafe(m.sql);
        await tx`create table if not exists ${tx(schema)}.migrations (
          version integer primary key, name text not null, applied_at timestamptz not null default now())`;
        await tx`insert into ${tx(schema)}.migrations (version, name) values (${m.version}, ${m.name})`;
      });
    }
    const [{ id: pending }] = (await db.sql`
      insert into ${db.sql(schema)}.jobs (name, key, serial_key) values ('a', 'k', 'tenant:1') returning id`) as unknown as [
      { id: string },
    ];
    await db.sql`insert into ${db.sql(schema)}.jobs (name, key, state) values ('a', 'k', 'completed')`;
    const old = db.pgsched({ schema });
    await old.migrate();
    const indexes = await db.sql<{ indexname: string }[]>`
      select indexname from pg_indexes where schemaname = ${schema} and indexname like 'jobs_%key_idx'`;
    expect(indexes.map((i) => i.indexname).sort()).toEqual(['jobs_name_key_idx']);
    expect(await old.enqueue('a', {}, { key: 'k' })).toBe(pending);
    expect(await old.enqueue('b', {}, { key: 'k' })).not.toBe(pending);
    // The serial key became the job's group, limited to one running job.
    const [row] = await db.sql`select group_key, group_max from ${db.sql(schema)}.jobs where id = ${pending}`;
    expect(row).toEqual({ group_key: 'tenant:1', group_max: 1 });
  });
});
