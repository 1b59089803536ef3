import { Hono } from 'hono';
import { formatPrometheus } from '../../metrics/index.js';
import type { ManagedPgsched } from '../contract.js';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `GET <basePath>/metrics` in Prometheus text format: `pgsched.metrics()` (job counts read at
 * scrape time, this process's counters and duration histogram, leadership).
 */
export function metricsRoutes(pgsched: ManagedPgsched): Hono {
  const app = new Hono();
  app.get('/', async (c) =>
    c.body(formatPrometheus(await pgsched.metrics()), 200, { 'content-type': CONTENT_TYPE }),
  );
  return app;
}
