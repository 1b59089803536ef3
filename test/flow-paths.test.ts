import { beforeAll, describe, expect, it } from 'vitest';
import type { Pgsched } from '../src/index.js';
import { countByState, type TestDb, useTestDb, waitFor } from './support/db.js';

let db: TestDb;
let q: Pgsched;

beforeAll(async () => {
  db = await useTestDb();
  q = db.pgsched();
  await q.migrate();
});

describe('claims with policies in play', () => {
  it('a paused queue holds its jobs while other queues drain without waiting for a poll', async () => {
    await q.pauseQueue('held');
    await q.enqueueMany(
      'work',
      Array.from({ length: 500 }, () => ({})),
      { queue: 'held' },
    );
    await q.enqueueMany(
      'work',
      Array.from({ length: 3_000 }, () => ({})),
      { queue: 'free' },
    );
    await q.setQueue('limited', { concurrency: 2 });
    await q.enqueueMany(
      'work',
      Array.from({ length: 20 }, () => ({})),
      { queue: 'limited', group: 'a' },
    );
    const w = db.pgsched();
    w.define('work', async () => {});
    const t0 = Date.now();
    // A 10 s poll: only claims that follow one another (batches, finished limited jobs) can drain this fast.
    await w.start({ concurrency: 20, pollInterval: '10s' });
    await waitFor(async () => (await countByState(db.sql)).completed === 3_020, 8_000, 20);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect((await q.getQueue('held')).counts).toMatchObject({ pending: 500, running: 0, completed: 0 });
    await q.resumeQueue('held');
    await waitFor(async () => (await countByState(db.sql)).completed === 3_520, 5_000, 20);
    await w.stop();
  });
});
