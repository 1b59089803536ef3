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
  /** Aborted to cut the current wait short (see wake()). */
  #wakeUp = new AbortController();
  /** Duties woken since their current run began: they run again at once. */
  readonly #woken = new Set<string>();
  /** Set once this pass confirmed the lock; duties run only then. */
  #verified = false;

  constructor(
    private readonly sql: Sql,
    private readonly schema: string,
    private readonly duties: Duty[],
    private readonly logger: Logger,
    private readonly tickMs = 1_000,
  ) {}

  get #lockName(): string {
    return `pgsched:leader:${this.schema}`;
  }

  get isLeader(): boolean {
    return this.#reserved !== undefined && this.#verified;
  }

  start(): void {
    this.#stopping.signal.addEventListener('abort', () => this.#wakeUp.abort(), { once: true });
    this.#loop = this.#run();
  }

  /**
   * Makes `duty` due now and ends the current wait, e.g. because a schedule was just created and
   * may fire before the duty's own next run. A wake during the duty's run makes it run again.
   */
  wake(duty: string): void {
    this.#nextRun.delete(duty);
    this.#woken.add(duty);
    this.#wakeUp.abort();
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#loop;
    const reserved = this.#reserved;
    this.#reserved = undefined;
    if (!reserved) return;
    if (await this.#holdsLock().catch(() => false)) {
      await reserved`select pg_advisory_unlock(hashtext(${this.#lockName}))`.catch(() => {});
      reserved.release();
    }
  }

  /** One election + duty pass; tests call it directly. */
  async tick(): Promise<void> {
    this.#verified = false;
    if (this.#reserved) {
      if (!(await this.#holdsLock())) {
        // postgres.js already took the dead connection back into its pool; releasing it again
        // would put a closed socket among the open ones.
        this.#reserved = undefined;
        this.logger.warn({ schema: this.schema }, 'leader connection lost; stepping down');
        return;
      }
    } else if (!(await this.#tryAcquire())) {
      return;
    }
    this.#verified = true;
    const now = Date.now();
    for (const duty of this.duties) {
      if ((this.#nextRun.get(duty.name) ?? 0) > now) continue;
      try {
        this.#woken.delete(duty.name);
        const wait = await duty.runOnce();
        this.#nextRun.set(duty.name, this.#woken.has(duty.name) ? 0 : Date.now() + (wait ?? 0));
      } catch (error) {
        // Not at once: a duty that keeps failing would otherwise spin every few ms.
        this.#nextRun.set(duty.name, Date.now() + this.tickMs);
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
      // A wake that arrives during the pass below cuts the following wait short.
      if (this.#wakeUp.signal.aborted) this.#wakeUp = new AbortController();
      try {
        await this.tick();
      } catch (error) {
        // Unknown whether the lock survived: act as follower until a pass can check it.
        this.logger.warn({ err: error }, 'leader pass failed; retrying');
      }
      await sleep(this.isLeader ? this.#untilNext() : this.tickMs, this.#wakeUp.signal);
    }
  }

  async #tryAcquire(): Promise<boolean> {
    const reserved = await this.sql.reserve();
    try {
      const [row] = await reserved<{ acquired: boolean; pid: number }[]>`
        select pg_try_advisory_lock(hashtext(${this.#lockName})) as acquired, pg_backend_pid() as pid`;
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

  /**
   * Whether the lock's backend still holds it. Asked through the pool, never by writing to the
   * reserved connection: postgres.js crashes the process on a write to a reserved connection
   * whose backend died (porsager/postgres#1208).
   */
  async #holdsLock(): Promise<boolean> {
    const [row] = await this.sql<{ held: boolean }[]>`
      select exists(select 1 from pg_locks
        where locktype = 'advisory' and pid = ${this.#backendPid!} and granted) as held`;
    return row?.held === true;
  }
}
