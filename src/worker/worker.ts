import type { Logger } from 'pino';
import type { ClaimedRow, Queries } from '../queries.js';
import type { Registry } from '../registry.js';
import { sleep } from '../retry-delay.js';
import { ClaimSizer } from './claim-sizer.js';
import { Completer } from './completer.js';
import type { WorkerConfig } from './config.js';
import { type AbortReason, Attempt, type ExecutorDeps } from './executor.js';
import { Fetcher } from './fetcher.js';
import { GroupSlots } from './group-slots.js';
import { Heartbeat } from './heartbeat.js';
import { Leases } from './leases.js';
import type { Notifier } from './notifier.js';
import { Permits } from './permits.js';
import { Prefetched } from './prefetched.js';
import type { Settlement } from './settlement.js';

/**
 * Runs claimed jobs up to `concurrency` at a time: the Fetcher claims them, the buffer holds those
 * claimed ahead, the heartbeat keeps their leases, and the Completer writes their outcomes.
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
  readonly #fetcher: Fetcher;
  readonly #permits: Permits;
  readonly #groups = new GroupSlots();
  /** A check of freed slots is queued (see #onOutcome). */
  #slotCheckQueued = false;

  constructor(
    private readonly config: WorkerConfig,
    queries: Queries,
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
        if (unblocked && !claimedAlong && !this.#stopping.signal.aborted) this.#fetcher.request();
      },
      // Outcomes that free room in a limit carry the next claim (see Fetcher.along).
      (batch) =>
        this.#stopping.signal.aborted || !this.#leases.freesLimit(batch) ? null : this.#fetcher.along(),
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
    this.#permits = new Permits({
      queries,
      workerId: config.workerId,
      queues: config.queues,
      concurrency: config.concurrency,
      logger,
      hasLimits: config.hasLimits ?? (() => false),
      runningQueues: () => [...this.#running.values()].map((attempt) => attempt.row.queue),
      onGrowth: () => {
        if (this.#stopping.signal.aborted) return;
        this.#dispatch();
        this.#fetcher.request();
      },
    });
    this.#fetcher = new Fetcher({
      queries,
      workerId: config.workerId,
      queues: config.queues,
      defaults: config.claimDefaults,
      concurrency: config.concurrency,
      sizer: this.#sizer,
      logger,
      stopping: this.#stopping.signal,
      held: () => this.#running.size + this.#buffer.size,
      buffered: () => this.#buffer.size,
      heldOf: (queue) => this.#permits.runningOf(queue) + this.#buffer.sizeOf(queue),
      permits: this.#permits,
      accept: (rows, sentAt) => this.#accept(rows, sentAt),
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
    return this.#fetcher.capacity;
  }

  async start(): Promise<void> {
    // Claim at once; LISTEN (a new connection) is set up meanwhile. A NOTIFY sent before it is
    // listening is covered by this first claim and by the poll.
    this.#heartbeat.ensureFor(Math.min(...this.config.claimDefaults.visibilityMs));
    this.#fetcher.start();
    await this.notifier.start(
      () => this.#fetcher.request(),
      // Only the attempt that was cancelled: after a cancel and a retry the job may be ours again.
      (id, attempt) => {
        if (this.#leases.get(id)?.attempt === attempt) this.#interrupt(id, 'cancelled');
      },
    );
    this.#permits.start();
  }

  /**
   * Stops claiming, returns prefetched jobs to the queue, waits up to `timeoutMs` for running
   * jobs, then aborts the rest and releases them, and writes every outcome it can.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopping.abort();
    await this.#fetcher.stopped();
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
      await this.#permits.stop();
    }
  }

  /**
   * Takes the rows of a claim sent at `sentAt`. A claim answered slowly (later than the buffer's
   * recheck interval, or after the worker stopped waiting for it) may hold jobs whose leases ran
   * out meanwhile and that another worker now runs: those rows are confirmed first, and only the
   * ones still ours are taken; a row that a newer claim of ours holds is left to it.
   */
  #accept(rows: ClaimedRow[], sentAt: number): void {
    if (performance.now() - sentAt <= this.config.recheckMs) {
      this.#take(rows);
      return;
    }
    const fresh = rows.filter((row) => !this.#leases.get(row.id));
    if (fresh.length === 0) return;
    this.#heartbeat.confirm(fresh.map((row) => row.id)).then(
      (kept) => this.#take(fresh.filter((row) => kept.has(row.id))),
      // Unconfirmed: not started; their leases run out and the rescuer returns them.
      (error) =>
        this.logger.warn(
          { err: error, count: fresh.length },
          'could not confirm a slow claim; leaving its jobs',
        ),
    );
  }

  #take(rows: ClaimedRow[]): void {
    if (rows.length === 0) return;
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
    while (this.#running.size < this.config.concurrency) {
      // A queue or group at its limit keeps its jobs buffered until one of its own ends.
      const row = this.#buffer.take(this.#mayStart);
      if (!row) break;
      // Claimed before its queue was paused: back to the queue, unstarted, attempt unused.
      if (this.config.isPaused?.(row.queue)) {
        paused.push(row);
        continue;
      }
      const attempt = new Attempt(row, this.registry.get(row.name)!, this.#executorDeps);
      this.#running.set(row.id, attempt);
      this.#permits.started(row.queue);
      this.#groups.started(row);
      attempt.start();
    }
    if (paused.length > 0) void this.#prefetched.giveBack(paused);
  }

  readonly #mayStart = (row: ClaimedRow): boolean =>
    this.#permits.mayStart(row.queue) && this.#groups.mayStart(row);

  readonly #resume = (): void => {
    if (!this.#stopping.signal.aborted) this.#dispatch();
  };

  #onOutcome(attempt: Attempt, settlement: Settlement | null): void {
    const { id, claimed_at: claimedAt } = attempt.row;
    if (this.#sizer.adaptive) this.#sizer.onJob(performance.now() - attempt.startedAt);
    if (this.#running.get(id) === attempt) this.#running.delete(id);
    this.#permits.ended(attempt.row.queue);
    this.#groups.ended(attempt.row);
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
    this.#fetcher.onSlotsFreed();
  };

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
