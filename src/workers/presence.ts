import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { sleep } from '../retry-delay.js';
import type { WorkerEntry, WorkerQueries } from './queries.js';

/** Beats missed before a process is considered dead. */
export const MISSED_BEATS = 3;

/**
 * Keeps this process's entry in the workers registry alive: one upsert now and every
 * `intervalMs`, each valid for MISSED_BEATS intervals, and a delete on stop. A killed process
 * simply stops beating and drops out of `listWorkers()` within MISSED_BEATS intervals. A failed
 * beat is logged and tried again at the next interval; it never affects the worker.
 */
export class Presence {
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    private readonly queries: WorkerQueries,
    private readonly entry: WorkerEntry,
    private readonly isLeader: () => boolean,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  async runOnce(): Promise<void> {
    await this.queries.beat(this.entry, this.isLeader(), this.intervalMs * MISSED_BEATS);
  }

  /** Records the process (awaited, so it is listed once start() returns), then beats in the background. */
  async start(): Promise<void> {
    await this.#beat();
    this.#loop = (async () => {
      while (!this.#stopping.signal.aborted) {
        await sleep(this.intervalMs, this.#stopping.signal);
        if (!this.#stopping.signal.aborted) await this.#beat();
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    await this.queries.remove(this.entry.id).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'could not remove this process from the workers registry');
    });
  }

  async #beat(): Promise<void> {
    try {
      await this.runOnce();
    } catch (error) {
      this.logger.warn({ err: error }, 'could not record this process in the workers registry');
    }
  }
}

/**
 * The Presence of a started process: its worker's id when it runs jobs (so that `locked_by` of its
 * jobs names its entry), else an id of the same shape.
 */
export function createPresence(
  queries: WorkerQueries,
  logger: Logger,
  isLeader: () => boolean,
  p: {
    workerId: string | null;
    queues: string[] | null;
    names: string[];
    concurrency: number;
    intervalMs: number;
  },
): Presence {
  const entry: WorkerEntry = {
    id: p.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    host: hostname(),
    pid: process.pid,
    queues: p.workerId === null ? [] : p.queues,
    names: p.names,
    concurrency: p.concurrency,
  };
  return new Presence(queries, entry, isLeader, p.intervalMs, logger);
}
