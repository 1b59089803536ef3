import type { Sql } from 'postgres';
import { validateQueueName } from '../identifiers.js';
import { parsePolicy, type QueueInfo, type StoredRateLimit } from './policy.js';
import { createQueueQueries, type QueueRow } from './queries.js';

export { FlowNotifier } from './flow-notifier.js';
export type { QueueCounts, QueueInfo, QueuePolicyOptions, RateLimit, StoredRateLimit } from './policy.js';

/**
 * Queue policies (flow control): limits, rate limits and pause, stored in the database and
 * enforced by every worker's claim (sql/0006).
 */
export function createQueues(sql: Sql, schema: string) {
  const q = createQueueQueries(sql, schema);
  const get = async (name: string): Promise<QueueInfo> => toInfo((await q.read([name]))[0]!);
  return {
    async setQueue(name: unknown, options: unknown): Promise<QueueInfo> {
      const queue = validateQueueName('setQueue.name', name);
      const policy = parsePolicy(options, 'setQueue.options');
      await q.set(queue, policy);
      return get(queue);
    },

    async pauseQueue(name: unknown): Promise<void> {
      await q.pause(validateQueueName('pauseQueue.name', name), true);
    },

    async resumeQueue(name: unknown): Promise<void> {
      await q.pause(validateQueueName('resumeQueue.name', name), false);
    },

    async getQueue(name: unknown): Promise<QueueInfo> {
      return get(validateQueueName('getQueue.name', name));
    },

    async listQueues(): Promise<QueueInfo[]> {
      return (await q.read(null)).map(toInfo);
    },
  };
}

export type Queues = ReturnType<typeof createQueues>;

function rate(limit: number | null, periodMs: string | null): StoredRateLimit | null {
  return limit === null || periodMs === null ? null : { limit, period: Number(periodMs) };
}

function toInfo(r: QueueRow): QueueInfo {
  return {
    name: r.name,
    paused: r.paused,
    concurrency: r.concurrency,
    rateLimit: rate(r.rate_limit, r.rate_period_ms),
    groupConcurrency: r.group_concurrency,
    groupRateLimit: rate(r.group_rate_limit, r.group_rate_period_ms),
    counts: {
      pending: r.pending,
      running: r.running,
      completed: r.completed,
      failed: r.failed,
      cancelled: r.cancelled,
    },
  };
}
