import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { v4 as uuidv4 } from 'uuid';
import type { Queries } from '../queries.js';
import { FlowNotifier } from '../queues/flow-notifier.js';
import type { Registry } from '../registry.js';
import type { WorkerHooks } from './hooks.js';
import { Worker } from './worker.js';

const DEFAULT_MAX_ATTEMPTS = 25;
const DEFAULT_VISIBILITY_MS = 30_000;

export interface WorkerSettings {
  schema: string;
  concurrency: number;
  /** null: sized from measured job and claim times. */
  prefetch: number | null;
  queues: string[] | null;
  /** The client to LISTEN on; null: poll only (PgBouncer transaction pooling without a direct URL). */
  listenSql: Sql | null;
  pollIntervalMs: number;
  maxResultBytes: number;
  random: () => number;
  deleteCompleted: boolean;
  hooks?: WorkerHooks;
}

/**
 * Assembles a worker for every job defined in `registry`. The definitions' defaults travel with
 * each claim, so rows whose enqueuer did not know the definition get them when first claimed.
 */
export function createWorker(
  /** pgsched's own worker connections (see connections.ts); `queries` runs on them too. */
  sql: Sql,
  queries: Queries,
  registry: Registry,
  logger: Logger,
  s: WorkerSettings,
) {
  const names = registry.names();
  const definitions = names.map((n) => registry.get(n)!.options);
  // A Notifier that also re-polls finely while a queue of this worker has a rate limit (src/queues).
  const notifier = new FlowNotifier(
    sql,
    s.listenSql,
    s.schema,
    s.queues,
    { jobs: `${s.schema}.jobs`, cancel: `${s.schema}.cancel` },
    { pollIntervalMs: s.pollIntervalMs, probeSql: sql },
    logger,
  );
  return new Worker(
    {
      workerId: `${hostname()}:${process.pid}:${uuidv4().slice(0, 8)}`,
      concurrency: s.concurrency,
      prefetch: s.prefetch,
      // Not below half a second: each check is an UPDATE of every buffered row.
      recheckMs: Math.max(500, s.pollIntervalMs),
      queues: s.queues,
      claimDefaults: {
        names,
        maxAttempts: definitions.map((d) => d.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
        visibilityMs: definitions.map((d) => d.visibilityTimeout ?? DEFAULT_VISIBILITY_MS),
        atMostOnce: definitions.map((d) => (d.delivery === 'at-most-once' ? 1 : 0)),
      },
      maxResultBytes: s.maxResultBytes,
      random: s.random,
      deleteCompleted: s.deleteCompleted,
      hooks: s.hooks,
      isPaused: (queue) => notifier.isPaused(queue),
      hasLimits: () => notifier.hasLimits(),
    },
    queries,
    registry,
    notifier,
    logger,
  );
}
