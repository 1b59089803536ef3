import type { Sql } from 'postgres';
import { PgschedValidationError } from '../errors.js';
import { type DefinitionColumns, fromColumns, triggerOf } from './definition.js';
import type { MissedOccurrences, Schedule, UpdatePolicy } from './types.js';

interface ScheduleRow extends DefinitionColumns {
  name: string;
  update_policy: UpdatePolicy;
  paused: boolean;
  version: number;
  next_fire_at: Date | null;
  last_fire_at: Date | null;
  run_count: number;
  pending: DefinitionColumns | null;
  created_at: Date;
  updated_at: Date;
}

function toSchedule(row: ScheduleRow): Schedule {
  return {
    name: row.name,
    ...fromColumns(row),
    paused: row.paused,
    version: row.version,
    nextFireAt: row.next_fire_at,
    lastFireAt: row.last_fire_at,
    runCount: row.run_count,
    updatePolicy: row.update_policy,
    pending: row.pending ? fromColumns(row.pending) : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function positiveInt(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new PgschedValidationError(
      field,
      value,
      `expected an integer from 1 to ${max.toLocaleString('en')}`,
    );
  }
  return value;
}

/** Read-only views of schedules: nothing here writes. */
export function createScheduleReader(sql: Sql, schema: string) {
  const schedules = sql`${sql(schema)}.schedules`;
  const misses = sql`${sql(schema)}.schedule_misses`;
  const columns = sql`name, spec, tz, start_at, end_at, job, payload, options, catch_up, misfire_grace_ms, overlap,
    update_policy, paused, version, next_fire_at, last_fire_at, run_count::float8 as run_count, pending, created_at,
    updated_at`;

  async function get(name: string): Promise<Schedule | null> {
    const [row] = await sql<ScheduleRow[]>`select ${columns} from ${schedules} where name = ${name}`;
    return row ? toSchedule(row) : null;
  }

  return {
    get,

    async list(): Promise<Schedule[]> {
      const rows = await sql<ScheduleRow[]>`select ${columns} from ${schedules} order by name`;
      return rows.map(toSchedule);
    },

    /**
     * The next `n` fire times the ticker would handle, computed from the stored trigger without
     * running anything: from nextFireAt (which may be overdue), or for a paused schedule from now
     * (that is where resuming starts). A pending graceful update takes over after nextFireAt.
     */
    async upcoming(name: string, n: unknown): Promise<Date[]> {
      const count = positiveInt('upcoming.n', n, 10_000);
      const schedule = await get(name);
      if (!schedule) return [];
      let trigger = triggerOf(schedule);
      let after: Date;
      const out: Date[] = [];
      if (schedule.paused) {
        const [row] = await sql<{ now: Date }[]>`select now() as now`;
        after = row!.now;
      } else if (schedule.nextFireAt === null) {
        return [];
      } else if (schedule.pending) {
        const first = trigger.next(new Date(schedule.nextFireAt.getTime() - 1));
        if (first !== null && first.getTime() === schedule.nextFireAt.getTime()) out.push(first);
        trigger = triggerOf(schedule.pending);
        after = schedule.nextFireAt;
      } else {
        after = new Date(schedule.nextFireAt.getTime() - 1);
      }
      for (let t = trigger.next(after); t !== null && out.length < count; t = trigger.next(t)) out.push(t);
      return out;
    },

    /** Recorded stretches of skipped occurrences, newest first. */
    async misses(name: string, limit: unknown = 100): Promise<MissedOccurrences[]> {
      const n = positiveInt('missedOccurrences.options.limit', limit, 10_000);
      return sql<MissedOccurrences[]>`
        select reason, first_at as "firstAt", last_at as "lastAt", count, recorded_at as "recordedAt"
        from ${misses} where schedule = ${name} order by id desc limit ${n}`;
    },
  };
}

export type ScheduleReader = ReturnType<typeof createScheduleReader>;
