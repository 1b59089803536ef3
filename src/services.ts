import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { EnqueueDeps } from './enqueue.js';
import { createJobs, ProgressWriter } from './jobs/index.js';
import { createManagement } from './management.js';
import { MetricsCollector } from './metrics/index.js';
import { createQueries } from './queries.js';
import { createQueues } from './queues/index.js';
import type { Registry } from './registry.js';
import { createSchedules } from './schedule/index.js';
import type { WorkerHooks } from './worker/hooks.js';
import { createWorkerQueries } from './workers/index.js';

/**
 * What a Pgsched instance delegates to, all on the user's client: enqueue, job management, queue
 * policies, schedules, the workers registry, and this process's metrics and progress writes.
 */
export function createServices(
  sql: Sql,
  schema: string,
  logger: Logger,
  registry: Registry,
  maxPayloadBytes: number,
) {
  const enqueueDeps: EnqueueDeps = { sql, queries: createQueries(sql, schema), registry, maxPayloadBytes };
  const jobs = createJobs(sql, schema);
  const metrics = new MetricsCollector();
  const progress = new ProgressWriter(jobs.queries, logger);
  const hooks: WorkerHooks = {
    progress: (workerId, row, json) => progress.write(workerId, row.id, row.attempt, row.claimed_at, json),
    ended: (row, settlement, ms) => metrics.record(row, settlement, ms),
  };
  return {
    enqueueDeps,
    jobs,
    metrics,
    hooks,
    management: createManagement(jobs),
    workers: createWorkerQueries(sql, schema),
    queues: createQueues(sql, schema),
    schedules: createSchedules({ ...enqueueDeps, schema, logger }),
  };
}

export type Services = ReturnType<typeof createServices>;
