import type { Pgsched } from '../client.js';
import type { Job } from '../management.js';

/** Filter of `listJobs`, `retryJobs` and `cancelJobs` (issue 13's contract). */
export interface JobFilter {
  state?: string;
  queue?: string;
  name?: string;
  group?: string;
  key?: string;
  since?: string | Date;
  limit?: number;
  after?: string;
  order?: 'newest' | 'oldest';
}

/** One page of `listJobs`. */
export interface JobPage {
  jobs: Job[];
  next: string | null;
}

/**
 * The management surface the dashboard drives. Part of it (queue policies, listing, bulk actions,
 * stats, workers, metrics) is added to Pgsched by the flow-control and management work; the
 * dashboard reaches it through this view so that a method not present yet answers 501 instead of
 * failing to load.
 */
export interface ManagedPgsched {
  readonly isLeader: boolean;
  getJob: Pgsched['getJob'];
  retry: Pgsched['retry'];
  cancel: Pgsched['cancel'];
  enqueue: Pgsched['enqueue'];
  schedule: Pgsched['schedule'];
  getSchedule: Pgsched['getSchedule'];
  listSchedules: Pgsched['listSchedules'];
  upcoming: Pgsched['upcoming'];
  unschedule: Pgsched['unschedule'];
  pauseSchedule: Pgsched['pauseSchedule'];
  resumeSchedule: Pgsched['resumeSchedule'];
  listJobs?(filter: JobFilter): Promise<JobPage>;
  deleteJob?(id: string): Promise<boolean>;
  retryJobs?(filter: JobFilter): Promise<number>;
  cancelJobs?(filter: JobFilter): Promise<number>;
  stats?(): Promise<unknown>;
  listWorkers?(): Promise<unknown[]>;
  metrics?(): Promise<unknown> | unknown;
  listQueues?(): Promise<unknown[]>;
  getQueue?(name: string): Promise<unknown | null>;
  pauseQueue?(name: string): Promise<unknown>;
  resumeQueue?(name: string): Promise<unknown>;
}
