import { Hono } from 'hono';
import type { ManagedPgsched } from '../contract.js';
import { type MetricFamily, renderPrometheus } from '../prometheus.js';
import type { DashboardQueries } from '../queries.js';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `GET <basePath>/metrics` in Prometheus text format: the numbers of `pgsched.metrics()` (job
 * counts read at scrape time, this process's counters and duration histogram, leadership). A
 * pgsched without metrics() still gets the job counts and leadership.
 */
export function metricsRoutes(pgsched: ManagedPgsched, queries: DashboardQueries): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const metrics = typeof pgsched.metrics === 'function' ? await pgsched.metrics() : await fallback();
    const text = typeof metrics === 'string' ? metrics : renderPrometheus(metrics as MetricFamily[]);
    return c.body(text, 200, { 'content-type': CONTENT_TYPE });
  });

  async function fallback(): Promise<MetricFamily[]> {
    const counts = await queries.countsByQueue();
    return [
      {
        name: 'pgsched_jobs',
        help: 'Jobs in the database by queue and state, read at scrape time.',
        type: 'gauge',
        values: counts.map((r) => ({ labels: { queue: r.queue, state: r.state }, value: r.n })),
      },
      {
        name: 'pgsched_leader',
        help: '1 while this process holds leadership.',
        type: 'gauge',
        values: [{ value: pgsched.isLeader ? 1 : 0 }],
      },
    ];
  }
  return app;
}
