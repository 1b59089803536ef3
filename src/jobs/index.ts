import type { Sql } from 'postgres';
import { encodeCursor, type ListJobsOptions, parseBulkFilter, parseListOptions } from './filter.js';
import { createJobQueries, type JobFilter } from './queries.js';
import { toJob } from './rows.js';
import type { Job, JobState } from './types.js';

export type { JobFilterOptions, ListJobsOptions } from './filter.js';
export { ProgressWriter } from './progress.js';
export { createJobQueries, type JobQueries } from './queries.js';
export type { AttemptOutcome, Job, JobAttempt, JobError, JobState } from './types.js';

/** One page of `listJobs`. */
export interface JobPage {
  jobs: Job[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

/** Completed and failed jobs of one queue in one minute. */
export interface ThroughputPoint {
  /** The minute's start. */
  minute: Date;
  completed: number;
  failed: number;
}

/** `stats()` of one queue. */
export interface QueueStats {
  queue: string;
  /** Jobs in each state now. */
  counts: Record<JobState, number>;
  /** Jobs that completed (or failed for good) within the last minute, to 10 seconds. */
  completedLastMinute: number;
  failedLastMinute: number;
  /** Per minute over the last hour, oldest first; the last point is the current, partial minute. */
  throughput: ThroughputPoint[];
}

const STATES: JobState[] = ['pending', 'running', 'completed', 'failed', 'cancelled'];
const MINUTE = 60_000;

export function createJobs(sql: Sql, schema: string) {
  const q = createJobQueries(sql, schema);

  /**
   * Runs a bulk statement batch by batch over ascending ids. Batches skip rows locked at that
   * moment (a claim or settle in flight) rather than wait and risk a deadlock with a settle that
   * locks in another order; a second pass picks up what was skipped. A known id list waits instead.
   */
  async function bulk(batch: typeof q.retryBatch, filter: JobFilter): Promise<number> {
    const wait = filter.ids !== null;
    let total = 0;
    for (let pass = 0; pass < 3; pass++) {
      let done = 0;
      let after = '0';
      for (let conflicts = 0; ; ) {
        let row: { last: string | null; n: number };
        try {
          row = (await batch(filter, after, wait))[0]!;
        } catch (error) {
          // A job with the same key was enqueued between the check and the update: the batch is
          // rolled back and tried again, and the check then leaves that job out.
          if ((error as { code?: string }).code !== '23505' || ++conflicts > 5) throw error;
          continue;
        }
        done += row.n;
        if (row.last === null) break;
        after = row.last;
      }
      total += done;
      if (done === 0 || wait) break;
    }
    return total;
  }

  return {
    async getJob(id: string): Promise<Job | null> {
      const [row] = await q.byId(id);
      return row ? toJob(row) : null;
    },

    async listJobs(options: ListJobsOptions | undefined): Promise<{ jobs: Job[]; next: string | null }> {
      const { filter, limit, order, after } = parseListOptions(options);
      const rows = await q.list(filter, after, order === 'newest', limit);
      const more = rows.length > limit;
      const jobs = (more ? rows.slice(0, limit) : rows).map(toJob);
      return { jobs, next: more ? encodeCursor(order, jobs.at(-1)!.id) : null };
    },

    async deleteJob(id: string): Promise<boolean> {
      return (await q.deleteOne(id)).length > 0;
    },

    retryJobs(field: string, filter: unknown): Promise<number> {
      return bulk(q.retryBatch, parseBulkFilter(field, filter, ['failed', 'cancelled']));
    },

    cancelJobs(field: string, filter: unknown): Promise<number> {
      return bulk(q.cancelBatch, parseBulkFilter(field, filter, ['pending', 'running']));
    },

    /** Retries a known list of jobs (already validated ids); see retryJobs. */
    retryIds(ids: string[]): Promise<number> {
      return bulk(q.retryBatch, { ...NO_FILTER, ids });
    },

    /** Whether an unfinished job of the same name and key keeps this failed or cancelled job from a retry. */
    async keyHeld(id: string): Promise<boolean> {
      const [row] = await q.keyHeld(id);
      return row?.held === true;
    },

    /** Cancels a known list of jobs (already validated ids). */
    cancelIds(ids: string[]): Promise<number> {
      return bulk(q.cancelBatch, { ...NO_FILTER, ids });
    },

    async stats(): Promise<QueueStats[]> {
      const [counts, points] = await Promise.all([q.counts(), q.throughput()]);
      const now = points[0]!.now;
      const currentMinute = Math.floor(now / MINUTE) * MINUTE;
      const byQueue = new Map<string, QueueStats>();
      const get = (queue: string) => {
        let s = byQueue.get(queue);
        if (!s) {
          s = {
            queue,
            counts: { pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 },
            completedLastMinute: 0,
            failedLastMinute: 0,
            throughput: Array.from({ length: 60 }, (_, i) => ({
              minute: new Date(currentMinute - (59 - i) * MINUTE),
              completed: 0,
              failed: 0,
            })),
          };
          byQueue.set(queue, s);
        }
        return s;
      };
      for (const c of counts) if (STATES.includes(c.state)) get(c.queue).counts[c.state] = c.n;
      for (const p of points) {
        if (p.queue === null) continue;
        const s = get(p.queue);
        const point = s.throughput[59 - Math.round((currentMinute - p.minute) / MINUTE)];
        if (point) {
          point.completed += p.completed;
          point.failed += p.failed;
        }
        if (p.recent) {
          s.completedLastMinute += p.completed;
          s.failedLastMinute += p.failed;
        }
      }
      return [...byQueue.values()].sort((a, b) => (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0));
    },

    queries: q,
  };
}

const NO_FILTER: JobFilter = {
  states: null,
  queue: null,
  name: null,
  group: null,
  key: null,
  since: null,
  ids: null,
};

export type JobManager = ReturnType<typeof createJobs>;
