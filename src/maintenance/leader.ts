import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { v4 as uuidv4 } from 'uuid';
import { sleep } from '../retry-delay.js';
import { createLeaseQueries, type LeaseAttempt } from './lease-queries.js';

/** A leader-only background duty. Duties must be idempotent: two leaders may briefly overlap. */
export interface Duty {
  readonly name: string;
  /** Runs one pass; returns the ms until it wants to run again (the leader caps it at its tick). */
  runOnce(): Promise<number | undefined>;
}

export interface LeaderOptions {
  /**
   * A leader that stops renewing (dead, frozen, cut off) has been replaced this long after it
   * stopped, at the latest: the lease lasts `timeoutMs` − 2 ticks − 200 ms from its last renewal, and
   * followers try again the moment it ends.
   */
  timeoutMs: number;
  /** Renewal (leader) and takeover attempts (followers) happen this often. Default 1 s, at most a fifth of the timeout. */
  tickMs?: number;
  /**
   * The client the lease statements run on. Give it one long-lived connection of its own and set
   * `session`: the lease then records that connection's server process, and followers take over
   * as soon as it is gone (the leader was killed) instead of waiting for the lease to expire.
   * Default: the duties' client, without `session`.
   */
  leaseSql?: Sql;
  /** Whether `leaseSql` is a real session (not a transaction pooler's shared connection). */
  session?: boolean;
}

/**
 * Elects one leader per schema with a lease row that expires on the database clock (see
 * sql/0005_leader_lease.sql for why not an advisory lock). Two loops:
 * - the lease loop renews the lease every tick while leading, and tries to take it every tick
 *   otherwise. Validity is tracked on the monotonic clock from the moment a renewal was *sent*,
 *   which is never later than the moment the server extended the lease: this process stops
 *   calling itself leader no later than the lease expires for everyone else.
 * - the duty loop runs each due duty only while the lease is valid, checked right before each
 *   duty. A process frozen past its lease (SIGSTOP, GC pause) wakes with a stale lease and runs
 *   nothing until a renewal has succeeded; if someone else took over meanwhile, that renewal
 *   fails and it stays a follower.
 */
export class Leader {
  readonly #holder = `${hostname()}:${process.pid}:${uuidv4().slice(0, 8)}`;
  readonly #lease;
  readonly #leaseMs: number;
  readonly #tickMs: number;
  readonly #session: boolean;
  /** performance.now() until which this process holds the lease; 0 when it does not. */
  #validUntil = 0;
  #loops: Promise<unknown> | undefined;
  readonly #stopping = new AbortController();
  readonly #nextRun = new Map<string, number>();
  /** Aborted to cut the duty loop's current wait short (see wake()). */
  #wakeUp = new AbortController();
  /** Duties woken since their current run began: they run again at once. */
  readonly #woken = new Set<string>();

  constructor(
    sql: Sql,
    private readonly schema: string,
    private readonly duties: Duty[],
    private readonly logger: Logger,
    options: LeaderOptions,
  ) {
    this.#lease = createLeaseQueries(options.leaseSql ?? sql, schema);
    this.#session = options.session ?? false;
    this.#tickMs = Math.min(options.tickMs ?? 1_000, Math.floor(options.timeoutMs / 5));
    // A freeze right after a renewal still ends within the timeout, counting the follower's
    // statement, its first duty, and a tick's worth of a loaded machine's delays.
    this.#leaseMs = options.timeoutMs - 2 * this.#tickMs - 200;
  }

  /** Whether this process holds a lease that has not expired by its own monotonic clock. */
  get isLeader(): boolean {
    return performance.now() < this.#validUntil;
  }

  start(): void {
    this.#stopping.signal.addEventListener('abort', () => this.#wakeUp.abort(), { once: true });
    this.#loops = Promise.all([this.#leaseLoop(), this.#dutyLoop()]);
  }

  /**
   * Makes `duty` due now and ends the current wait, e.g. because a schedule was just created and
   * may fire before the duty's own next run. A wake during the duty's run makes it run again.
   */
  wake(duty: string): void {
    this.#nextRun.delete(duty);
    this.#woken.add(duty);
    this.#wakeUp.abort();
  }

