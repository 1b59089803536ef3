import { Hono } from 'hono';
import type { ManagedPgsched } from '../contract.js';

/**
 * `GET stats`: the library's per-queue stats, plus their throughput summed over queues (what the
 * overview charts): `{ t, completed, failed }` per minute over the last hour, `t` in Unix seconds.
 */
export function statsRoutes(pgsched: ManagedPgsched): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const queues = await pgsched.stats();
    const total = new Map<number, { t: number; completed: number; failed: number }>();
    for (const queue of queues) {
      for (const point of queue.throughput) {
        const t = Math.floor(new Date(point.minute).getTime() / 1000);
        const sum = total.get(t) ?? { t, completed: 0, failed: 0 };
        sum.completed += point.completed;
        sum.failed += point.failed;
        total.set(t, sum);
      }
    }
    return c.json({ queues, throughput: [...total.values()].sort((a, b) => a.t - b.t) });
  });
  return app;
}
