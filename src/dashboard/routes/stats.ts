import { Hono } from 'hono';
import type { ManagedPgsched } from '../contract.js';
import { method } from '../http.js';
import type { DashboardQueries } from '../queries.js';

/** `GET stats`: the library's per-queue stats plus completed/failed per minute over the last hour. */
export function statsRoutes(pgsched: ManagedPgsched, queries: DashboardQueries): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const [stats, throughput] = await Promise.all([method(pgsched, 'stats')(), queries.throughput()]);
    return c.json({ stats, throughput });
  });
  return app;
}
