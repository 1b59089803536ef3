import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { PgschedValidationError } from '../errors.js';
import { validateJobName } from '../identifiers.js';
import type { Registry } from '../registry.js';
import { type ParsedSchedule, parseSchedule } from './definition.js';
import { createScheduleReader } from './read.js';
import { createScheduleStore, scheduleChannel } from './store.js';
import { createTicker, type Ticker, type TickerOptions } from './ticker.js';
import type { Schedule } from './types.js';

export { DST_RULES } from './triggers/index.js';
export type {
  CatchUpPolicy,
  MissedOccurrences,
  OverlapPolicy,
  Schedule,
  ScheduleDefinition,
  ScheduleEntry,
  ScheduleOptions,
  StoredJobOptions,
  UpdatePolicy,
} from './types.js';

export interface SchedulesDeps {
  sql: Sql;
  schema: string;
  registry: Registry;
  maxPayloadBytes: number;
  logger: Logger;
}

function nameArg(field: string, name: unknown): string {
  return validateJobName(field, name);
}

/** Everything the Pgsched class exposes about schedules, so that client.ts only delegates. */
export function createSchedules(deps: SchedulesDeps) {
  const { sql, schema, registry, maxPayloadBytes, logger } = deps;
  const store = createScheduleStore(sql, schema);
  const reader = createScheduleReader(sql, schema);
  const parse = (name: unknown, options: unknown, nameField: string, field: string) =>
    parseSchedule(registry, maxPayloadBytes, name, options, nameField, field);

  return {
    async schedule(name: unknown, options: unknown): Promise<Schedule> {
      const parsed = await parse(name, options, 'schedule.name', 'schedule.options');
      await store.upsert(parsed);
      return (await reader.get(parsed.name))!;
    },
    // async so that bad arguments reject the returned promise rather than throw synchronously
    unschedule: async (name: unknown) => store.unschedule(nameArg('unschedule.name', name)),
    pause: async (name: unknown) => store.pause(nameArg('pauseSchedule.name', name)),
    resume: async (name: unknown) => store.resume(nameArg('resumeSchedule.name', name)),
    get: async (name: unknown) => reader.get(nameArg('getSchedule.name', name)),
    list: () => reader.list(),
    upcoming: async (name: unknown, n: unknown) => reader.upcoming(nameArg('upcoming.name', name), n),
    misses: async (name: unknown, options: { limit?: number } = {}) =>
      reader.misses(nameArg('missedOccurrences.name', name), options?.limit),

    /**
     * Declarative sync for `start({ schedules, removeUnlistedSchedules })`: validates every entry
     * first (nothing is written if one is bad), then upserts them all in one transaction.
     */
    async syncOnStart(entries: unknown, removeUnlisted: boolean): Promise<void> {
      const field = 'start.options.schedules';
      if (entries === undefined) {
        // Without a list, "remove the unlisted ones" would delete every schedule: surely a mistake.
        if (removeUnlisted) {
          throw new PgschedValidationError('start.options.removeUnlistedSchedules', true, `needs ${field}`);
        }
        return;
      }
      if (!Array.isArray(entries)) throw new PgschedValidationError(field, entries, 'expected an array');
      const parsed: ParsedSchedule[] = [];
      for (const [i, entry] of entries.entries()) {
        if (typeof entry !== 'object' || entry === null) {
          throw new PgschedValidationError(
            `${field}[${i}]`,
            entry,
            'expected { name, job, cron | every | iso | at, … }',
          );
        }
        const { name, ...options } = entry as Record<string, unknown>;
        parsed.push(await parse(name, options, `${field}[${i}].name`, `${field}[${i}]`));
      }
      const { results, removed } = await store.sync(parsed, removeUnlisted, field);
      const changed = results.filter((r) => r.changed).map((r) => r.name);
      if (changed.length > 0 || removed.length > 0) logger.info({ changed, removed }, 'schedules synced');
    },

    /** The leader duty; it runs on `runtimeSql`, pgsched's own connections (see connections.ts). */
    ticker: (runtimeSql: Sql, options?: TickerOptions): Ticker =>
      createTicker(runtimeSql, schema, logger, options),

    /** Calls `onChange` whenever a schedule is created, changed or resumed, in any process. */
    async listen(listenSql: Sql, onChange: () => void): Promise<() => Promise<void>> {
      const meta = await listenSql.listen(scheduleChannel(schema), onChange);
      return () => meta.unlisten();
    },
  };
}

export type Schedules = ReturnType<typeof createSchedules>;
