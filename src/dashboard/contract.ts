import type { Pgsched } from '../client.js';

/**
 * What the dashboard drives: the Pgsched management API, plus the queue policies of the
 * flow-control work, reached optionally so that a pgsched without them answers 501 on the queue
 * routes instead of failing to load.
 */
export type ManagedPgsched = Pick<
  Pgsched,
  | 'isLeader'
  | 'sql'
  | 'schema'
  | 'logger'
  | 'getJob'
  | 'retry'
  | 'cancel'
  | 'enqueue'
  | 'listJobs'
  | 'deleteJob'
  | 'retryJobs'
  | 'cancelJobs'
  | 'stats'
  | 'listWorkers'
  | 'metrics'
  | 'schedule'
  | 'getSchedule'
  | 'listSchedules'
  | 'upcoming'
  | 'unschedule'
  | 'pauseSchedule'
  | 'resumeSchedule'
> & {
  listQueues?(): Promise<unknown[]>;
  getQueue?(name: string): Promise<unknown | null>;
  pauseQueue?(name: string): Promise<unknown>;
  resumeQueue?(name: string): Promise<unknown>;
};
