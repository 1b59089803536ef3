import type { Logger } from 'pino';
import type { ClaimCaps, ClaimDefaults, ClaimedRow, Queries } from '../queries.js';
import { NO_ANSWER_MS, OutageBackoff, sleep, withinNoAnswer } from '../retry-delay.js';
import type { ClaimSizer } from './claim-sizer.js';
import type { ClaimAlong } from './completer.js';
import type { Permits } from './permits.js';

const MAX_CLAIMS_IN_FLIGHT = 2;

/**
 * The most jobs a worker claims ahead of a limited group's free slots (while it runs the group's
 * jobs alone): enough to start the next job of the group as soon as one ends, without a round
 * trip, and few enough that other workers find the group free again soon after it idles.
 */
const MAX_GROUP_AHEAD = 20;

/** What the fetcher needs from its worker. */
export interface FetcherDeps {
  queries: Queries;
  workerId: string;
  queues: string[] | null;
  defaults: ClaimDefaults;
  concurrency: number;
  sizer: ClaimSizer;
  logger: Logger;
  /** The worker is stopping: no new claims. */
  stopping: AbortSignal;
  /** Jobs the worker holds: running plus buffered. */
  held(): number;
  /** Jobs waiting in the buffer for a slot. */
  buffered(): number;
  /** Jobs of one queue the worker holds: running plus buffered. */
  heldOf(queue: string): number;
  /** The worker's share of its queues' concurrency limits: each claim's caps. */
  permits: Permits;
  /** Takes claimed rows (in any order) from a claim sent at `sentAt` (performance.now()). */
  accept(rows: ClaimedRow[], sentAt: number): void;
}

/**
 * Decides when to claim and how many: claims sized to the worker's free slots plus prefetch, up
 * to two in flight, each taking a share of the slots so that the worker never holds more than its
 * capacity; after a failure it backs off; an empty or short claim waits for a wake-up (NOTIFY,
 * poll, or an outcome that frees room in a limit).
 */
export class Fetcher {
  #wantFetch = true;
  #mayHaveMore = true;
  /** Limited queues whose last claim with room took all it could: they may hold more. */
  readonly #cappedMore = new Set<string>();
  /** Slots asked for by claims still in flight. */
  #claiming = 0;
  /** Of those, per limited queue: its caps in flight. */
  readonly #claimingOf = new Map<string, number>();
  /** After a failed claim: no claim before this time (Date.now() ms). */
  #retryAt = 0;
  #wake: (() => void) | undefined;
  /** Claims on their way; the loop waits for them before it ends. */
  readonly #claims = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;

  constructor(private readonly deps: FetcherDeps) {}

