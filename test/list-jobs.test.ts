import { beforeAll, describe, expect, it } from 'vitest';
import { type Pgsched, PgschedValidationError } from '../src/index.js';
import { type TestDb, useTestDb } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

async function jobCount(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from pgsched.jobs`;
  return row!.n;
}

describe('listJobs', () => {
  it('pages through 10,000 jobs while 1,000 more are inserted: none twice, none of the first 10,000 skipped', async () => {
    await db.sql`delete from pgsched.jobs`;
    const existing = await q.enqueueMany(
      'page',
      Array.from({ length: 10_000 }, (_, i) => ({ i })),
      { queue: 'paging' },
    );
    for (const order of ['newest', 'oldest'] as const) {
      let inserted = 0;
      const inserter = (async () => {
        for (let b = 0; b < 20; b++) {
          await q.enqueueMany(
            'page',
            Array.from({ length: 50 }, (_, i) => ({ b, i, order })),
            { queue: 'paging' },
          );
          inserted += 50;
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const seen: string[] = [];
      let after: string | undefined;
      let pages = 0;
      const insertedAtPage: number[] = [];
      do {
        const page = await q.listJobs({ queue: 'paging', limit: 400, order, ...(after ? { after } : {}) });
        insertedAtPage.push(inserted);
        seen.push(...page.jobs.map((j) => j.id));
        after = page.next ?? undefined;
        pages++;
        // pages of strictly ordered ids
        const ids = page.jobs.map((j) => BigInt(j.id));
        for (let i = 1; i < ids.length; i++) expect(ids[i]! < ids[i - 1]!).toBe(order === 'newest');
      } while (after);
      await inserter;
      // the inserts really happened while paging: between the first page and the last
      expect(insertedAtPage[0]).toBeLessThan(1_000);
      expect(insertedAtPage.at(-1)).toBeGreaterThan(insertedAtPage[0]!);
      expect(pages).toBeGreaterThanOrEqual(25);
      expect(new Set(seen).size).toBe(seen.length);
      const seenSet = new Set(seen);
      expect(existing.filter((id) => !seenSet.has(id))).toEqual([]);
    }
  });

  it('filters by state, queue, name, group, key and since, and returns full jobs', async () => {
    await db.sql`delete from pgsched.jobs`;
    const a = await q.enqueue('alpha', { n: 1 }, { queue: 'fq', group: 'tenant:1' });
    const b = await q.enqueue('beta', { n: 2 }, { queue: 'fq', key: 'k:2' });
    const [c] = await q.enqueueMany('alpha', [{ n: 3 }], { queue: 'other' });
    await db.sql`update pgsched.jobs set state = 'failed', finished_at = now() where id = ${c!}`;
    await db.sql`update pgsched.jobs set created_at = now() - interval '2 hours' where id = ${b}`;

    const ids = async (o: Parameters<Pgsched['listJobs']>[0]) => (await q.listJobs(o)).jobs.map((j) => j.id);
    expect(await ids({})).toEqual([c, b, a]);
    expect(await ids({ order: 'oldest' })).toEqual([a, b, c]);
    expect(await ids({ queue: 'fq' })).toEqual([b, a]);
    expect(await ids({ name: 'alpha' })).toEqual([c, a]);
    expect(await ids({ state: 'failed' })).toEqual([c]);
    expect(await ids({ state: ['pending', 'failed'], name: 'alpha' })).toEqual([c, a]);
    expect(await ids({ group: 'tenant:1' })).toEqual([a]);
    expect(await ids({ key: 'k:2' })).toEqual([b]);
    expect(await ids({ since: new Date(Date.now() - 3_600_000) })).toEqual([c, a]);
    expect(await ids({ since: new Date(Date.now() - 3_600_000).toISOString(), queue: 'fq' })).toEqual([a]);

    const page = await q.listJobs({ limit: 2 });
    expect(page.jobs.map((j) => j.id)).toEqual([c, b]);
    expect(page.next).toEqual(expect.any(String));
    const last = await q.listJobs({ limit: 2, after: page.next! });
    expect(last).toMatchObject({ next: null });
    expect(last.jobs[0]).toMatchObject({
      id: a,
      name: 'alpha',
      queue: 'fq',
      group: 'tenant:1',
      state: 'pending',
      payload: { n: 1 },
      progress: null,
      attempts: [],
      errors: [],
    });
    expect(last.jobs[0]!.createdAt).toBeInstanceOf(Date);
    // exactly `limit` rows left: no further page is announced
    expect((await q.listJobs({ limit: 3 })).next).toBeNull();
  });

  it('rejects bad input with a PgschedValidationError naming field and value, and reads nothing', async () => {
    const { next } = await q.listJobs({ limit: 1 });
    expect(next).not.toBeNull();
    const forged = Buffer.from('newest:1:000000000000').toString('base64url');
    const cases: [unknown, string][] = [
      [{ after: 'not-a-cursor' }, 'listJobs.options.after'],
      [{ after: forged }, 'listJobs.options.after'],
      [{ after: `${next!.slice(0, -2)}AA` }, 'listJobs.options.after'],
      [{ after: next, order: 'oldest' }, 'listJobs.options.after'],
      [{ limit: 1001 }, 'listJobs.options.limit'],
      [{ limit: 0 }, 'listJobs.options.limit'],
      [{ limit: 2.5 }, 'listJobs.options.limit'],
      [{ state: 'done' }, 'listJobs.options.state'],
      [{ queue: 'bad queue' }, 'listJobs.options.queue'],
      [{ group: 'g'.repeat(201) }, 'listJobs.options.group'],
      [{ group: '' }, 'listJobs.options.group'],
      [{ since: 'yesterday' }, 'listJobs.options.since'],
      [{ order: 'random' }, 'listJobs.options.order'],
      [{ sort: 'id' }, 'listJobs.options.sort'],
    ];
    for (const [options, field] of cases) {
      const error = await q.listJobs(options as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(PgschedValidationError);
      expect((error as PgschedValidationError).field).toBe(field);
      expect((error as Error).message).toContain(field);
    }
    expect(await jobCount()).toBeGreaterThan(0);
  });
});
