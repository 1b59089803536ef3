import type { Logger } from 'pino';
import postgres, { type Sql } from 'postgres';
import type { parseStartOptions } from './client-options.js';
import { ownClient } from './connections.js';
import { createHygiene } from './maintenance/hygiene.js';
import { Leader } from './maintenance/leader.js';
import { createPruner } from './maintenance/pruner.js';
import { createRescuer } from './maintenance/rescuer.js';
import { createQueries } from './queries.js';
import type { Registry } from './registry.js';
import type { Schedules } from './schedule/index.js';
import { createWorker } from './worker/create.js';
import type { WorkerHooks } from './worker/hooks.js';
import type { Worker } from './worker/worker.js';
import { createPresence, type Presence, type WorkerQueries } from './workers/index.js';

/** Seconds the connections of a stopping runtime get to finish their queries before they are cut. */
const END_TIMEOUT_S = 5;

/**
 * Everything one `start()` runs and the connections it opened, so that `stop()`, or a `start()`
 * that failed half-way, ends all of it.
 */
export class Runtime {
  worker: Worker | undefined;
  leader: Leader | undefined;
  unlisten: (() => Promise<void>) | undefined;
  /** This process's row in the workers registry. */
  presence: Presence | undefined;
  readonly #clients: Sql[] = [];

  constructor(private readonly logger: Logger) {}

  /** A pool of pgsched's own with the connection settings of a client (or of a URL). */
  client(from: Sql | string, max: number, label: string, options: { persistent?: boolean } = {}): Sql {
    // postgres(url) only parses the URL: it connects on its first query, which never comes.
    const settings = typeof from === 'string' ? postgres(from) : from;
    const client = ownClient(settings, max, this.logger, label, options);
    this.#clients.push(client);
    return client;
  }

  async stop(timeoutMs: number): Promise<void> {
    await Promise.all([
      this.worker?.stop(timeoutMs),
      this.leader?.stop(),
      this.unlisten?.().catch((error) => this.logger.debug({ err: error }, 'unlisten failed')),
    ]);
    // Listed until its jobs are written, so `listWorkers()` never hides a process still finishing.
    await this.presence?.stop();
    await Promise.all(this.#clients.map((c) => c.end({ timeout: END_TIMEOUT_S }).catch(() => {})));
  }
}

/** What a Pgsched instance lends the processes `start()` runs. */
export interface RuntimeDeps {
  /** The user's client: pgsched's own connections copy its settings. */
  sql: Sql;
  schema: string;
  logger: Logger;
  registry: Registry;
  schedules: Schedules;
  workers: WorkerQueries;
  hooks: WorkerHooks;
  random: () => number;
  maxResultBytes: number;
}

/**
 * Starts the worker (when jobs are defined), the leader and the registry entry of `start()`.
 * Either everything starts, or what had started is stopped and the error is thrown.
 */
export async function startRuntime(
  d: RuntimeDeps,
  opts: ReturnType<typeof parseStartOptions>,
): Promise<Runtime> {
  const runtime = new Runtime(d.logger);
  const concurrency = opts.concurrency ?? 10;
  const pollMs = opts.pollInterval ?? 1_000;
  try {
    // LISTEN needs a session: through PgBouncer's transaction pooling, a direct URL for it.
    const listenSql =
      !opts.pollOnly && opts.listenUrl ? runtime.client(opts.listenUrl, 1, 'listen') : undefined;
    if (d.registry.names().length > 0) {
      const workerSql = runtime.client(d.sql, 4, 'worker');
      runtime.worker = createWorker(workerSql, createQueries(workerSql, d.schema), d.registry, d.logger, {
        schema: d.schema,
        concurrency,
        prefetch: opts.prefetch ?? null,
        queues: opts.queues ?? null,
        listenSql: opts.pollOnly ? null : (listenSql ?? workerSql),
        pollIntervalMs: pollMs,
        maxResultBytes: d.maxResultBytes,
        random: d.random,
        deleteCompleted: opts.retention.completed === 0,
        hooks: d.hooks,
      });
      await runtime.worker.start();
    }
    if (opts.leader ?? true) {
      const leaderSql = runtime.client(d.sql, 3, 'leader');
      // Lease statements on a connection of their own that lives as long as this process, so
      // that its server process going away tells followers this leader is gone (see leader.ts).
      const leaseSql = runtime.client(d.sql, 1, 'lease', { persistent: true });
      const leader = new Leader(
        leaderSql,
        d.schema,
        [
          // First: the most latency-sensitive duty, it should not wait behind a long prune.
          // A frozen leader's ticker transaction ends before its lease does (see TickerOptions).
          d.schedules.ticker(leaderSql, {
            pollMs,
            idleTimeoutMs: Math.max(1_000, (opts.leaderTimeout ?? 10_000) / 2),
          }),
          createRescuer(leaderSql, d.schema, d.logger),
          createPruner(leaderSql, d.schema, opts.retention, d.logger),
          // VACUUM and REINDEX CONCURRENTLY run in the background: no other duty waits on them.
          createHygiene(leaderSql, d.schema, d.logger),
        ],
        d.logger,
        // pollOnly is the PgBouncer set-up: a pooled server connection says nothing about us.
        { timeoutMs: opts.leaderTimeout ?? 10_000, leaseSql, session: !opts.pollOnly },
      );
      runtime.leader = leader;
      leader.start();
      // A schedule created or changed anywhere may be due before the ticker's next look (which
      // polls anyway, so nothing depends on this notification arriving).
      if (!opts.pollOnly) {
        runtime.unlisten = await d.schedules.listen(listenSql ?? leaderSql, () => leader.wake('schedules'));
      }
    }
    // Listed in the workers registry from here on (a leader-only process too, with no job names).
    runtime.presence = createPresence(d.workers, d.logger, () => runtime.leader?.isLeader ?? false, {
      workerId: runtime.worker?.id ?? null,
      queues: opts.queues ?? null,
      names: runtime.worker ? d.registry.names() : [],
      concurrency: runtime.worker ? concurrency : 0,
      intervalMs: opts.registryInterval ?? 10_000,
    });
    await runtime.presence.start();
    return runtime;
  } catch (error) {
    await runtime.stop(0);
    throw error;
  }
}
