import type { Sql } from 'postgres';
import { pgArray } from '../pg-array.js';

/** What a process records about itself. */
export interface WorkerEntry {
  id: string;
  host: string;
  pid: number;
  queues: string[] | null;
  names: string[];
  concurrency: number;
}

/** A live process as `listWorkers()` returns it. */
export interface WorkerInfo extends WorkerEntry {
  /** Whether it held leadership at its last beat. */
  leader: boolean;
  /** Jobs it is running now (from the jobs table). */
  running: number;
  startedAt: Date;
  lastSeenAt: Date;
  /** It disappears from the list after this time unless it beats again. */
  expiresAt: Date;
}

/** Every statement of the workers registry (table `workers`, sql/0007). */
export function createWorkerQueries(sql: Sql, schema: string) {
  const workers = sql`${sql(schema)}.workers`;
  return {
    /**
     * Records (or refreshes) this process, and deletes the entries of dead processes and counter
     * buckets older than two hours: housekeeping that any live process may do, idempotently.
     */
    beat: (w: WorkerEntry, leader: boolean, ttlMs: number) => sql`
      with upsert as (
        insert into ${workers} (id, host, pid, queues, names, concurrency, leader, expires_at)
        values (${w.id}, ${w.host}, ${w.pid}, ${w.queues === null ? null : pgArray(w.queues)}::text[],
                ${pgArray(w.names)}::text[], ${w.concurrency}, ${leader},
                now() + ${ttlMs}::bigint * interval '1 millisecond')
        on conflict (id) do update
          set leader = excluded.leader, last_seen_at = now(), expires_at = excluded.expires_at
        returning 1
      ), dead as (
        delete from ${workers} where expires_at < now() and id <> ${w.id} returning 1
      ), old as (
        delete from ${sql(schema)}.job_counts where bucket < now() - interval '2 hours' returning 1
      )
      select (select count(*) from upsert) + (select count(*) from dead) + (select count(*) from old) as n`,

    remove: (id: string) => sql`delete from ${workers} where id = ${id}`,

    list: () => sql<WorkerInfo[]>`
      -- as JSON: arrays then parse whatever array types the client has (or has not) loaded.
      select w.id, w.host, w.pid, to_jsonb(w.queues) as queues, to_jsonb(w.names) as names, w.concurrency, w.leader,
             (select count(*) from ${sql(schema)}.jobs j where j.state = 'running' and j.locked_by = w.id)::int as running,
             w.started_at as "startedAt", w.last_seen_at as "lastSeenAt", w.expires_at as "expiresAt"
      from ${workers} w
      where w.expires_at > now()
      order by w.started_at, w.id`,
  };
}

export type WorkerQueries = ReturnType<typeof createWorkerQueries>;
