import type { Logger } from 'pino';
import type { ClaimDefaults, ClaimedRow, Queries } from '../queries.js';
import type { Registry } from '../registry.js';
import { OutageBackoff, sleep } from '../retry-delay.js';
import { Completer } from './completer.js';
import { type AbortReason, Attempt, type ExecutorDeps } from './executor.js';
import { Heartbeat } from './heartbeat.js';
import type { WorkerHooks } from './hooks.js';
import { JobBuffer } from './job-buffer.js';
import type { Notifier } from './notifier.js';
import type { Settlement } from './settlement.js';

const MAX_CLAIMS_IN_FLIGHT = 2;

export interface WorkerConfig {
  workerId: string;
  concurrency: number;
  /** Jobs claimed ahead of free slots, so a finishing job finds the next one already local. */
  prefetch: number;
  queues: string[] | null;
  claimDefaults: ClaimDefaults;
  maxResultBytes: number;
  random: () => number;
  /** Completed jobs are deleted as they are written (retention of completed jobs is 0). */
  deleteCompleted: boolean;
  /** Progress writes and per-attempt metrics (job management). */
  hooks?: WorkerHooks;
}

/**
 * The fetch loop: claims batches sized to its free slots (plus prefetch) in one statement,
 * runs them up to `concurrency` at a time, and hands outcomes to the Completer.
 */
