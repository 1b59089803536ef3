import { Hono } from 'hono';
import type { ManagedPgsched } from '../contract.js';

/** `GET workers`: the live worker processes as they record themselves (dead ones drop out). */
export function workerRoutes(pgsched: ManagedPgsched): Hono {
  const app = new Hono();
  app.get('/', async (c) => c.json({ workers: await pgsched.listWorkers() }));
  return app;
}
