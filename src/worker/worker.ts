import type { Logger } from 'pino';
import type { ClaimedRow, Queries } from '../queries.js';
import type { Registry } from '../registry.js';
import { OutageBackoff, sleep } from '../retry-delay.js';
import { ClaimSizer } from './claim-sizer.js';
import { type ClaimAlong, Completer } from './completer.js';
import type { WorkerConfig } from './config.js';
import { type AbortReason, Attempt, type ExecutorDeps } from './executor.js';
import { Heartbeat } from './heartbeat.js';
import { Leases } from './leases.js';
import type { Notifier } from './notifier.js';
import { Prefetched } from './prefetched.js';
import type { Settlement } from './settlement.js';

const MAX_CLAIMS_IN_FLIGHT = 2;

/**
 * The fetch loop: claims batches sized to its free slots (plus prefetch) in one statement,
 * runs them up to `concurrency` at a time, and hands outcomes to the Completer.
 */
export class Worker {
  readonly #running = new Map<string, Attempt>();
  readonly #prefetched: Prefetched;
  readonly #leases = new Leases();
  readonly #sizer: ClaimSizer;
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
    this.#completer = new Completer(
      queries,
      config.workerId,
      config.deleteCompleted,
      logger,
      (written, claimedAlong) => {
        const unblocked = this.#leases.written(written);
        if (unblocked && !claimedAlong && !this.#stopping.signal.aborted) this.#requestFetch();
      },
      (batch) => this.#claimAlong(batch),
    );
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
      () => this.#leases.rows(),
      (lost) => this.#onLeaseLost(lost),
    );
    this.#sizer = new ClaimSizer(config.concurrency, config.prefetch);
    this.#prefetched = new Prefetched({
      queries,
      workerId: config.workerId,
      logger,
      sizer: this.#sizer,
      heartbeat: this.#heartbeat,
      recheckMs: config.recheckMs,
      isCurrent: (row) => this.#leases.get(row.id) === row,
      forget: (row) => this.#leases.release(row.id, row.claimed_at),
    });
  }

  get #buffer() {
    return this.#prefetched.buffer;
  }

  /** This worker's id: `locked_by` of the jobs it runs, and its entry in the workers registry. */
  get id(): string {
    return this.config.workerId;
  }

  get capacity(): number {
    return this.config.concurrency + this.#sizer.prefetch;
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
        if (this.#leases.get(id)?.attempt === attempt) this.#interrupt(id, 'cancelled');
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
    await this.#prefetched.giveBack(this.#buffer.drain());
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
      // Jobs claimed along with the last outcomes written.
      await this.#prefetched.giveBack(this.#buffer.drain());
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
      const free = this.#claimable();
      if (!this.#wantFetch || free === 0 || this.#claims.size >= MAX_CLAIMS_IN_FLIGHT) {
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
      const sent = performance.now();
      const rows = await this.queries.claim(
        this.config.workerId,
        limit,
        this.config.queues,
        this.config.claimDefaults,
      );
      backoff.reset();
      this.#claimed(rows, limit, performance.now() - sent);
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

  #claimed(rows: ClaimedRow[], limit: number, ms: number): void {
    this.#sizer.onClaim(ms);
    this.#sizer.update();
    this.#retryAt = 0;
    this.#mayHaveMore = rows.length === limit;
    if (this.#mayHaveMore) this.#wantFetch = true;
    if (rows.length > 0) this.#accept(rows);
  }

  /**
   * When outcomes about to be written free room in a limit (a limited queue, a group, a key), the
   * next claim goes in the same statement: it sees the room at once, and the worker pays one round
   * trip and one commit per cycle instead of a settle and then a claim. Other outcomes are written
   * alone, in parallel with the fetch loop's claims.
   */
  #claimAlong(batch: readonly { id: string; claimedAt: string }[]): ClaimAlong | null {
    if (this.#stopping.signal.aborted || !this.#leases.unblocks(batch)) return null;
    const free = this.#claimable();
    if (free === 0) return null;
    const limit = Math.min(free, Math.ceil(this.capacity / MAX_CLAIMS_IN_FLIGHT));
    this.#claiming += limit;
    const sent = performance.now();
    return {
      limit,
      queues: this.config.queues,
      defaults: this.config.claimDefaults,
      done: (rows) => {
        this.#claiming -= limit;
        // While stopping, #accept keeps the rows in the buffer for stop() to give back.
        if (rows === null) this.#wantFetch = true;
        else this.#claimed(rows, limit, performance.now() - sent);
        this.#wake?.();
      },
    };
  }

  #accept(rows: ClaimedRow[]): void {
    // UPDATE … RETURNING does not keep the claim order; restore it.
    rows.sort((a, b) => a.priority - b.priority || a.run_at_ms - b.run_at_ms || Number(a.id) - Number(b.id));
    for (const row of rows) {
      // The same job claimed again: our earlier attempt lost its lease (rescued) without us noticing.
      // #leases holds every job from its claim to its written outcome: one lookup, not a buffer scan.
      if (this.#leases.get(row.id)) this.#interrupt(row.id, 'lease-lost');
      this.#leases.hold(row);
      this.#heartbeat.ensureFor(row.visibility_ms);
    }
    this.#buffer.push(rows, performance.now());
    if (this.#stopping.signal.aborted) return;
    this.#dispatch();
  }

  #dispatch(): void {
    if (this.#buffer.size === 0 || this.#running.size >= this.config.concurrency) return;
    if (!this.#prefetched.mayStart(this.#resume)) return;
    const paused: ClaimedRow[] = [];
    while (this.#running.size < this.config.concurrency && this.#buffer.size > 0) {
      const row = this.#buffer.take()!;
      // Claimed before its queue was paused: back to the queue, unstarted, attempt unused.
      if (this.config.isPaused?.(row.queue)) {
        paused.push(row);
        continue;
      }
      const attempt = new Attempt(row, this.registry.get(row.name)!, this.#executorDeps);
      this.#running.set(row.id, attempt);
      attempt.start();
    }
    if (paused.length > 0) void this.#prefetched.giveBack(paused);
  }

  readonly #resume = (): void => {
    if (!this.#stopping.signal.aborted) this.#dispatch();
  };

  #onOutcome(attempt: Attempt, settlement: Settlement | null): void {
    const { id, claimed_at: claimedAt } = attempt.row;
    if (this.#sizer.adaptive) this.#sizer.onJob(performance.now() - attempt.startedAt);
    if (this.#running.get(id) === attempt) this.#running.delete(id);
    this.config.hooks?.ended(attempt.row, settlement, attempt.elapsedMs);
    if (settlement) this.#completer.add(settlement);
    else this.#leases.release(id, claimedAt);
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
    // Unless the queue looked empty (then a NOTIFY or the poll wakes the loop).
    if (this.#mayHaveMore && this.#claimable() > 0) this.#requestFetch();
  };

  /**
   * Free slots worth a claim now. While the buffer still holds work, only a quarter of the
   * capacity or more: a claim of a few rows costs a round trip and a commit like one of hundreds,
   * and it would take one of the two claims in flight from a full-size one.
   */
  #claimable(): number {
    const free = this.capacity - this.#running.size - this.#buffer.size - this.#claiming;
    if (free <= 0) return 0;
    return this.#buffer.size === 0 || free >= Math.ceil(this.capacity / 4) ? free : 0;
  }

  #interrupt(id: string, reason: AbortReason): void {
    this.#running.get(id)?.interrupt(reason);
    if (this.#buffer.remove(id)) this.#leases.delete(id);
  }

  /** `lost` holds the claims the heartbeat asked about; a newer claim of the same job is kept. */
  #onLeaseLost(lost: ClaimedRow[]): void {
    for (const row of lost) {
      if (this.#leases.get(row.id) !== row) continue;
      if (this.#running.has(row.id) || this.#buffer.has(row.id)) {
        this.logger.warn({ jobId: row.id }, 'lost the lease of a job (cancelled or taken back); aborting it');
        this.#interrupt(row.id, 'lease-lost');
      }
      this.#leases.delete(row.id);
    }
  }
}
