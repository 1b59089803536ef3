import type { ClaimedRow } from '../queries.js';
import type { Settlement } from '../worker/settlement.js';

/** Upper bounds (seconds) of the job duration histogram's buckets; +Inf is implied. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

class Series {
  completed = 0;
  failed = 0;
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;
}

/** One queue and job name's counters in this process. */
export interface NameCounters {
  queue: string;
  name: string;
  completed: number;
  failed: number;
  duration: {
    /** Cumulative counts per upper bound (seconds), the last one `Infinity`. */
    buckets: { le: number; count: number }[];
    sum: number;
    count: number;
  };
}

/**
 * This process's worker counters: jobs completed and failed (for good) by queue and name, and how
 * long attempts ran. In memory, one map lookup per finished attempt; nothing is written anywhere.
 */
export class MetricsCollector {
  readonly #byName = new Map<string, Map<string, Series>>();

  /** A WorkerHooks.ended: attempts that were interrupted with nothing to write are not counted. */
  record(row: ClaimedRow, settlement: Settlement | null, durationMs: number): void {
    if (!settlement) return;
    let byQueue = this.#byName.get(row.name);
    if (!byQueue) {
      byQueue = new Map();
      this.#byName.set(row.name, byQueue);
    }
    let s = byQueue.get(row.queue);
    if (!s) {
      s = new Series();
      byQueue.set(row.queue, s);
    }
    if (settlement.state === 'completed') s.completed++;
    else if (settlement.state === 'failed') s.failed++;
    const seconds = durationMs / 1000;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
  }

  snapshot(): NameCounters[] {
    const out: NameCounters[] = [];
    for (const [name, byQueue] of this.#byName) {
      for (const [queue, s] of byQueue) {
        let running = 0;
        const buckets = s.buckets.map((n, i) => {
          running += n;
          return { le: DURATION_BUCKETS[i] ?? Number.POSITIVE_INFINITY, count: running };
        });
        out.push({
          queue,
          name,
          completed: s.completed,
          failed: s.failed,
          duration: { buckets, sum: s.sum, count: s.count },
        });
      }
    }
    return out;
  }
}
