import type { Logger } from 'pino';
import type { Sql } from 'postgres';

export interface NotifierOptions {
  pollIntervalMs: number;
}

/**
 * Wakes the worker when jobs may be runnable: on every NOTIFY from an inserting transaction,
 * after every (re)connection of the LISTEN connection, and on a poll timer that also catches
 * delayed jobs coming due, retries, rescued jobs and missed notifications.
 */
export class Notifier {
  #timer: NodeJS.Timeout | undefined;
  #unlisten: (() => Promise<void>) | undefined;

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
      const jobs = await this.sql.listen(this.channels.jobs, onWake, onWake);
      const cancel = await this.sql.listen(this.channels.cancel, (payload) => {
        const [id, attempt] = payload.split(':');
        if (id && attempt) onCancel(id, Number(attempt));
      });
      this.#unlisten = async () => {
        await Promise.allSettled([jobs.unlisten(), cancel.unlisten()]);
      };
    } catch (error) {
      // Polling still runs; postgres.js keeps retrying the LISTEN connection on its own.
      this.logger.warn({ err: error }, 'LISTEN failed; relying on polling until it recovers');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#unlisten?.();
  }
}
