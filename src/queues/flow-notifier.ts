import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { pgArray } from '../pg-array.js';
import { Notifier, type NotifierOptions } from '../worker/notifier.js';

/** The finest re-poll for rate-limited queues: a claim per worker at most this often while idle. */
const MIN_RATE_POLL_MS = 20;

/**
 * The worker's notifier, plus what the worker needs to know of its queues' policies:
 *
 * - A finer poll while one of its queues has a rate limit. A rate limit's window frees up at a
 *   moment no NOTIFY announces; waiting for the regular poll (1 s by default) would start each
 *   window late and lose throughput. While such a queue exists, the worker is woken every
 *   `period / limit` (at least 20 ms, at most the poll interval).
 * - Whether one of its queues has a concurrency limit: the worker then renews its permits.
 * - Which queues are paused, so that jobs claimed into the prefetch buffer before a pause do not
 *   start after it (`isPaused`). Claims already skip paused queues in the database.
 *
 * Both are read in one small query per poll interval, and at once when a policy changes (NOTIFY on
 * `<schema>.queues`, sent by setQueue, pauseQueue and resumeQueue).
 */
export class FlowNotifier extends Notifier {
  #checkTimer: NodeJS.Timeout | undefined;
  #fastTimer: NodeJS.Timeout | undefined;
  #fastMs = 0;
  #paused = new Set<string>();
  #limited = false;
  #stopped = false;
  #unlisten: (() => Promise<unknown>) | undefined;

  constructor(
    private readonly db: Sql,
    private readonly listenSql: Sql | null,
    private readonly schema: string,
    private readonly queues: string[] | null,
    channels: { jobs: string; cancel: string },
    private readonly opts: NotifierOptions,
    private readonly log: Logger,
  ) {
    super(listenSql, channels, opts, log);
  }

  /** Whether one of the worker's queues had a concurrency limit at the latest read (see Permits). */
  hasLimits(): boolean {
    return this.#limited;
  }

  /** Whether `queue` was paused at the latest read (a poll interval ago at most, or its NOTIFY). */
  isPaused(queue: string): boolean {
    return this.#paused.size > 0 && this.#paused.has(queue);
  }

  override async start(
    onWake: () => void,
    onCancel: (jobId: string, attempt: number) => void,
  ): Promise<void> {
    const check = () => this.#read(onWake);
    this.#checkTimer = setInterval(check, this.opts.pollIntervalMs);
    this.#checkTimer.unref?.();
    await check();
    if (this.listenSql) {
      try {
        const listener = await this.listenSql.listen(`${this.schema}.queues`, () => void check());
        this.#unlisten = () => listener.unlisten();
      } catch (error) {
        this.log.warn({ err: error }, 'LISTEN for queue policy changes failed; reading them every poll');
      }
    }
    await super.start(onWake, onCancel);
  }

  override async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#checkTimer);
    clearInterval(this.#fastTimer);
    await this.#unlisten?.().catch(() => {});
    await super.stop();
  }

  async #read(onWake: () => void): Promise<void> {
    try {
      const queues = this.queues;
      // Paused names joined by ',' (no queue name holds one): the worker's connections do not fetch
      // array types, so a text[] would arrive as its literal.
      const [row] = await this.db<{ ms: number | null; paused: string | null; limited: boolean | null }[]>`
        select min(least(rate_period_ms::float8 / rate_limit, group_rate_period_ms::float8 / group_rate_limit))
                 filter (where not paused) as ms,
               string_agg(name, ',') filter (where paused) as paused,
               bool_or(concurrency is not null) as limited
        from ${this.db(this.schema)}.queues
        where ${queues === null ? this.db`true` : this.db`name = any(${pgArray(queues)}::text[])`}`;
      if (this.#stopped || !row) return;
      const before = this.#paused;
      this.#paused = new Set(row.paused ? row.paused.split(',') : []);
      this.#limited = row.limited === true;
      // Resumed: claim now. A claim that raced this read may have given the queue's jobs back.
      if ([...before].some((queue) => !this.#paused.has(queue))) onWake();
      const ms =
        row.ms == null || row.ms >= this.opts.pollIntervalMs
          ? 0
          : Math.round(Math.max(MIN_RATE_POLL_MS, row.ms));
      if (ms === this.#fastMs) return;
      clearInterval(this.#fastTimer);
      this.#fastTimer = undefined;
      this.#fastMs = ms;
      if (ms > 0) {
        this.#fastTimer = setInterval(onWake, ms);
        this.#fastTimer.unref?.();
      }
    } catch (error) {
      this.log.debug({ err: error }, 'reading queue policies failed; keeping what was read before');
    }
  }
}
