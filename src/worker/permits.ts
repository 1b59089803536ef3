import type { Logger } from 'pino';
import { type ClaimCaps, NO_CAPS, type PermitRequest, type Queries } from '../queries.js';
import { withinNoAnswer } from '../retry-delay.js';

/** How often a worker renews its permits while one of its queues has a concurrency limit. */
const PERMIT_RENEW_MS = 500;

/**
 * How long a renewal holds them: a crashed worker's permits free this long after its last
 * renewal, as its jobs do when the rescuer takes them back.
 */
const PERMIT_LEASE_MS = 5_000;

/**
 * Permits are used until this long before their lease ends, counted from the renewal's send: a
 * worker stops starting jobs before any other can have been granted its permits.
 */
const LEASE_MARGIN_MS = 1_000;

export interface PermitsDeps {
  queries: Queries;
  workerId: string;
  queues: string[] | null;
  concurrency: number;
  logger: Logger;
  /** Whether a queue of this worker has a concurrency limit, as last read (FlowNotifier). */
  hasLimits: () => boolean;
  /** Permits grew, or appeared: buffered jobs may start and claims may take more. */
  onGrowth: () => void;
  /** The queue of every job the worker runs now. */
  runningQueues: () => Iterable<string>;
}

/**
 * This worker's share of its queues' concurrency limits (`take_permits`, sql/0009). A limited
 * queue's jobs start only while the worker runs fewer of them than it holds permits; it may claim
 * more (the prefetch of as many slots as it has permits) and keep them buffered until one frees,
 * so a limit costs no claim round trip per job. Permits are renewed every half second and are
 * used only while their lease, counted from the renewal's send, has not run out: a frozen or
 * disconnected worker stops starting jobs before another can have been granted its permits.
 */
export class Permits {
  /** Permits per limited queue, as of the latest renewal. A queue not here has no limit. */
  #grants = new Map<string, number>();
  /**
   * Running jobs per queue, counted only while the worker has limited queues (a job's start and
   * end cost nothing otherwise), and recounted from the running jobs at each renewal.
   */
  #running = new Map<string, number>();
  /** Until when (performance.now()) the grants may be used. */
  #validUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #renewal: Promise<void> | undefined;
  #stopped = false;
  /** The last renewal failed: further failures are logged at debug level (one every 500 ms). */
  #failing = false;

  constructor(private readonly deps: PermitsDeps) {}

  start(): void {
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), PERMIT_RENEW_MS);
    this.#timer.unref?.();
  }

  /** Stops renewing and gives every permit back. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#renewal;
    if (this.#grants.size === 0) return;
    this.#grants = new Map();
    try {
      await withinNoAnswer(this.deps.queries.releasePermits(this.deps.workerId), 'releasing queue permits');
    } catch (error) {
      // Not fatal: the lease runs out.
      this.deps.logger.warn({ err: error }, 'could not release queue permits');
    }
  }

  /** Whether one more job of `queue` may start now. One map lookup for a queue without a limit. */
  mayStart(queue: string): boolean {
    const grant = this.#grants.get(queue);
    if (grant === undefined) return true;
    return grant > (this.#running.get(queue) ?? 0) && performance.now() < this.#validUntil;
  }

  /** Running jobs of `queue`. */
  runningOf(queue: string): number {
    return this.#running.get(queue) ?? 0;
  }

  started(queue: string): void {
    if (this.#grants.size === 0) return;
    this.#running.set(queue, (this.#running.get(queue) ?? 0) + 1);
  }

  ended(queue: string): void {
    const n = this.#running.get(queue);
    if (n !== undefined) this.#running.set(queue, n - 1);
  }

  /**
   * How many jobs of each limited queue a claim may take now: its permits, plus the prefetch for
   * that many slots (`prefetchFor`), less what it holds (`heldOf`: running, buffered and asked for
   * by claims in flight). Nothing while the permits' lease has run out.
   */
  caps(prefetchFor: (slots: number) => number, heldOf: (queue: string) => number): ClaimCaps {
    if (this.#grants.size === 0) return NO_CAPS;
    const valid = performance.now() < this.#validUntil;
    const caps: ClaimCaps = { queues: [], caps: [] };
    for (const [queue, grant] of this.#grants) {
      const ahead = prefetchFor(grant);
      caps.queues.push(queue);
      caps.caps.push(valid ? Math.max(0, grant + ahead - heldOf(queue)) : 0);
    }
    return caps;
  }

  /** Counts the running jobs per queue afresh (or not at all, without limited queues). */
  #recount(): void {
    this.#running = new Map();
    if (this.#grants.size === 0 && !this.deps.hasLimits()) return;
    for (const queue of this.deps.runningQueues())
      this.#running.set(queue, (this.#running.get(queue) ?? 0) + 1);
  }

  #tick(): void {
    if (this.#stopped || this.#renewal) return;
    if (this.#grants.size === 0 && !this.deps.hasLimits()) return;
    this.#renewal = this.#renew().finally(() => {
      this.#renewal = undefined;
    });
  }

  async #renew(): Promise<void> {
    const { queries, workerId, queues, concurrency, logger } = this.deps;
    this.#recount();
    // Until the answer comes, this worker may start jobs up to its current permits: others must
    // leave it that many (or its running jobs, if more), so a shrink lands in two renewals.
    const request: PermitRequest = { want: concurrency, known: [], occupied: [], leaseMs: PERMIT_LEASE_MS };
    for (const queue of new Set([...this.#grants.keys(), ...this.#running.keys()])) {
      request.known.push(queue);
      request.occupied.push(Math.max(this.#grants.get(queue) ?? 0, this.#running.get(queue) ?? 0));
    }
    const sent = performance.now();
    try {
      const rows = await withinNoAnswer(
        queries.takePermits(workerId, queues, request),
        'renewing queue permits',
      );
      if (this.#stopped) return;
      const lapsed = performance.now() >= this.#validUntil;
      const before = this.#grants;
      this.#grants = new Map(rows.map((row) => [row.queue, row.permits]));
      this.#validUntil = sent + PERMIT_LEASE_MS - LEASE_MARGIN_MS;
      this.#recount();
      const grew =
        lapsed ||
        rows.some((row) => row.permits > (before.get(row.queue) ?? 0)) ||
        [...before.keys()].some((queue) => !this.#grants.has(queue));
      this.#failing = false;
      if (grew) this.deps.onGrowth();
    } catch (error) {
      const message = 'renewing queue permits failed; retrying every 500 ms';
      if (this.#failing) logger.debug({ err: error }, message);
      else logger.warn({ err: error }, message);
      this.#failing = true;
    }
  }
}
