import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { Duty } from '../maintenance/leader.js';
import { transaction } from '../transaction.js';
import { type BatchResult, handleBatch } from './batch.js';
import { createTickerQueries, type DueRow } from './ticker-queries.js';

export { OCCURRENCE_NAMESPACE, occurrenceKey } from './batch.js';

export interface TickerOptions {
  /**
   * "Now" for due-ness and the trigger maths. Default: the database clock. With an injected clock
   * (tests) nothing waits for real time: due occurrences commit at once.
   */
  clock?: () => Date;
  /** Schedules locked per statement. Default 250. */
  batchSize?: number;
  /**
   * Transactions working at once, each on its own connection (SKIP LOCKED gives them disjoint
   * schedules), so that one's SQL overlaps the other's planning. Default 2.
   */
  concurrency?: number;
  /** Occurrences of one schedule per batch (catch-up 'all' of a long outage pages). Default 1,000. */
  perSchedule?: number;
  /**
   * Longest wait between two looks at the earliest due schedule. A schedule created, changed or
   * resumed by another process is noticed within it even when no NOTIFY arrives (PgBouncer, a
   * LISTEN connection that was down). Default 1 s.
   */
  pollMs?: number;
  /** A transaction stops taking batches after this many schedules or this long. Defaults 5,000, 1s. */
  maxPerTransaction?: number;
  /**
   * The server ends a ticker transaction left idle this long (idle_in_transaction_session_timeout):
   * a leader frozen with schedules locked would otherwise keep the next leader from firing them
   * (it skips locked rows) until it wakes. Below the leader timeout. Default 5 s.
   */
  idleTimeoutMs?: number;
  passBudgetMs?: number;
}

export interface TickerStats {
  /** Jobs inserted (occurrences enqueued). */
  fired: number;
  /** Occurrences recorded as missed. */
  missed: number;
  /** Transactions committed with at least one schedule in them. */
  batches: number;
  /** How far ahead of a due time the ticker currently starts preparing it, in ms. */
  leadMs: number;
}

export interface Ticker extends Duty {
  readonly stats: TickerStats;
}

const MISS_RETENTION_MS = 30 * 86_400_000;
const MISS_PRUNE_EVERY_MS = 3_600_000;
const UNPLANNABLE_RETRY_MS = 60_000;
const MIN_LEAD_MS = 20;
const MAX_LEAD_MS = 500;

/**
 * The leader duty that turns due schedule occurrences into jobs.
 *
 * Prepare early, commit on time: a pass starts `lead` ms before the earliest due time T. Each of
 * `concurrency` transactions locks schedules due by T (SKIP LOCKED), plans their occurrences from
 * the triggers as of T, inserts the jobs and advances the schedules (one statement per batch,
 * conditional on version and cursor), then waits on the server until the database clock reaches T
 * (`pg_sleep` to `clock_timestamp()`) and commits. Jobs (and their NOTIFY) become visible at T
 * itself, not T plus the time the work took; `lead` follows the measured preparation time.
 */
