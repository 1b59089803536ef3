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
import { type EnqueueManyOptions, type EnqueueOptions, enqueueMany, enqueueOne } from './enqueue.js';
import { PgschedError, PgschedValidationError } from './errors.js';
import { validateSchemaName } from './identifiers.js';
import type { JobFilterOptions, JobPage, ListJobsOptions, QueueStats } from './jobs/index.js';
import { type Job, parseJobId } from './management.js';
import { type PgschedMetrics, readMetrics } from './metrics/index.js';
import { type MigrateResult, migrate } from './migrate.js';
import { parseOptions } from './options.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './payload.js';
import type { QueueInfo, QueuePolicyOptions } from './queues/index.js';
import { type DefineOptions, type Handler, Registry } from './registry.js';
import { type Runtime, startRuntime } from './runtime.js';
import type { MissedOccurrences, Schedule, ScheduleOptions } from './schedule/index.js';
import { createServices, type Services } from './services.js';
import type { WorkerInfo } from './workers/index.js';

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
  readonly #s: Services;
  readonly #random: () => number;
  #runtime: Runtime | undefined;
  #started = false;

  constructor(options: PgschedOptions) {
    const opts = parseOptions(clientSchema, options, 'Pgsched.options');
    this.sql = opts.sql;
    this.schema = validateSchemaName('Pgsched.options.schema', opts.schema ?? 'pgsched');
    this.logger = opts.logger ?? pino({ name: 'pgsched', level: process.env.PGSCHED_LOG_LEVEL ?? 'info' });
    this.#random = opts.random ?? Math.random;
    this.#s = createServices(
      this.sql,
      this.schema,
      this.logger,
      this.#registry,
      opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    );
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
    return enqueueOne(this.#s.enqueueDeps, name, payload, options);
  }

  /** Inserts any number of jobs in one statement and returns their ids in payload order. */
  enqueueMany<N extends keyof Jobs & string>(
    name: N,
    payloads: readonly Jobs[N]['payload'][],
    options?: EnqueueManyOptions,
  ): Promise<string[]> {
    return enqueueMany(this.#s.enqueueDeps, name, payloads, options);
  }

  /** The job's row, or null if it does not exist (or was pruned). */
  getJob<N extends keyof Jobs & string = keyof Jobs & string>(
    id: string | number | bigint,
  ): Promise<Job<Jobs[N]['payload'], Jobs[N]['result']> | null> {
    return this.#s.management.getJob(id) as Promise<Job<Jobs[N]['payload'], Jobs[N]['result']> | null>;
  }

  /** Cancels a pending or running job (a running job's signal is aborted). False if it was not cancellable. */
  cancel(id: string | number | bigint): Promise<boolean> {
    return this.#s.management.cancel(id);
  }

  /** Returns a failed or cancelled job to `pending`. False if it was in another state. */
  retry(id: string | number | bigint): Promise<boolean> {
    return this.#s.management.retry(id);
  }

  /**
   * A page of jobs matching the filter, newest first (or `order: 'oldest'`), at most `limit`
   * (default 100, at most 1,000). Pass `next` as `after` for the following page: pages are keyed
   * on the job id, so jobs enqueued meanwhile never shift a page, and no job is seen twice.
   */
  async listJobs(options?: ListJobsOptions): Promise<JobPage> {
    return this.#s.jobs.listJobs(options);
  }

  /** Deletes a pending or finished job. False if it does not exist or is running (cancel it first). */
  async deleteJob(id: string | number | bigint): Promise<boolean> {
    return this.#s.jobs.deleteJob(parseJobId('deleteJob.id', id));
  }

  /**
   * Returns every failed or cancelled job matching the filter to `pending` (with one more attempt
   * where none was left) and returns how many. Of jobs sharing a key, only the newest is retried,
   * and none while another unfinished job holds the key. The filter needs at least one field.
   */
  async retryJobs(filter: JobFilterOptions): Promise<number> {
    return this.#s.jobs.retryJobs('retryJobs.filter', filter);
  }

  /**
   * Cancels every pending or running job matching the filter and returns how many; running ones
   * have their signal aborted, as `cancel(id)` does. The filter needs at least one field.
   */
  async cancelJobs(filter: JobFilterOptions): Promise<number> {
    return this.#s.jobs.cancelJobs('cancelJobs.filter', filter);
  }

  /**
   * Per queue: jobs by state now, jobs completed and failed in the last minute, and both per minute
   * over the last hour (counted as outcomes are written, so retention does not affect them).
   */
  stats(): Promise<QueueStats[]> {
    return this.#s.jobs.stats();
  }

  /** Live pgsched processes of this schema (started and still beating), oldest first. */
  listWorkers(): Promise<WorkerInfo[]> {
    return this.#s.workers.list();
  }

  /**
   * The numbers behind a Prometheus `/metrics`: jobs by queue and state (from the database now),
   * and this process's completed and failed jobs and attempt durations. Render them with
   * `formatPrometheus()`, or feed them to your own registry.
   */
  metrics(): Promise<PgschedMetrics> {
    return readMetrics(this.#s.jobs.queries, this.#s.metrics, this.isLeader);
  }

  /**
   * Sets a queue's policy, obeyed by every worker of the schema (upsert: omitted fields stay as they
   * are, `null` removes a limit). Limits are enforced by the database when jobs are claimed.
   */
  setQueue(name: string, options: QueuePolicyOptions): Promise<QueueInfo> {
    return this.#s.queues.setQueue(name, options);
  }

  /** No worker starts a job of the queue until it is resumed; running jobs are not interrupted. */
  pauseQueue(name: string): Promise<void> {
    return this.#s.queues.pauseQueue(name);
  }

  /** Lets workers start the queue's jobs again (they are woken at once). */
  resumeQueue(name: string): Promise<void> {
    return this.#s.queues.resumeQueue(name);
  }

  /** The queue's policy (null: no limit), whether it is paused, and its job counts by state. */
  getQueue(name: string): Promise<QueueInfo> {
    return this.#s.queues.getQueue(name);
  }

  /** Every queue that has a policy or jobs, by name. */
  listQueues(): Promise<QueueInfo[]> {
    return this.#s.queues.listQueues();
  }

  /**
   * Creates or updates a recurring schedule; the leader enqueues each occurrence as an `options.job`
   * job. Unchanged: no-op; changed: version + 1; stale `expectedVersion`: PgschedConflictError.
   */
  schedule<N extends keyof Jobs & string>(
    name: string,
    options: ScheduleOptions<N, Jobs[N]['payload']>,
  ): Promise<Schedule> {
    return this.#s.schedules.schedule(name, options);
  }

  /** Deletes a schedule (its jobs stay). False if there was none. */
  unschedule(name: string): Promise<boolean> {
    return this.#s.schedules.unschedule(name);
  }

  /** Stops a schedule from firing until resumed. False if there is no such schedule. */
  pauseSchedule(name: string): Promise<boolean> {
    return this.#s.schedules.pause(name);
  }

  /** Resumes from now; occurrences during the pause are not caught up. False if there is no such schedule. */
  resumeSchedule(name: string): Promise<boolean> {
    return this.#s.schedules.resume(name);
  }

  /** The schedule (definition, paused, version, next/last fire, run count…), or null. */
  getSchedule(name: string): Promise<Schedule | null> {
    return this.#s.schedules.get(name);
  }

  /** Every schedule, by name. */
  listSchedules(): Promise<Schedule[]> {
    return this.#s.schedules.list();
  }

  /** The next `n` fire times of a schedule, computed without enqueuing anything. */
  upcoming(name: string, n: number): Promise<Date[]> {
    return this.#s.schedules.upcoming(name, n);
  }

  /** Occurrences that were skipped (catch-up or overlap policy), newest first. */
  missedOccurrences(name: string, options?: { limit?: number }): Promise<MissedOccurrences[]> {
    return this.#s.schedules.misses(name, options);
  }

  /**
   * Starts the worker (when jobs are defined) and leader duties in this process, on connections
   * of pgsched's own opened from the client's settings (see `connections.ts`). Either everything
   * starts, or nothing is left running and the error is thrown.
   */
  async start(options: StartOptions = {}): Promise<void> {
    if (this.#started)
      throw new PgschedValidationError('start', 'called twice', 'this instance is already started');
    const opts = parseStartOptions(options);
    await this.#s.schedules.syncOnStart(opts.schedules, opts.removeUnlistedSchedules ?? false);
    this.#started = true;
    try {
      this.#runtime = await startRuntime(
        {
          sql: this.sql,
          schema: this.schema,
          logger: this.logger,
          registry: this.#registry,
          schedules: this.#s.schedules,
          workers: this.#s.workers,
          hooks: this.#s.hooks,
          random: this.#random,
          maxResultBytes: this.#s.enqueueDeps.maxPayloadBytes,
        },
        opts,
      );
    } catch (error) {
      this.#started = false;
      throw error;
    }
  }

  /** Whether this process currently holds leadership. */
  get isLeader(): boolean {
    return this.#runtime?.leader?.isLeader ?? false;
  }

  /**
   * Graceful stop: no new claims, prefetched jobs go back to `pending`, running jobs get up to
   * `timeout` (default 30s) to finish, then their signal is aborted and they go back to `pending`
   * without using an attempt (at-most-once jobs end `failed`: their work may be done).
   */
  async stop(options: { timeout?: Duration } = {}): Promise<void> {
    const { timeoutMs } = parseStopOptions(options);
    const runtime = this.#runtime;
    this.#runtime = undefined;
    await runtime?.stop(timeoutMs);
    this.#started = false;
  }
}
