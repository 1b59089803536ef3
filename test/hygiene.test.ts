import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHygiene } from '../src/maintenance/hygiene.js';
import { type TestDb, testLogger, useTestDb, waitFor } from './support/db.js';

let db: TestDb;

beforeAll(async () => {
  db = await useTestDb();
  await db.pgsched().migrate();
});

interface IndexSize {
  name: string;
  bytes: number;
  oid: number;
  valid: boolean;
}

async function indexes(): Promise<Record<string, IndexSize>> {
  const rows = await db.sql<{ name: string; bytes: string; oid: number; valid: boolean }[]>`
    select c.relname as name, pg_relation_size(c.oid) as bytes, c.oid::int8::float8 as oid, i.indisvalid as valid
    from pg_index i join pg_class c on c.oid = i.indexrelid
    where i.indrelid = 'pgsched.jobs'::regclass`;
  return Object.fromEntries(rows.map((r) => [r.name, { ...r, bytes: Number(r.bytes) }]));
}

async function tableBytes(): Promise<number> {
  const [row] = await db.sql<{ bytes: string }[]>`select pg_table_size('pgsched.jobs') as bytes`;
  return Number(row!.bytes);
}

async function deadTuples(): Promise<number> {
  const [row] = await db.sql<{ dead: string }[]>`
    select n_dead_tup as dead from pg_stat_user_tables where relid = 'pgsched.jobs'::regclass`;
  return Number(row?.dead ?? 0);
}

/**
 * What a drained and pruned backlog leaves: `n` jobs inserted, claimed, completed and deleted,
 * so every index (and the heap) kept its peak size. Waits until the statistics show the dead rows.
 */
async function bloat(n: number): Promise<void> {
  await db.sql`insert into pgsched.jobs (name, payload) select 'noop', jsonb_build_object('n', i)
               from generate_series(1, ${n}) i`;
  await db.sql`update pgsched.jobs set state = 'running', attempt = 1, locked_by = 'w', locked_until = now() + interval '1 minute'`;
  await db.sql`update pgsched.jobs set state = 'completed', finished_at = now(), locked_by = null, locked_until = null`;
  await db.sql`delete from pgsched.jobs`;
  await waitFor(async () => (await deadTuples()) >= n, 20_000, 200);
}