export function createTicker(sql: Sql, schema: string, logger: Logger, options: TickerOptions = {}): Ticker {
  const q = createTickerQueries(sql, schema);
  const batchSize = options.batchSize ?? 250;
  const concurrency = options.concurrency ?? 2;
  const perSchedule = options.perSchedule ?? 1_000;
  const maxRows = options.maxPerTransaction ?? 5_000;
  const budget = options.passBudgetMs ?? 1_000;
  const pollMs = options.pollMs ?? 1_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 5_000;
  const realTime = options.clock === undefined;
  const stats: TickerStats = { fired: 0, missed: 0, batches: 0, leadMs: realTime ? MIN_LEAD_MS : 0 };
  const recentPrep: number[] = [];
  let lastPrune = 0;
  // Schedules this process cannot plan (say, a trigger written by a newer pgsched during a rolling
  // upgrade): left untouched for a leader that can, and skipped here for a while, so that one bad
  // row neither fails every batch nor keeps the ticker spinning on a due time it cannot handle.
  const unplannable = new Map<string, number>();
  const skipped = () => {
    for (const [name, until] of unplannable) if (until < Date.now()) unplannable.delete(name);
    return [...unplannable.keys()];
  };
  const onUnplannable = (row: DueRow, error: unknown) => {
    unplannable.set(row.name, Date.now() + UNPLANNABLE_RETRY_MS);
    logger.error({ err: error, schedule: row.name }, 'cannot plan schedule; skipping it for now');
  };

  /** One transaction: batches due by `target` until none are left, then commit at `target`. */
  async function lane(target: Date, dbNowAt: (t: number) => number, deadline: number) {
    const started = performance.now();
    let prepMs = 0;
    const total: BatchResult = { handled: 0, fired: 0, missed: 0 };
    await transaction(sql, async (tx) => {
      await tx`select set_config('idle_in_transaction_session_timeout', ${String(idleTimeoutMs)}, true)`;
      for (;;) {
        const rows = await q.lockDue(tx, target, batchSize, skipped());
        if (rows.length === 0) break;
        const r = await handleBatch(q, tx, rows, target, perSchedule, onUnplannable);
        total.handled += r.handled;
        total.fired += r.fired;
        total.missed += r.missed;
        if (total.handled >= maxRows || performance.now() > deadline) break;
      }
      prepMs = performance.now() - started;
      if (realTime && total.handled > 0 && target.getTime() > dbNowAt(performance.now())) {
        // Sleep on the server, against the database clock, so the commit is never early.
        await tx`select pg_sleep(extract(epoch from ${target}::timestamptz - clock_timestamp()))
                 where clock_timestamp() < ${target}::timestamptz`;
      }
    });
    return { ...total, prepMs };
  }

  return {
    name: 'schedules',
    stats,
    async runOnce() {
      const started = performance.now();
      if (Date.now() - lastPrune > MISS_PRUNE_EVERY_MS) {
        lastPrune = Date.now();
        await q.pruneMisses(MISS_RETENTION_MS);
      }
      for (;;) {
        const [row] = await q.earliest(skipped());
        const receivedAt = performance.now();
        if (!row?.next) return pollMs;
        const now = options.clock?.() ?? row.now;
        const untilDue = row.next.getTime() - now.getTime();
        if (untilDue > stats.leadMs) return Math.min(pollMs, untilDue - stats.leadMs);
        if (performance.now() - started > budget) return 0;
        const target = new Date(Math.max(row.next.getTime(), now.getTime()));
        const dbNowAt = (t: number) => row.now.getTime() + (t - receivedAt);
        // allSettled: a failing lane must not return while another still has a transaction open.
        const lanes = await Promise.allSettled(
          Array.from({ length: concurrency }, () => lane(target, dbNowAt, started + budget)),
        );
        let handled = 0;
        let missed = 0;
        let prepMs = 0;
        for (const l of lanes) {
          if (l.status === 'rejected') continue;
          handled += l.value.handled;
          missed += l.value.missed;
          stats.fired += l.value.fired;
          if (l.value.handled > 0) stats.batches++;
          prepMs = Math.max(prepMs, l.value.prepMs);
        }
        stats.missed += missed;
        if (missed > 0) logger.info({ missed }, 'schedule occurrences skipped (see missedOccurrences)');
        const failed = lanes.find((l) => l.status === 'rejected');
        if (failed) throw failed.reason;
        if (realTime && handled > 0) adaptLead(prepMs);
        // Due but nothing taken: locked by a writer or another leader right now. Look again shortly.
        if (handled === 0) return 25;
      }
    },
  };

  /** Lead = 1.5 × the slowest of the last 5 preparations + 10 ms, within [20 ms, 500 ms]. */
  function adaptLead(prepMs: number) {
    recentPrep.push(prepMs);
    if (recentPrep.length > 5) recentPrep.shift();
    const lead = 1.5 * Math.max(...recentPrep) + 10;
    stats.leadMs = Math.round(Math.min(MAX_LEAD_MS, Math.max(MIN_LEAD_MS, lead)));
  }
}
