import { Hono } from 'hono';
import type { EnqueueOptions } from '../../enqueue.js';
import { PgschedValidationError } from '../../errors.js';
import type { JobFilterOptions, ListJobsOptions } from '../../jobs/index.js';
import type { ManagedPgsched } from '../contract.js';
import { invalidState, notFound } from '../errors.js';
import { queryFilter, readJsonObject } from '../http.js';

const LIST_FIELDS = ['state', 'queue', 'name', 'group', 'key', 'since', 'limit', 'after', 'order'] as const;

/** Jobs: list, show, enqueue, retry/cancel/delete one, retry/cancel many by filter. */
export function jobRoutes(pgsched: ManagedPgsched): Hono {
  const app = new Hono();

  const load = async (id: string) => {
    const job = await pgsched.getJob(id);
    if (!job) throw notFound('Job', id);
    return job;
  };

  app.get('/', async (c) => {
    const filter = queryFilter(c, LIST_FIELDS);
    // `state=failed,cancelled` asks for either.
    if (typeof filter.state === 'string' && filter.state.includes(','))
      filter.state = filter.state.split(',');
    return c.json(await pgsched.listJobs(filter as ListJobsOptions));
  });

  app.post('/', async (c) => {
    const body = await readJsonObject(c);
    const { name, payload, options, ...rest } = body;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) {
      throw new PgschedValidationError(
        `body.${unknown}`,
        rest[unknown],
        'unknown field: expected name, payload, options',
      );
    }
    if (
      options !== undefined &&
      (typeof options !== 'object' || options === null || Array.isArray(options))
    ) {
      throw new PgschedValidationError('body.options', options, 'expected an object of enqueue options');
    }
    // A transaction cannot cross HTTP; everything else is the library's to validate.
    if (options && 'tx' in options) {
      throw new PgschedValidationError(
        'body.options.tx',
        (options as { tx: unknown }).tx,
        'not accepted over HTTP',
      );
    }
    const id = await pgsched.enqueue(name as string, payload, options as EnqueueOptions | undefined);
    return c.json(await load(id), 201);
  });

  // Bulk routes come before '/:id/…' so that 'retry' is never taken for an id.
  app.post('/retry', async (c) => {
    const count = await pgsched.retryJobs((await readJsonObject(c)) as JobFilterOptions);
    return c.json({ count });
  });
  app.post('/cancel', async (c) => {
    const count = await pgsched.cancelJobs((await readJsonObject(c)) as JobFilterOptions);
    return c.json({ count });
  });

  app.get('/:id', async (c) => c.json(await load(c.req.param('id'))));

  app.post('/:id/retry', async (c) => {
    const id = c.req.param('id');
    if (!(await pgsched.retry(id))) {
      const job = await load(id);
      throw invalidState(`Job ${id} is ${job.state}; only failed or cancelled jobs can be retried`);
    }
    return c.json(await load(id));
  });

  app.post('/:id/cancel', async (c) => {
    const id = c.req.param('id');
    if (!(await pgsched.cancel(id))) {
      const job = await load(id);
      throw invalidState(`Job ${id} is ${job.state}; only pending or running jobs can be cancelled`);
    }
    return c.json(await load(id));
  });

  app.delete('/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await pgsched.deleteJob(id))) {
      const job = await load(id);
      throw invalidState(`Job ${id} is ${job.state}; a running job cannot be deleted (cancel it first)`);
    }
    return c.body(null, 204);
  });
  return app;
}
