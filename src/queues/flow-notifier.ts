import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { Notifier, type NotifierOptions } from '../worker/notifier.js';

/** The finest re-poll for rate-limited queues: a claim per worker at most this often while idle. */
const MIN_RATE_POLL_MS = 20;

/**
 * The worker's notifier, plus a finer poll while one of its queues has a rate limit. A rate limit's
 * window frees up at a moment no NOTIFY announces; waiting for the regular poll (1 s by default) would
 * start each window late and lose throughput. While such a queue exists, the worker is woken every
 * `period / limit` (at least 20 ms, at most the poll interval). Which queues have rates is read once
 * per poll interval (one small query).
 */
export class FlowNotifier extends Notifier {
  #checkTimer: NodeJS.Timeout | undefined;
  #fastTimer: NodeJS.Timeout | undefined;
  #fastMs = 0;
  #stopped = false;

  constructor(
    private readonly db: Sql,
    listenSql: Sql | null,
    private readonly schema: string,
    private readonly queues: string[] | null,
    channels: { jobs: string; cancel: string },
    private readonly opts: NotifierOptions,
    private readonly log: Logger,
  ) {
    super(listenSql, channels, opts, log);
  }

  override async start(
    onWake: () => void,
    onCancel: (jobId: string, attempt: number) => void,
  ): Promise<void> {
    const check = async () => {
      try {
        const ms = await this.#ratePollMs();
        if (this.#stopped || ms === this.#fastMs) return;
        clearInterval(this.#fastTimer);
        this.#fastTimer = undefined;
        this.#fastMs = ms;
        if (ms > 0) {
          this.#fastTimer = setInterval(onWake, ms);
          this.#fastTimer.unref?.();
        }
      } catch (error) {
        this.log.debug({ err: error }, 'reading queue rate limits failed; keeping the regular poll');
      }
    };
    this.#checkTimer = setInterval(check, this.opts.pollIntervalMs);
    this.#checkTimer.unref?.();
    void check();
    await super.start(onWake, onCancel);
  }

  override async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#checkTimer);
    clearInterval(this.#fastTimer);
    await super.stop();
  }

  /** 0 when none of this worker's queues has a rate limit, else the re-poll interval in ms. */
  async #ratePollMs(): Promise<number> {
    const queues = this.queues;
    const [row] = await this.db<{ ms: number | null }[]>`
      select min(least(rate_period_ms::float8 / rate_limit, group_rate_period_ms::float8 / group_rate_limit)) as ms
      from ${this.db(this.schema)}.queues
      where not paused and (rate_limit is not null or group_rate_limit is not null)
        and ${queues === null ? this.db`true` : this.db`name = any(${queues}::text[])`}`;
    if (row?.ms == null || row.ms >= this.opts.pollIntervalMs) return 0;
    return Math.round(Math.max(MIN_RATE_POLL_MS, row.ms));
  }
}
