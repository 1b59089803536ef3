import type { Logger } from 'pino';
import type { JobQueries } from './queries.js';

interface Slot {
  /** The latest value not yet sent, if any. */
  next: string | undefined;
  /** Callers waiting for `next` (or a later value) to be written. */
  waiters: (() => void)[];
}

/**
 * Writes handlers' ctx.progress() values. Per attempt at most one write is in flight, and only the
 * latest value waiting behind it is sent next: a handler reporting in a tight loop costs a few
 * statements, not one per call, and the row always ends with the last value. The promises never
 * reject (a handler that does not await them must not take the process down); a failed write is
 * logged, and a write that matches no row (the attempt was cancelled or taken back) is dropped.
 */
export class ProgressWriter {
  readonly #slots = new Map<string, Slot>();

  constructor(
    private readonly queries: JobQueries,
    private readonly logger: Logger,
  ) {}

  write(workerId: string, id: string, attempt: number, claimedAt: string, json: string): Promise<void> {
    const key = `${id}:${attempt}:${claimedAt}`;
    let slot = this.#slots.get(key);
    const running = slot !== undefined;
    if (!slot) {
      slot = { next: json, waiters: [] };
      this.#slots.set(key, slot);
    } else {
      slot.next = json;
    }
    const written = new Promise<void>((resolve) => slot.waiters.push(resolve));
    if (!running) void this.#run(key, slot, workerId, id, attempt, claimedAt);
    return written;
  }

  async #run(key: string, slot: Slot, workerId: string, id: string, attempt: number, claimedAt: string) {
    while (slot.next !== undefined) {
      const json = slot.next;
      const waiters = slot.waiters;
      slot.next = undefined;
      slot.waiters = [];
      try {
        await this.queries.progress(workerId, id, attempt, claimedAt, json);
      } catch (error) {
        this.logger.warn({ err: error, jobId: id, attempt }, 'could not store job progress');
      }
      for (const resolve of waiters) resolve();
    }
    this.#slots.delete(key);
  }
}
