import type { Logger } from 'pino';
import type { Sql } from 'postgres';

/** How long the LISTEN probe's NOTIFY may take to arrive before the warning. */
const PROBE_WAIT_MS = 5_000;

export interface NotifierOptions {
  pollIntervalMs: number;
  /**
   * A client other than the LISTEN one (the worker's pool): right after LISTEN, it sends one NOTIFY
   * that the LISTEN connection must receive, or a warning says that wake-ups are not arriving (a
   * transaction pooler between us and the server) and that jobs are found by polling only.
   */
  probeSql?: Sql;
}

/**
 * Wakes the worker when jobs may be runnable: on every NOTIFY from an inserting transaction,
 * after every (re)connection of the LISTEN connection, and on a poll timer that also catches
 * delayed jobs coming due, retries, rescued jobs and missed notifications.
 */
export class Notifier {
  #timer: NodeJS.Timeout | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  #probeTimer: NodeJS.Timeout | undefined;

  constructor(
    /** The client to LISTEN on; null: rely on polling alone (PgBouncer transaction pooling). */
    private readonly sql: Sql | null,
    private readonly channels: { jobs: string; cancel: string },
    private readonly options: NotifierOptions,
    private readonly logger: Logger,
  ) {}

  /** `onCancel` gets the job id and the attempt that was cancelled (`<id>:<attempt>` on the wire). */
  async start(onWake: () => void, onCancel: (jobId: string, attempt: number) => void): Promise<void> {
    this.#timer = setInterval(onWake, this.options.pollIntervalMs);
    this.#timer.unref?.();
    if (!this.sql) return;
    try {
      const probe = `probe:${process.pid}:${Math.random().toString(36).slice(2)}`;
      let heard = false;
      const jobs = await this.sql.listen(
        this.channels.jobs,
        (payload) => {
          if (payload === probe) heard = true;
          onWake();
        },
        onWake,
      );
      const cancel = await this.sql.listen(this.channels.cancel, (payload) => {
        const [id, attempt] = payload.split(':');
        if (id && attempt) onCancel(id, Number(attempt));
      });
      this.#unlisten = async () => {
        await Promise.allSettled([jobs.unlisten(), cancel.unlisten()]);
      };
      if (this.options.probeSql) this.#probe(this.options.probeSql, probe, () => heard);
    } catch (error) {
      // Polling still runs; postgres.js keeps retrying the LISTEN connection on its own.
      this.logger.warn({ err: error }, 'LISTEN failed; relying on polling until it recovers');
    }
  }

  /** Not awaited: start() does not wait for it, and a failure only leaves the warning out. */
  #probe(sql: Sql, payload: string, heard: () => boolean): void {
    this.#probeTimer = setTimeout(() => {
      if (heard()) return;
      this.logger.warn(
        { channel: this.channels.jobs },
        'LISTEN receives no notifications (a transaction pooler such as PgBouncer?): jobs are found ' +
          'by polling only; use start({ pollOnly: true }) or start({ listenUrl }) with a direct URL',
      );
    }, PROBE_WAIT_MS);
    this.#probeTimer.unref?.();
    sql`select pg_notify(${this.channels.jobs}, ${payload})`.catch((error) => {
      clearTimeout(this.#probeTimer);
      this.logger.debug({ err: error }, 'LISTEN probe not sent');
    });
  }

  async stop(): Promise<void> {
    clearTimeout(this.#probeTimer);
    clearInterval(this.#timer);
    await this.#unlisten?.();
  }
}
