import { Hono } from 'hono';
import type { ManagedPgsched } from '../contract.js';
import { notFound } from '../errors.js';
import { method } from '../http.js';

/** `GET queues`, `GET queues/:name`, `POST queues/:name/pause|resume`. */
export function queueRoutes(pgsched: ManagedPgsched): Hono {
  const app = new Hono();
  const load = async (name: string) => {
    const queue = await method(pgsched, 'getQueue')(name);
    if (!queue) throw notFound('Queue', name);
    return queue;
  };

  app.get('/', async (c) => c.json({ queues: await method(pgsched, 'listQueues')() }));
  app.get('/:name', async (c) => c.json(await load(c.req.param('name'))));
  app.post('/:name/pause', async (c) => {
    await method(pgsched, 'pauseQueue')(c.req.param('name'));
    return c.json(await load(c.req.param('name')));
  });
  app.post('/:name/resume', async (c) => {
    await method(pgsched, 'resumeQueue')(c.req.param('name'));
    return c.json(await load(c.req.param('name')));
  });
  return app;
}
