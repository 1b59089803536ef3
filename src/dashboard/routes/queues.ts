import { Hono } from 'hono';
import type { QueuePolicyOptions } from '../../queues/index.js';
import type { ManagedPgsched } from '../contract.js';
import { readJsonObject } from '../http.js';

/**
 * `GET queues`, `GET queues/:name`, `PUT queues/:name` (policy upsert: omitted fields stay, null
 * removes a limit), `POST queues/:name/pause|resume`. A queue needs no creation: one without jobs
 * or policy shows zero counts and no limits, and can be paused ahead of its first job.
 */
export function queueRoutes(pgsched: ManagedPgsched): Hono {
  const app = new Hono();
  app.get('/', async (c) => c.json({ queues: await pgsched.listQueues() }));
  app.get('/:name', async (c) => c.json(await pgsched.getQueue(c.req.param('name'))));
  app.put('/:name', async (c) =>
    c.json(await pgsched.setQueue(c.req.param('name'), (await readJsonObject(c)) as QueuePolicyOptions)),
  );
  app.post('/:name/pause', async (c) => {
    await pgsched.pauseQueue(c.req.param('name'));
    return c.json(await pgsched.getQueue(c.req.param('name')));
  });
  app.post('/:name/resume', async (c) => {
    await pgsched.resumeQueue(c.req.param('name'));
    return c.json(await pgsched.getQueue(c.req.param('name')));
  });
  return app;
}
