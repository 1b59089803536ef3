import type { Pgsched } from '../client.js';

/** What the dashboard drives of a Pgsched: its management, queue and schedule API. */
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
  | 'listQueues'
  | 'getQueue'
  | 'setQueue'
  | 'pauseQueue'
  | 'resumeQueue'
>;
