export { type JobMap, Pgsched } from './client.js';
export type { PgschedOptions, StartOptions } from './client-options.js';
export type { Duration } from './duration.js';
export type { EnqueueManyOptions, EnqueueOptions } from './enqueue.js';
export {
  PgschedConflictError,
  PgschedError,
  PgschedSchemaTooNewError,
  PgschedValidationError,
} from './errors.js';
export type {
  AttemptOutcome,
  Job,
  JobAttempt,
  JobError,
  JobFilterOptions,
  JobPage,
  JobState,
  ListJobsOptions,
  QueueStats,
  ThroughputPoint,
} from './jobs/index.js';
export {
  DURATION_BUCKETS,
  formatPrometheus,
  type NameCounters,
  type PgschedMetrics,
} from './metrics/index.js';
export { loadMigrations, type MigrateResult, type Migration, migrate } from './migrate.js';
export type { BackoffOptions, JobOptions } from './options.js';
export type {
  QueueCounts,
  QueueInfo,
  QueuePolicyOptions,
  RateLimit,
  StoredRateLimit,
} from './queues/index.js';
export type { DefineOptions, Handler, JobContext, JobInfo } from './registry.js';
export {
  type CatchUpPolicy,
  DST_RULES,
  type MissedOccurrences,
  type OverlapPolicy,
  type Schedule,
  type ScheduleDefinition,
  type ScheduleEntry,
  type ScheduleOptions,
  type StoredJobOptions,
  type UpdatePolicy,
} from './schedule/index.js';
export type { TriggerKind, TriggerSpec } from './schedule/triggers/index.js';
export { CancelSignal, cancel, DiscardSignal, discard, SnoozeSignal, snooze } from './signals.js';
export type { WorkerInfo } from './workers/index.js';
