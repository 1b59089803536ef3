import type { Pgsched } from '../client.js';
import { PgschedError } from '../errors.js';

/**
 * Queue policies and pause/resume (issue 13's contract), which the CLI reaches through
 * `api(pgsched, name)` so that each `queues` command fails with one clear line, not a TypeError,
 * against a pgsched that lacks the method.
 */
export interface RateLimit {
  limit: number;
  /** Milliseconds (as stored), or a duration string (as given to setQueue). */
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

export interface QueueApi {
  setQueue(name: string, policy: QueuePolicy): Promise<unknown>;
  getQueue(name: string): Promise<QueueInfo | null>;
  listQueues(): Promise<QueueInfo[]>;
  pauseQueue(name: string): Promise<unknown>;
  resumeQueue(name: string): Promise<unknown>;
}

/** The method `name` of `pgsched`, bound, or an error saying this pgsched does not have it. */
export function api<K extends keyof QueueApi>(pgsched: Pgsched, name: K): QueueApi[K] {
  const method = (pgsched as unknown as Partial<QueueApi>)[name];
  if (typeof method !== 'function') {
    throw new PgschedError(`this version of pgsched has no ${name}(): upgrade pgsched`);
  }
  return method.bind(pgsched) as QueueApi[K];
}

/** 60000 → `1m`, 1500 → `1500ms`: periods as people write them. */
export function formatPeriod(period: string | number): string {
  if (typeof period === 'string') return period;
  for (const [unit, ms] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (period >= ms && period % ms === 0) return `${period / ms}${unit}`;
  }
  return `${period}ms`;
}
