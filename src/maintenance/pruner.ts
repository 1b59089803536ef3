import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { Duty } from './leader.js';

export interface RetentionMs {
  completed: number;
  failed: number;
  cancelled: number;
}

const BATCH = 5_000;

/**
 * Deletes finished jobs older than their retention, in small batches so it never holds long
 * locks, and keeps going in later passes when there is more to delete.
 */
export function createPruner(
  sql: Sql,
  schema: string,
  retention: RetentionMs,
  logger: Logger,
  everyMs = 10_000,
): Duty {
  const jobs = sql`${sql(schema)}.jobs`;
  const shortest = Math.min(retention.completed, retention.failed, retention.cancelled);
  return {
    name: 'pruner',
    async runOnce() {
      const rows = await sql<{ id: string }[]>`
        delete from ${jobs} where id in (
          select id from ${jobs}
          where state in ('completed', 'failed', 'cancelled')
            and finished_at < now() - ${shortest}::bigint * interval '1 millisecond' -- index range
            and finished_at < now() - case state
              when 'completed' then ${retention.completed}::bigint
              when 'failed' then ${retention.failed}::bigint
              else ${retention.cancelled}::bigint end * interval '1 millisecond'
          limit ${BATCH}
          for update skip locked)
        returning id`;
      if (rows.length > 0) logger.debug({ pruned: rows.length }, 'pruned finished jobs');
      return rows.length === BATCH ? 50 : everyMs;
    },
  };
}