describe('index and table hygiene', () => {
  it('vacuums the pruned table and rebuilds every bloated index with REINDEX CONCURRENTLY', async () => {
    await bloat(60_000);
    const before = await indexes();
    const tableBefore = await tableBytes();
    expect(before.jobs_pkey!.bytes).toBeGreaterThan(1_000_000);
    expect(before.jobs_claim_idx!.bytes).toBeGreaterThan(1_000_000);
    expect(before.jobs_finished_idx!.bytes).toBeGreaterThan(300_000);
    expect(tableBefore).toBeGreaterThan(10_000_000);

    const duty = createHygiene(db.sql, 'pgsched', testLogger);
    expect(await duty.runOnce()).toBeGreaterThan(0);
    await duty.idle();

    const after = await indexes();
    for (const name of ['jobs_pkey', 'jobs_claim_idx', 'jobs_finished_idx', 'jobs_lease_idx']) {
      expect(after[name]!.bytes, name).toBeLessThanOrEqual(16_384);
      expect(after[name]!.oid, `${name} was rebuilt`).not.toBe(before[name]!.oid);
      expect(after[name]!.valid).toBe(true);
    }
    // VACUUM truncated the emptied heap.
    expect(await tableBytes()).toBeLessThan(100_000);
    // The table still works: the primary key and the dedupe index were rebuilt, not dropped.
    const q = db.pgsched();
    const id = await q.enqueue('noop', {}, { key: 'k' });
    expect(await q.enqueue('noop', {}, { key: 'k' })).toBe(id);
  });

  it('leaves compact indexes and a busy table of live rows alone (idempotent)', async () => {
    await db.sql`delete from pgsched.jobs`;
    await db.sql`insert into pgsched.jobs (name, payload) select 'noop', '{}' from generate_series(1, 50000)`;
    await db.sql`vacuum (analyze) pgsched.jobs`;
    const before = await indexes();
    const duty = createHygiene(db.sql, 'pgsched', testLogger);
    for (let i = 0; i < 2; i++) {
      await duty.runOnce();
      await duty.idle();
    }
    const after = await indexes();
    for (const name of Object.keys(before)) expect(after[name]!.oid, name).toBe(before[name]!.oid);
    await db.sql`delete from pgsched.jobs`;
  });

  it('drops the invalid leftover of an interrupted REINDEX CONCURRENTLY', async () => {
    await db.sql`delete from pgsched.jobs`;
    await db.sql`insert into pgsched.jobs (name) values ('dup'), ('dup')`;
    // A failed concurrent build leaves an invalid index behind, as a cancelled REINDEX does.
    await expect(
      db.sql`create unique index concurrently jobs_claim_idx_ccnew on pgsched.jobs (name)`,
    ).rejects.toThrow();
    expect((await indexes()).jobs_claim_idx_ccnew?.valid).toBe(false);

    const duty = createHygiene(db.sql, 'pgsched', testLogger);
    await duty.runOnce();
    await duty.idle();
    expect((await indexes()).jobs_claim_idx_ccnew).toBeUndefined();
    expect((await indexes()).jobs_claim_idx?.valid).toBe(true);
    await db.sql`delete from pgsched.jobs`;
  });

  it('is safe with two leaders at once: the loser logs, the indexes end compact and valid', async () => {
    await bloat(40_000);
    const a = createHygiene(db.sql, 'pgsched', testLogger);
    const b = createHygiene(db.sql, 'pgsched', testLogger);
    await Promise.all([a.runOnce(), b.runOnce()]);
    await Promise.all([a.idle(), b.idle()]);
    // Whatever the interleaving left (a cancelled or failed duplicate rebuild), later passes of a
    // leader clean it up (a fresh duty: a and b wait a minute before retrying a failed index).
    const c = createHygiene(db.sql, 'pgsched', testLogger, { reindexMinIntervalMs: 0 });
    // Up to 10 passes a quarter second apart: statistics of a busy server can lag a pass behind.
    for (let pass = 0; pass < 10; pass++) {
      await c.runOnce();
      await c.idle();
      const sizes = await indexes();
      if (sizes.jobs_pkey!.bytes <= 16_384 && sizes.jobs_claim_idx!.bytes <= 16_384) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const after = await indexes();
    for (const index of Object.values(after)) {
      expect(index.valid, index.name).toBe(true);
      expect(index.name).not.toMatch(/_cc(new|old)/);
    }
    expect(after.jobs_pkey!.bytes).toBeLessThanOrEqual(16_384);
    expect(after.jobs_claim_idx!.bytes).toBeLessThanOrEqual(16_384);
  });

  it('cancels a rebuild stuck behind a lock instead of waiting, and rebuilds on a later pass', async () => {
    await bloat(20_000);
    await db.sql`vacuum pgsched.jobs`;
    const before = await indexes();
    const duty = createHygiene(db.sql, 'pgsched', testLogger, {
      reindexTimeoutMs: 300,
      reindexMinIntervalMs: 0,
    });
    // A session holding the lock every REINDEX CONCURRENTLY (and VACUUM) of the table needs.
    const started = Date.now();
    await db.sql.begin(async (tx) => {
      await tx`lock table pgsched.jobs in share update exclusive mode`;
      await duty.runOnce();
      await duty.idle();
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    const stuck = await indexes();
    for (const name of Object.keys(before)) {
      expect(stuck[name]!.oid, `${name} untouched`).toBe(before[name]!.oid);
      expect(stuck[name]!.valid).toBe(true);
    }
    expect(Object.keys(stuck).sort()).toEqual(Object.keys(before).sort());

    await duty.runOnce();
    await duty.idle();
    const after = await indexes();
    expect(after.jobs_pkey!.oid).not.toBe(before.jobs_pkey!.oid);
    expect(after.jobs_pkey!.bytes).toBeLessThanOrEqual(16_384);
  });

  it("cancels only its own stuck rebuild, never another schema's rebuild of a same-named index", async () => {
    await db.pgsched({ schema: 'hygiene_other' }).migrate();
    await bloat(20_000);
    await db.sql`vacuum pgsched.jobs`;
    const duty = createHygiene(db.sql, 'pgsched', testLogger, {
      reindexTimeoutMs: 300,
      reindexMinIntervalMs: 0,
    });
    const blocker = postgres(db.url, { max: 1, onnotice: () => {} });
    const rebuilder = postgres(db.url, { max: 1, onnotice: () => {} });
    // Another schema's rebuild of its own `jobs_pkey`, waiting behind a lock for the whole test.
    let unblock = () => {};
    const blocked = new Promise<void>((resolve) => {
      unblock = resolve;
    });
    const holding = blocker.begin(async (tx) => {
      await tx`lock table hygiene_other.jobs in share update exclusive mode`;
      await blocked;
    });
    await waitFor(async () => {
      const [row] = await db.sql`select count(*)::int as n from pg_locks
        where relation = 'hygiene_other.jobs'::regclass and granted`;
      return row!.n > 0;
    });
    const otherRebuild = rebuilder`reindex index concurrently hygiene_other.jobs_pkey`.simple().then(
      () => 'rebuilt',
      (error: { code?: string }) => `failed ${error.code}`,
    );
    await waitFor(async () => {
      const [row] = await db.sql`select count(*)::int as n from pg_stat_activity
        where query = 'reindex index concurrently hygiene_other.jobs_pkey' and wait_event_type = 'Lock'`;
      return row!.n > 0;
    });
    // Our own rebuilds, stuck behind a lock too: the watchdog cancels them after 300 ms.
    await db.sql.begin(async (tx) => {
      await tx`lock table pgsched.jobs in share update exclusive mode`;
      await duty.runOnce();
      await duty.idle();
    });
    unblock();
    await holding;
    expect(await otherRebuild).toBe('rebuilt');
    await Promise.all([blocker.end(), rebuilder.end()]);
  });

  it('does nothing, and does not fail, for a role that does not own the table', async () => {
    await bloat(20_000);
    const before = await indexes();
    await db.sql.unsafe(`drop role if exists pgsched_hygiene_reader`);
    await db.sql.unsafe(`create role pgsched_hygiene_reader login password 'reader'`);
    await db.sql.unsafe(`grant usage on schema pgsched to pgsched_hygiene_reader`);
    await db.sql.unsafe(`grant select on all tables in schema pgsched to pgsched_hygiene_reader`);
    const url = new URL(db.url);
    url.username = 'pgsched_hygiene_reader';
    url.password = 'reader';
    const reader = postgres(url.toString(), { max: 2, onnotice: () => {} });
    try {
      const duty = createHygiene(reader, 'pgsched', testLogger);
      expect(await duty.runOnce()).toBeGreaterThan(0);
      await duty.idle();
      const after = await indexes();
      for (const name of Object.keys(before)) expect(after[name]!.oid, name).toBe(before[name]!.oid);
    } finally {
      await reader.end({ timeout: 5 });
      await db.sql.unsafe(`drop owned by pgsched_hygiene_reader`);
      await db.sql.unsafe(`drop role pgsched_hygiene_reader`);
    }
  });

  it('runs as a leader duty of start()', async () => {
    await bloat(30_000);
    const before = await indexes();
    expect(before.jobs_pkey!.bytes).toBeGreaterThan(500_000);
    const q = db.pgsched();
    await q.start();
    await waitFor(async () => (await indexes()).jobs_pkey!.bytes <= 16_384, 30_000, 200);
    expect((await indexes()).jobs_claim_idx!.bytes).toBeLessThanOrEqual(16_384);
    await q.stop();
  });
});
