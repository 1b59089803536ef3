import type { JobQueries } from '../jobs/queries.js';
import type { JobState } from '../jobs/types.js';
import type { MetricsCollector } from './collector.js';
import type { PgschedMetrics } from './prometheus.js';

export { DURATION_BUCKETS, MetricsCollector, type NameCounters } from './collector.js';
export { formatPrometheus, type PgschedMetrics } from './prometheus.js';

const STATES: JobState[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];

/** Reads the database's job counts (one grouped statement) and this process's counters. */
export async function readMetrics(
  queries: JobQueries,
  collector: MetricsCollector,
  leader: boolean,
): Promise<PgschedMetrics> {
  const rows = await queries.counts();
  const byQueue = new Map<string, Record<JobState, number>>();
  for (const r of rows) {
    let counts = byQueue.get(r.queue);
    if (!counts) {
      counts = { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
      byQueue.set(r.queue, counts);
    }
    counts[r.state] = r.n;
  }
  const jobs = [...byQueue.keys()]
    .sort()
    .flatMap((queue) => STATES.map((state) => ({ queue, state, count: byQueue.get(queue)![state] })));
  return { jobs, workers: collector.snapshot(), leader };
}