  /** Jobs the worker may hold: its slots plus the prefetch. */
  get capacity(): number {
    return this.deps.concurrency + this.deps.sizer.prefetch;
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** Resolves once the loop and every claim in flight have ended (call after `stopping` aborts). */
  async stopped(): Promise<void> {
    this.#wake?.();
    await this.#loop;
  }

  /** Something may be claimable now (a NOTIFY, a poll, an outcome that freed room in a limit). */
  request(): void {
    this.#wantFetch = true;
    // With every claim slot taken the loop could not act; the next claim to return wakes it.
    if (this.#claims.size < MAX_CLAIMS_IN_FLIGHT) this.#wake?.();
  }

  /** Slots were freed: claim again, unless the queue looked empty (a NOTIFY or the poll wakes it). */
  onSlotsFreed(): void {
    if ((this.#mayHaveMore || this.#cappedMore.size > 0) && this.#claimable() > 0) this.request();
  }

  /**
   * A claim to send with outcomes that free room in a limit (a limited queue or a group): it
   * sees that room at once, and the cycle costs one round trip and one commit instead of a settle
   * and then a claim. Null when no slot is free, or while claims come back full: then the fetch
   * loop is claiming anyway, and a third claim beside its two would only contend with them (a
   * drain of keyed jobs in an unlimited queue was 7–10% slower with it).
   */
  along(): ClaimAlong | null {
    if (this.#mayHaveMore) return null;
    const free = this.#claimable();
    if (free === 0) return null;
    const limit = Math.min(free, Math.ceil(this.capacity / MAX_CLAIMS_IN_FLIGHT));
    const caps = this.#reserve(limit);
    const sent = performance.now();
    return {
      limit,
      queues: this.deps.queues,
      defaults: this.deps.defaults,
      caps,
      groupAhead: this.#groupAhead(),
      late: (rows) => this.#late(rows, sent),
      done: (rows) => {
        this.#unreserve(limit, caps);
        // While stopping, the worker keeps the rows in its buffer for stop() to give back.
        if (rows === null) this.#wantFetch = true;
        else this.#claimed(rows, limit, caps, sent);
        this.#wake?.();
      },
    };
  }

  /**
   * Keeps up to two claims in flight: while one batch runs, the next is already on its way, so
   * short jobs do not leave the worker idle for a claim's round trip. Slots asked for by a claim
   * in flight count as taken, so the worker never claims more than it can hold.
   */
  async #run(): Promise<void> {
    const backoff = new OutageBackoff();
    const signal = this.deps.stopping;
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
      const caps = this.#reserve(limit);
      const claim = this.#claim(limit, caps, backoff).finally(() => {
        this.#unreserve(limit, caps);
        this.#claims.delete(claim);
        this.#wake?.();
      });
      this.#claims.add(claim);
    }
    await Promise.all(this.#claims);
  }

  /**
   * One claim; on failure it sets the backoff and returns, so its slots are free at once. A claim
   * left without an answer stops holding slots; if it is answered after all, the jobs still ours
   * are taken.
   */
  async #claim(limit: number, caps: ClaimCaps, backoff: OutageBackoff): Promise<void> {
    const { queries, workerId, queues, defaults, logger } = this.deps;
    const sent = performance.now();
    try {
      const claim = queries.claim(workerId, limit, queues, defaults, caps, this.#groupAhead());
      const rows = await withinNoAnswer(claim, 'claiming jobs', NO_ANSWER_MS, (late) =>
        this.#late(late, sent),
      );
      backoff.reset();
      this.#claimed(rows, limit, caps, sent);
    } catch (error) {
      this.#wantFetch = true;
      // Two claims failing together are one failure: the backoff advances once per wait.
      if (Date.now() >= this.#retryAt) {
        const delay = backoff.next();
        this.#retryAt = Date.now() + delay;
        logger.warn({ err: error, retryInMs: delay }, 'claiming jobs failed; retrying');
      }
    }
  }

  /**
   * Jobs of a claim answered after the worker stopped waiting for it. The worker confirms they are
   * still its own before it runs them (their leases may have run out meanwhile: see Worker#accept).
   */
  #late(rows: ClaimedRow[], sent: number): void {
    if (rows.length > 0) this.deps.accept(rows, sent);
  }

  #claimed(rows: ClaimedRow[], limit: number, caps: ClaimCaps, sent: number): void {
    this.deps.sizer.onClaim(performance.now() - sent);
    this.deps.sizer.update();
    this.#retryAt = 0;
    this.#mayHaveMore = rows.length === limit;
    // A limited queue that filled its cap may have more once its jobs end; one that did not is
    // drained for now. A queue claimed without room tells nothing.
    let capFilled = false;
    for (let i = 0; i < caps.queues.length; i++) {
      if (caps.caps[i] === 0) continue;
      const queue = caps.queues[i]!;
      let n = 0;
      for (const row of rows) if (row.queue === queue) n++;
      if (n === caps.caps[i]) {
        this.#cappedMore.add(queue);
        capFilled = true;
      } else this.#cappedMore.delete(queue);
    }
    if (this.#mayHaveMore || capFilled) this.#wantFetch = true;
    if (rows.length > 0) this.deps.accept(rows, sent);
  }

  /**
   * Jobs of a limited group to claim ahead of its free slots: the prefetch of one slot, so that
   * short jobs of a group follow one another without a claim between them and long ones are not
   * held.
   */
  #groupAhead(): number {
    return Math.min(MAX_GROUP_AHEAD, this.deps.sizer.prefetchFor(1));
  }

  /** Counts a claim's slots and caps as taken until it ends; returns its caps. */
  #reserve(limit: number): ClaimCaps {
    const caps = this.deps.permits.caps(
      (slots) => this.deps.sizer.prefetchFor(slots),
      (queue) => this.deps.heldOf(queue) + (this.#claimingOf.get(queue) ?? 0),
    );
    this.#claiming += limit;
    for (let i = 0; i < caps.queues.length; i++) {
      const queue = caps.queues[i]!;
      this.#claimingOf.set(queue, (this.#claimingOf.get(queue) ?? 0) + caps.caps[i]!);
    }
    return caps;
  }

  #unreserve(limit: number, caps: ClaimCaps): void {
    this.#claiming -= limit;
    for (let i = 0; i < caps.queues.length; i++) {
      const queue = caps.queues[i]!;
      this.#claimingOf.set(queue, this.#claimingOf.get(queue)! - caps.caps[i]!);
    }
  }

  /**
   * Free slots worth a claim now. While the buffer still holds work, only a quarter of the
   * capacity or more: a claim of a few rows costs a round trip and a commit like one of hundreds,
   * and it would take one of the two claims in flight from a full-size one.
   */
  #claimable(): number {
    const free = this.capacity - this.deps.held() - this.#claiming;
    if (free <= 0) return 0;
    return this.deps.buffered() === 0 || free >= Math.ceil(this.capacity / 4) ? free : 0;
  }
}
