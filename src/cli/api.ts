import type { Pgsched } from '../client.js';
import { PgschedError } from '../errors.js';
import type { Job } from '../management.js';

/**
 * The management and flow-control API the CLI drives (issue 13's contract). The CLI reaches it
 * through `api(pgsched, name)` so that each command fails with one clear line, not a TypeError,
 * when it runs against a pgsched that lacks the method.
 */
export interface ListJobsFilter {
  state?: string;
  queue?: string;
  name?: string;
  group?: string;
  key?: string;
  limit?: number;
  after?: string;
}

export interface JobPage {
  jobs: Job[];
  next: string | null;
}

export interface RateLimit {
  limit: number;
  period: string | number;
}

export interface QueuePolicy {
  concurrency?: number | null;
  rateLimit?: RateLimit | null;
  groupConcurrency?: number | null;
  groupRateLimit?: RateLimit | null;
}

export interface QueueInfo extends QueuePolicy {
  name: string;
  paused: boolean;
  counts?: Record<string, number>;
}

export interface ManagementApi {
  listJobs(filter: ListJobsFilter): Promise<JobPage>;
  deleteJob(id: string): Promise<boolean>;
  retryJobs(filter: ListJobsFilter): Promise<number>;
  cancelJobs(filter: ListJobsFilter): Promise<number>;
  stats(): Promise<unknown>;
  listWorkers(): Promise<Record<string, unknown>[]>;
  setQueue(name: string, policy: QueuePolicy): Promise<unknown>;
  getQueue(name: string): Promise<QueueInfo | null>;
  listQueues(): Promise<QueueInfo[]>;
  pauseQueue(name: string): Promise<unknown>;
  resumeQueue(name: string): Promise<unknown>;
}

/** The method `name` of `pgsched`, bound, or an error saying this pgsched does not have it. */
export function api<K extends keyof ManagementApi>(pgsched: Pgsched, name: K): ManagementApi[K] {
  const method = (pgsched as unknown as Partial<ManagementApi>)[name];
  if (typeof method !== 'function') {
    throw new PgschedError(`this version of pgsched has no ${name}(): upgrade pgsched`);
  }
  return method.bind(pgsched) as ManagementApi[K];
}
