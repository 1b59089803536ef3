import { type Logger, pino } from 'pino';
import type { Sql } from 'postgres';
import {
  clientSchema,
  type PgschedOptions,
  parseStartOptions,
  parseStopOptions,
  type StartOptions,
} from './client-options.js';
import type { Duration } from './duration.js';
import {
  type EnqueueDeps,
  type EnqueueManyOptions,
  type EnqueueOptions,
  enqueueMany,
  enqueueOne,
} from './enqueue.js';
import { PgschedError, PgschedValidationError } from './errors.js';
import { validateSchemaName } from './identifiers.js';
import { createHygiene } from './maintenance/hygiene.js';
import { Leader } from './maintenance/leader.js';
import { createPruner } from './maintenance/pruner.js';
import { createRescuer } from './maintenance/rescuer.js';
import { createManagement, type Job } from './management.js';
import { type MigrateResult, migrate } from './migrate.js';
import { parseOptions } from './options.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './payload.js';
import { createQueries } from './queries.js';
import { type DefineOptions, type Handler, Registry } from './registry.js';
import {
  createSchedules,
  type MissedOccurrences,
  type Schedule,
  type ScheduleOptions,
  type Schedules,
} from './schedule/index.js';
import { createWorker } from './worker/create.js';
import type { Worker } from './worker/worker.js';

/** Payload and result types per job name, for typed `define`/`enqueue`/`getJob`. */
export type JobMap = Record<string, { payload: unknown; result?: unknown }>;
type AnyJobs = Record<string, { payload: any; result?: any }>;

/**
 * A pgsched instance: defines jobs, enqueues them, runs workers and leader duties, and
 * manages jobs, all against one schema of one PostgreSQL database.
 */
export class Pgsched<Jobs extends AnyJobs = AnyJobs> {
  readonly sql: Sql;
  readonly schema: string;
  readonly logger: Logger;
  readonly #registry = new Registry();
  readonly #queries;
  readonly #management;
  readonly #enqueueDeps: EnqueueDeps;
  readonly #random: () => number;
  readonly #schedules: Schedules;
  #worker: Worker | undefined;
  #leader: Leader | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #started = false;

