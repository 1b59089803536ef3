/**
 * Upper bound of the adaptive prefetch: the rows a worker may hold ahead of its free slots (claims
 * of up to half of it plus the free slots). A memory bound: each held row carries its payload. In
 * smoke runs of a 20,000-job no-op drain on a loaded machine, fixed prefetches of 500, 1,000 and
 * 2,000 were within each other's noise, 2,000 the slowest in two runs of three; 1,000 makes claims
 * of about 500, twice the previous hand-tuned setting's.
 */
export const MAX_AUTO_PREFETCH = 1_000;

/**
 * How far ahead the adaptive prefetch looks, in claim round trips: with two claims in flight and
 * a round trip that varies with load, the jobs held should cover a few of them, or slots wait on
 * the database between batches.
 */
const HORIZON_ROUND_TRIPS = 4;

/** Floor of that horizon, so that a fast LAN round trip does not starve sub-millisecond jobs. */
const MIN_HORIZON_MS = 5;

/**
 * Ceiling of that horizon: however slow the database answers, a worker holds at most about this
 * much work ahead of its slots, so that other workers idle no longer than this for want of it.
 */
const MAX_HORIZON_MS = 100;

/** Weight of each new sample in the moving averages: reacts within a few dozen jobs. */
const ALPHA = 0.1;

/**
 * Decides how many jobs a worker holds ahead of its free slots. With `prefetch` set by the user
 * the answer is that number. Otherwise it is the number of jobs the worker's slots will finish
 * while a few claims travel to the database and back: `concurrency × horizon / job duration`,
 * from moving averages of both, bounded by {@link MAX_AUTO_PREFETCH}. Short jobs drive it to the
 * bound (claims of hundreds, so the database commits once per hundreds of jobs), jobs that take
 * far longer than a round trip drive it to 0 (claims only for free slots, so a worker busy with
 * slow jobs leaves the queue to idle workers).
 */
export class ClaimSizer {
  /** Moving average of a job's run time (start to outcome), ms; unknown until a job finishes. */
  #jobMs: number | undefined;
  /** Moving average of a claim's round trip, ms. */
  #claimMs = 1;
  #prefetch: number;

  constructor(
    private readonly concurrency: number,
    /** The user's `prefetch`, or null for the adaptive one. */
    private readonly fixed: number | null,
  ) {
    // Before any job has finished nothing is known: hold as many ahead as run at once (the
    // previous fixed default), which the first finished jobs correct within milliseconds.
    this.#prefetch = fixed ?? Math.min(concurrency, MAX_AUTO_PREFETCH);
  }

  /** Jobs to hold ahead of free slots right now. */
  get prefetch(): number {
    return this.#prefetch;
  }

  get adaptive(): boolean {
    return this.fixed === null;
  }

  /** A claim came back after `ms` (successful claims only). */
  onClaim(ms: number): void {
    this.#claimMs += ALPHA * (ms - this.#claimMs);
  }

  /** A job ran for `ms`, from its start to its outcome. */
  onJob(ms: number): void {
    this.#jobMs = this.#jobMs === undefined ? ms : this.#jobMs + ALPHA * (ms - this.#jobMs);
  }

  /** Recomputes the prefetch from the averages; cheap, called once per claim. */
  update(): number {
    this.#prefetch = this.prefetchFor(this.concurrency);
    return this.#prefetch;
  }

  /**
   * The jobs to hold ahead of `slots` slots: what they finish while a few claims travel, as for
   * the worker's own (a queue limited to fewer slots than the worker has, a group's limit).
   */
  prefetchFor(slots: number): number {
    if (this.fixed !== null) return Math.floor((this.fixed * slots) / this.concurrency);
    if (this.#jobMs === undefined) return Math.min(slots, MAX_AUTO_PREFETCH);
    const horizon = Math.min(MAX_HORIZON_MS, Math.max(MIN_HORIZON_MS, HORIZON_ROUND_TRIPS * this.#claimMs));
    // A no-op's measured run time can be 0: any positive floor makes the ratio finite.
    const wanted = (slots * horizon) / Math.max(this.#jobMs, 0.001);
    return Math.min(MAX_AUTO_PREFETCH, Math.floor(wanted));
  }
}