export class Worker {
  readonly #running = new Map<string, Attempt>();
  readonly #buffer = new JobBuffer();
  /**
   * Every job this worker has claimed whose outcome is not yet written, with the attempt it holds:
   * the heartbeat keeps their leases. Entries are only removed by the attempt they belong to, so a
   * finished stale attempt can never drop the bookkeeping of a newer one of the same job.
   */
  readonly #leases = new Map<string, number>();
  /** Jobs of a serial group: writing their outcome may unblock the group's next job. */
  readonly #serial = new Set<string>();
  readonly #completer: Completer;
  readonly #heartbeat: Heartbeat;
  readonly #stopping = new AbortController();
  readonly #executorDeps: ExecutorDeps;
  #wantFetch = true;
  #mayHaveMore = true;
  /** A check of freed slots is queued (see #onOutcome). */
  #slotCheckQueued = false;
  /** Slots asked for by claims still in flight. */
  #claiming = 0;
  /** After a failed claim: no claim before this time (Date.now() ms). */
  #retryAt = 0;
  #wake: (() => void) | undefined;
  /** Claims on their way; the fetch loop waits for them before it ends. */
  readonly #claims = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly config: WorkerConfig,
    private readonly queries: Queries,
    private readonly registry: Registry,
    private readonly notifier: Notifier,
    private readonly logger: Logger,
  ) {
    this.#completer = new Completer(queries, config.workerId, config.deleteCompleted, logger, (written) => {
      let unblocked = false;
      for (const s of written) {
        this.#release(s.id, s.attempt);
        unblocked = this.#serial.delete(s.id) || unblocked;
      }
      if (unblocked && !this.#stopping.signal.aborted) this.#requestFetch();
    });
    this.#executorDeps = {
      logger,
      random: config.random,
      maxResultBytes: config.maxResultBytes,
      onOutcome: (attempt, settlement) => this.#onOutcome(attempt, settlement),
    };
    const hooks = config.hooks;
    if (hooks) this.#executorDeps.progress = (row, json) => hooks.progress(config.workerId, row, json);
    this.#heartbeat = new Heartbeat(
      queries,
      config.workerId,
      logger,
      () => [...this.#leases],
      (lost) => this.#onLeaseLost(lost),
    );
  }

  /** This worker's id: `locked_by` of the jobs it runs, and its entry in the workers registry. */
  get id(): string {
    return this.config.workerId;
  }

  get capacity(): number {
    return this.config.concurrency + this.config.prefetch;
  }

  async start(): Promise<void> {
    // Claim at once; LISTEN (a new connection) is set up meanwhile. A NOTIFY sent before it is
    // listening is covered by this first claim and by the poll.
    this.#heartbeat.ensureFor(Math.min(...this.config.claimDefaults.visibilityMs));
    this.#loop = this.#fetchLoop();
    await this.notifier.start(
      () => this.#requestFetch(),
      // Only the attempt that was cancelled: after a cancel and a retry the job may be ours again.
      (id, attempt) => {
        if (this.#leases.get(id) === attempt) this.#interrupt(id, 'cancelled');
      },
    );
  }

  /**
   * Stops claiming, returns prefetched jobs to the queue, waits up to `timeoutMs` for running
   * jobs, then aborts the rest and releases them, and writes every outcome it can.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping.abort();
    this.#wake?.();
    await this.#loop;
    await this.notifier.stop();
    await this.#releaseBuffer();
    const deadline = Date.now() + timeoutMs;
    const inFlight = [...this.#running.values()];
    const timeout = new AbortController();
    await Promise.race([Promise.all(inFlight.map((a) => a.done)), sleep(timeoutMs, timeout.signal)]);
    timeout.abort(); // clear the timer: it would keep a stopped process alive
    for (const attempt of inFlight) attempt.interrupt('shutdown');
    // An attempt hands its outcome to the completer (onOutcome) before its `done` resolves.
    await Promise.all(inFlight.map((a) => a.done));
    try {
      await this.#completer.flush(Math.max(5_000, deadline - Date.now()));
    } finally {
      this.#completer.close();
      this.#heartbeat.stop();
    }
  }

  #requestFetch(): void {
    this.#wantFetch = true;
    // With every claim slot taken the loop could not act; the next claim to return wakes it.
    if (this.#claims.size < MAX_CLAIMS_IN_FLIGHT) this.#wake?.();
  }

  /**
   * Keeps up to two claims in flight: while one batch runs, the next is already on its way, so
   * short jobs do not leave the worker idle for a claim's round trip. Slots asked for by a claim
   * in flight count as taken, so the worker never claims more than it can hold.
   */
  async #fetchLoop(): Promise<void> {
    const backoff = new OutageBackoff();
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      const free = this.capacity - this.#running.size - this.#buffer.size - this.#claiming;
      if (!this.#wantFetch || free <= 0 || this.#claims.size >= MAX_CLAIMS_IN_FLIGHT) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const backingOff = this.#retryAt - Date.now();
      if (backingOff > 0) {
        await sleep(backingOff, signal);
        continue;
      }
      this.#wantFetch = false;
      // Half the capacity at most, so that a second claim can be on its way while a batch runs.
      const limit = Math.min(free, Math.ceil(this.capacity / MAX_CLAIMS_IN_FLIGHT));
      this.#claiming += limit;
      const claim = this.#claim(limit, backoff).finally(() => {
        this.#claiming -= limit;
        this.#claims.delete(claim);
        this.#wake?.();
      });
      this.#claims.add(claim);
    }
    await Promise.all(this.#claims);
  }

  /** One claim; on failure it sets the backoff and returns, so its slots are free at once. */
  async #claim(limit: number, backoff: OutageBackoff): Promise<void> {
    try {
      const rows = await this.queries.claim(
        this.config.workerId,
        limit,
        this.config.queues,
        this.config.claimDefaults,
      );
      backoff.reset();
      this.#retryAt = 0;
      this.#mayHaveMore = rows.length === limit;
      if (this.#mayHaveMore) this.#wantFetch = true;
      if (rows.length > 0) this.#accept(rows);
    } catch (error) {
      this.#wantFetch = true;
      // Two claims failing together are one failure: the backoff advances once per wait.
      if (Date.now() >= this.#retryAt) {
        const delay = backoff.next();
        this.#retryAt = Date.now() + delay;
        this.logger.warn({ err: error, retryInMs: delay }, 'claiming jobs failed; retrying');
      }
    }
  }

  #accept(rows: ClaimedRow[]): void {
    // UPDATE … RETURNING does not keep the claim order; restore it.
    rows.sort((a, b) => a.priority - b.priority || a.run_at_ms - b.run_at_ms || Number(a.id) - Number(b.id));
    for (const row of rows) {
      // The same job claimed again: our earlier attempt lost its lease (rescued) without us noticing.
      // #leases holds every job from its claim to its written outcome: one lookup, not a buffer scan.
      if (this.#leases.has(row.id)) this.#interrupt(row.id, 'lease-lost');
      this.#leases.set(row.id, row.attempt);
      if (row.serial_key !== null) this.#serial.add(row.id);
      this.#heartbeat.ensureFor(row.visibility_ms);
    }
    this.#buffer.push(rows);
    if (this.#stopping.signal.aborted) return;
    this.#dispatch();
  }

  #dispatch(): void {
    while (this.#running.size < this.config.concurrency && this.#buffer.size > 0) {
      const row = this.#buffer.take()!;
      const attempt = new Attempt(row, this.registry.get(row.name)!, this.#executorDeps);
      this.#running.set(row.id, attempt);
      attempt.start();
    }
  }

  #onOutcome(attempt: Attempt, settlement: Settlement | null): void {
    const { id, attempt: number } = attempt.row;
    if (this.#running.get(id) === attempt) this.#running.delete(id);
    this.config.hooks?.ended(attempt.row, settlement, attempt.elapsedMs);
    if (settlement) this.#completer.add(settlement);
    else this.#release(id, number);
    // Not synchronously: an interrupt lands here from inside the loops of #accept and #onLeaseLost,
    // which must take every affected row out of the buffer before anything else is dispatched.
    // One check for all the outcomes of a turn, rather than a closure and a microtask per job.
    if (!this.#stopping.signal.aborted && !this.#slotCheckQueued) {
      this.#slotCheckQueued = true;
      queueMicrotask(this.#onSlotsFreed);
    }
  }

  readonly #onSlotsFreed = (): void => {
    this.#slotCheckQueued = false;
    this.#dispatch();
    if (!this.#mayHaveMore) return; // the queue looked empty: wait for a NOTIFY or the poll
    // Refill in batches of a quarter of the capacity rather than one claim per finished job.
    const free = this.capacity - this.#running.size - this.#buffer.size - this.#claiming;
    if (this.#buffer.size === 0 || free >= Math.ceil(this.capacity / 4)) this.#requestFetch();
  };

  #interrupt(id: string, reason: AbortReason): void {
    this.#running.get(id)?.interrupt(reason);
    if (this.#buffer.remove(id)) this.#leases.delete(id);
  }

  /** Forgets a lease, unless a newer attempt of the same job holds it by now. */
  #release(id: string, attempt: number): void {
    if (this.#leases.get(id) === attempt) this.#leases.delete(id);
  }

  /** `lost` holds the attempts the heartbeat asked about; a newer attempt claimed since is kept. */
  #onLeaseLost(lost: [id: string, attempt: number][]): void {
    for (const [id, attempt] of lost) {
      if (this.#leases.get(id) !== attempt) continue;
      if (this.#running.has(id) || this.#buffer.has(id)) {
        this.logger.warn(
          { jobId: id },
          'lost the lease of a job (cancelled or taken back); aborting it here',
        );
        this.#interrupt(id, 'lease-lost');
      }
      this.#leases.delete(id);
    }
  }

  async #releaseBuffer(): Promise<void> {
    const ids = this.#buffer.drain().map((row) => row.id);
    if (ids.length === 0) return;
    try {
      await this.queries.release(this.config.workerId, ids);
    } catch (error) {
      // Not fatal: their leases expire and the rescuer returns them.
      this.logger.warn({ err: error, count: ids.length }, 'could not release prefetched jobs');
    }
    for (const id of ids) this.#leases.delete(id);
  }
}