  constructor(options: PgschedOptions) {
    const opts = parseOptions(clientSchema, options, 'Pgsched.options');
    this.sql = opts.sql;
    this.schema = validateSchemaName('Pgsched.options.schema', opts.schema ?? 'pgsched');
    this.logger = opts.logger ?? pino({ name: 'pgsched', level: process.env.PGSCHED_LOG_LEVEL ?? 'info' });
    this.#random = opts.random ?? Math.random;
    this.#queries = createQueries(this.sql, this.schema);
    this.#management = createManagement(this.sql, this.schema);
    this.#enqueueDeps = {
      sql: this.sql,
      queries: this.#queries,
      registry: this.#registry,
      maxPayloadBytes: opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    };
    this.#schedules = createSchedules({ ...this.#enqueueDeps, schema: this.schema, logger: this.logger });
  }

  /** Applies pending migrations (same as `npx pgsched migrate`). Safe to run from many processes at once. */
  migrate(options: { dryRun?: boolean } = {}): Promise<MigrateResult> {
    return migrate(this.sql, this.schema, options);
  }

  /** Registers the handler of a job name. Each name may be defined once per instance. */
  define<N extends keyof Jobs & string>(
    name: N,
    handler: Handler<Jobs[N]['payload'], Jobs[N]['result']>,
    options?: DefineOptions<Jobs[N]['payload']>,
  ): this {
    if (this.#started)
      throw new PgschedError(`define("${name}") after start(): define every job before starting`);
    this.#registry.define(name, handler, options);
    return this;
  }

  /** Inserts one job and returns its id (or, with a `key`, the id of the unfinished job that holds it). */
  enqueue<N extends keyof Jobs & string>(
    name: N,
    payload: Jobs[N]['payload'],
    options?: EnqueueOptions,
  ): Promise<string> {
    return enqueueOne(this.#enqueueDeps, name, payload, options);
  }

  /** Inserts any number of jobs in one statement and returns their ids in payload order. */
  enqueueMany<N extends keyof Jobs & string>(
    name: N,
    payloads: readonly Jobs[N]['payload'][],
    options?: EnqueueManyOptions,
  ): Promise<string[]> {
    return enqueueMany(this.#enqueueDeps, name, payloads, options);
  }

  /** The job's row, or null if it does not exist (or was pruned). */
  getJob<N extends keyof Jobs & string = keyof Jobs & string>(
    id: string | number | bigint,
  ): Promise<Job<Jobs[N]['payload'], Jobs[N]['result']> | null> {
    return this.#management.getJob(id) as Promise<Job<Jobs[N]['payload'], Jobs[N]['result']> | null>;
  }

  /** Cancels a pending or running job (a running job's signal is aborted). False if it was not cancellable. */
  cancel(id: string | number | bigint): Promise<boolean> {
    return this.#management.cancel(id);
  }

  /** Returns a failed or cancelled job to `pending`. False if it was in another state. */
  retry(id: string | number | bigint): Promise<boolean> {
    return this.#management.retry(id);
  }

  /**
   * Creates or updates a recurring schedule; the leader enqueues each occurrence as an `options.job`
   * job. Unchanged: no-op; changed: version + 1; stale `expectedVersion`: PgschedConflictError.
   */
  schedule<N extends keyof Jobs & string>(
    name: string,
    options: ScheduleOptions<N, Jobs[N]['payload']>,
  ): Promise<Schedule> {
    return this.#schedules.schedule(name, options);
  }

  /** Deletes a schedule (its jobs stay). False if there was none. */
  unschedule(name: string): Promise<boolean> {
    return this.#schedules.unschedule(name);
  }

  /** Stops a schedule from firing until resumed. False if there is no such schedule. */
  pauseSchedule(name: string): Promise<boolean> {
    return this.#schedules.pause(name);
  }

  /** Resumes from now; occurrences during the pause are not caught up. False if there is no such schedule. */
  resumeSchedule(name: string): Promise<boolean> {
    return this.#schedules.resume(name);
  }

  /** The schedule (definition, paused, version, next/last fire, run count…), or null. */
  getSchedule(name: string): Promise<Schedule | null> {
    return this.#schedules.get(name);
  }

  /** Every schedule, by name. */
  listSchedules(): Promise<Schedule[]> {
    return this.#schedules.list();
  }

  /** The next `n` fire times of a schedule, computed without enqueuing anything. */
  upcoming(name: string, n: number): Promise<Date[]> {
    return this.#schedules.upcoming(name, n);
  }

  /** Occurrences that were skipped (catch-up or overlap policy), newest first. */
  missedOccurrences(name: string, options?: { limit?: number }): Promise<MissedOccurrences[]> {
    return this.#schedules.misses(name, options);
  }

  /** Starts the worker (when jobs are defined) and leader duties in this process. */
  async start(options: StartOptions = {}): Promise<void> {
    if (this.#started)
      throw new PgschedValidationError('start', 'called twice', 'this instance is already started');
    const opts = parseStartOptions(options);
    const concurrency = opts.concurrency ?? 10;
    await this.#schedules.syncOnStart(opts.schedules, opts.removeUnlistedSchedules ?? false);
    this.#started = true;

    if (this.#registry.names().length > 0) {
      this.#worker = createWorker(this.sql, this.#queries, this.#registry, this.logger, {
        schema: this.schema,
        concurrency,
        prefetch: opts.prefetch ?? concurrency,
        queues: opts.queues ?? null,
        pollOnly: opts.pollOnly ?? false,
        pollIntervalMs: opts.pollInterval ?? 1_000,
        maxResultBytes: this.#enqueueDeps.maxPayloadBytes,
        random: this.#random,
        deleteCompleted: opts.retention.completed === 0,
      });
      await this.#worker.start();
    }
    if (opts.leader ?? true) {
      this.#leader = new Leader(
        this.sql,
        this.schema,
        [
          // First: the most latency-sensitive duty, it should not wait behind a long prune.
          this.#schedules.ticker(),
          createRescuer(this.sql, this.schema, this.logger),
          createPruner(this.sql, this.schema, opts.retention, this.logger),
          // VACUUM and REINDEX CONCURRENTLY run in the background: no other duty waits on them.
          createHygiene(this.sql, this.schema, this.logger),
        ],
        this.logger,
      );
      const leader = this.#leader;
      leader.start();
      // A schedule created or changed anywhere may be due before the ticker's next planned run.
      if (!opts.pollOnly) this.#unlisten = await this.#schedules.listen(() => leader.wake('schedules'));
    }
  }

  /** Whether this process currently holds leadership. */
  get isLeader(): boolean {
    return this.#leader?.isLeader ?? false;
  }

  /**
   * Graceful stop: no new claims, prefetched jobs go back to `pending`, running jobs get up to
   * `timeout` (default 30s) to finish, then their signal is aborted and they are released.
   */
  async stop(options: { timeout?: Duration } = {}): Promise<void> {
    const { timeoutMs } = parseStopOptions(options);
    const worker = this.#worker;
    const leader = this.#leader;
    const unlisten = this.#unlisten;
    this.#worker = undefined;
    this.#leader = undefined;
    this.#unlisten = undefined;
    await Promise.all([worker?.stop(timeoutMs), leader?.stop(), unlisten?.()]);
    this.#started = false;
  }
}
