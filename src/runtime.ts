import type { Logger } from 'pino';
import postgres, { type Sql } from 'postgres';
import { ownClient } from './connections.js';
import type { Leader } from './maintenance/leader.js';
import type { Worker } from './worker/worker.js';
import type { Presence } from './workers/index.js';

/** Seconds the connections of a stopping runtime get to finish their queries before they are cut. */
const END_TIMEOUT_S = 5;

/**
 * Everything one `start()` runs and the connections it opened, so that `stop()`, or a `start()`
 * that failed half-way, ends all of it.
 */
export class Runtime {
  worker: Worker | undefined;
  leader: Leader | undefined;
  unlisten: (() => Promise<void>) | undefined;
  /** This process's row in the workers registry. */
  presence: Presence | undefined;
  readonly #clients: Sql[] = [];

  constructor(private readonly logger: Logger) {}

  /** A pool of pgsched's own with the connection settings of a client (or of a URL). */
  client(from: Sql | string, max: number, label: string, options: { persistent?: boolean } = {}): Sql {
    // postgres(url) only parses the URL: it connects on its first query, which never comes.
    const settings = typeof from === 'string' ? postgres(from) : from;
    const client = ownClient(settings, max, this.logger, label, options);
    this.#clients.push(client);
    return client;
  }

  async stop(timeoutMs: number): Promise<void> {
    await Promise.all([
      this.worker?.stop(timeoutMs),
      this.leader?.stop(),
      this.unlisten?.().catch((error) => this.logger.debug({ err: error }, 'unlisten failed')),
    ]);
    // Listed until its jobs are written, so `listWorkers()` never hides a process still finishing.
    await this.presence?.stop();
    await Promise.all(this.#clients.map((c) => c.end({ timeout: END_TIMEOUT_S }).catch(() => {})));
  }
}