  /** Stops both loops and hands the lease back, so that a follower takes over at its next tick. */
  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loops;
    if (this.#validUntil === 0) return;
    this.#validUntil = 0;
    await this.#lease.release(this.#holder).catch((error) => {
      this.logger.warn({ err: error }, 'could not release the leader lease; it expires on its own');
    });
  }

  /** One renewal (or takeover attempt) and, while leading, one pass over due duties. */
  async tick(): Promise<void> {
    await this.#renew();
    await this.#runDueDuties();
  }

  /** Renews or takes the lease; returns whether this process leads, and when a follower should try again. */
  async #renew(): Promise<{ leads: boolean; retryInMs: number }> {
    const sentAt = performance.now();
    const wasLeader = this.#validUntil > 0;
    let attempt: LeaseAttempt;
    try {
      attempt = await this.#lease.acquireOrRenew(this.#holder, this.#leaseMs, this.#session);
    } catch (error) {
      // Unknown whether it was renewed: keep the deadline we had, which runs out on its own.
      this.logger.warn({ err: error, schema: this.schema }, 'leader lease renewal failed; retrying');
      return { leads: this.isLeader, retryInMs: this.#tickMs };
    }
    if (this.#stopping.signal.aborted) return { leads: false, retryInMs: this.#tickMs };
    const grant = attempt.granted;
    if (!grant) {
      if (wasLeader) this.logger.warn({ schema: this.schema }, 'leader lease lost to another process');
      this.#validUntil = 0;
      const remaining = 'remainingMs' in attempt ? attempt.remainingMs : this.#tickMs;
      return { leads: false, retryInMs: Math.max(5, Math.min(this.#tickMs, remaining + 5)) };
    }
    // Keep a tenth (at least 100 ms) in hand for the time a duty's statement takes to arrive.
    this.#validUntil = sentAt + this.#leaseMs - Math.max(100, this.#leaseMs / 10);
    if (grant.takeover || !wasLeader) {
      this.#nextRun.clear();
      this.logger.info({ schema: this.schema, holder: this.#holder, term: grant.term }, 'became leader');
      this.#wakeUp.abort();
    }
    return { leads: this.isLeader, retryInMs: this.#tickMs };
  }

  async #runDueDuties(): Promise<void> {
    for (const duty of this.duties) {
      if ((this.#nextRun.get(duty.name) ?? 0) > Date.now()) continue;
      // Re-verified right before each duty: a freeze between two duties is caught here.
      if (!this.isLeader && !(await this.#renew()).leads) return;
      if (this.#stopping.signal.aborted) return;
      try {
        this.#woken.delete(duty.name);
        this.logger.debug({ duty: duty.name }, 'leader duty starting');
        const wait = await duty.runOnce();
        this.#nextRun.set(duty.name, this.#woken.has(duty.name) ? 0 : Date.now() + (wait ?? 0));
      } catch (error) {
        // Not at once: a duty that keeps failing would otherwise spin every few ms.
        this.#nextRun.set(duty.name, Date.now() + this.#tickMs);
        this.logger.warn({ err: error, duty: duty.name }, 'leader duty failed; will retry');
      }
    }
  }

  /** Ms until the earliest duty wants to run, capped at the tick. */
  #untilNext(): number {
    const earliest = Math.min(...this.#nextRun.values(), Date.now() + this.#tickMs);
    return Math.max(5, Math.min(this.#tickMs, earliest - Date.now()));
  }

  async #leaseLoop(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      const { retryInMs } = await this.#renew();
      await sleep(retryInMs, this.#stopping.signal);
    }
  }

  async #dutyLoop(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      // A wake that arrives during the pass below cuts the following wait short.
      if (this.#wakeUp.signal.aborted) this.#wakeUp = new AbortController();
      if (this.isLeader) await this.#runDueDuties();
      await sleep(this.isLeader ? this.#untilNext() : this.#tickMs, this.#wakeUp.signal);
    }
  }
}
