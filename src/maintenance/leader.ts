import type { Logger } from 'pino';
import type { ReservedSql, Sql } from 'postgres';
import { sleep } from '../retry-delay.js';

/** A leader-only background duty. Duties must be idempotent: two leaders may briefly overlap. */
export interface Duty {
  readonly name: string;
  /** Runs one pass; returns the ms until it wants to run again (the leader caps it at its tick). */
  runOnce(): Promise<number | undefined>;
}

/**
 * Elects one leader per schema with a session-level advisory lock held on a reserved
 * connection. The lock lives exactly as long as that connection: each tick checks that the
 * connection is still the same backend, and on any error or change the process steps down at
 * once and competes again. Killing the leader frees the lock when its connection closes.
 */
export class Leader {
  #reserved: ReservedSql | undefined;
  #backendPid: number | undefined;
  #loop: Promise<void> | undefined;
  readonly #stopping = new AbortController();
  readonly #nextRun = new Map<string, number>();

  constructor(
    private readonly sql: Sql,
    private readonly schema: string,
    private readonly duties: Duty[],
    private readonly logger: Logger,
    private readonly tickMs = 1_000,
  ) {}

  get isLeader(): boolean {
    return this.#reserved !== undefined;
  }

  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    await this.#stepDown(true);
  }

  /** One election + duty pass; tests call it directly. */
  async tick(): Promise<void> {
    if (this.#reserved ? !(await this.#stillHolding()) : !(await this.#tryAcquire())) return;
    const now = Date.now();
    for (const duty of this.duties) {
      if ((this.#nextRun.get(duty.name) ?? 0) > now) continue;
      try {
        const wait = await duty.runOnce();
        this.#nextRun.set(duty.name, Date.now() + (wait ?? 0));
      } catch (error) {
        this.logger.warn({ err: error, duty: duty.name }, 'leader duty failed; will retry');
      }
    }
  }

  /** Ms until the earliest duty wants to run, capped at the tick. */
  #untilNext(): number {
    const earliest = Math.min(...[...this.#nextRun.values()], Date.now() + this.tickMs);
    return Math.max(5, Math.min(this.tickMs, earliest - Date.now()));
  }

  async #run(): Promise<void> {
    while (!this.#stopping.signal.aborted) {
      try {
        await this.tick();
      } catch (error) {
        this.logger.warn({ err: error }, 'leader election failed; retrying');
        await this.#stepDown(false);
      }
      await sleep(this.isLeader ? this.#untilNext() : this.tickMs, this.#stopping.signal);
    }
  }

  async #tryAcquire(): Promise<boolean> {
    const reserved = await this.sql.reserve();
    try {
      const [row] = await reserved<{ acquired: boolean; pid: number }[]>`
        select pg_try_advisory_lock(hashtext(${`pgsched:leader:${this.schema}`})) as acquired, pg_backend_pid() as pid`;
      if (!row?.acquired) {
        reserved.release();
        return false;
      }
      this.#reserved = reserved;
      this.#backendPid = row.pid;
      this.#nextRun.clear();
      this.logger.info({ schema: this.schema, backendPid: row.pid }, 'became leader');
      return true;
    } catch (error) {
      reserved.release();
      throw error;
    }
  }

  /** False (and stepped down) if the lock's connection broke or was silently replaced. */
  async #stillHolding(): Promise<boolean> {
    try {
      const [row] = await this.#reserved!<{ pid: number }[]>`select pg_backend_pid() as pid`;
      if (row?.pid === this.#backendPid) return true;
    } catch {
      // fall through: the connection is gone, and the lock with it
    }
    this.logger.warn({ schema: this.schema }, 'leader connection lost; stepping down');
    await this.#stepDown(false);
    return false;
  }

  async #stepDown(unlock: boolean): Promise<void> {
    const reserved = this.#reserved;
    this.#reserved = undefined;
    if (!reserved) return;
    if (unlock) {
      await reserved`select pg_advisory_unlock(hashtext(${`pgsched:leader:${this.schema}`}))`.catch(() => {});
    }
    reserved.release();
  }
}
