import type { Sql, TransactionSql } from 'postgres';
import { PgschedConflictError, PgschedValidationError } from '../errors.js';
import { pgArray } from '../pg-array.js';
import { transaction } from '../transaction.js';
import {
  type DefinitionColumns,
  definitionKey,
  fromColumns,
  type ParsedSchedule,
  toColumns,
  triggerKey,
  triggerOf,
} from './definition.js';
import { createTickerQueries } from './ticker-queries.js';

/** The `schedules` row as the writers read it. */
interface StoredRow extends DefinitionColumns {
  name: string;
  version: number;
  paused: boolean;
  next_fire_at: Date | null;
  pending: DefinitionColumns | null;
}

/** Result of one upsert. */
export interface UpsertResult {
  name: string;
  version: number;
  /** False when the definition was identical and nothing was written. */
  changed: boolean;
}

/** The channel the ticker listens on, so a new or changed schedule is looked at without waiting for a tick. */
export function scheduleChannel(schema: string): string {
  return `${schema}.schedules`;
}

/** Writes to `schedules`. Every change happens in one transaction under the row's lock. */
export function createScheduleStore(sql: Sql, schema: string) {
  const schedules = sql`${sql(schema)}.schedules`;
  const channel = scheduleChannel(schema);
  const ticker = createTickerQueries(sql, schema);
  const dbNow = async (tx: TransactionSql) => (await tx<{ now: Date }[]>`select now() as now`)[0]!.now;
  const lockRow = async (tx: TransactionSql, name: string) =>
    (await tx<StoredRow[]>`select * from ${schedules} where name = ${name} for update`)[0];
  const notify = (tx: TransactionSql, name: string) => tx`select pg_notify(${channel}, ${name})`;

  async function upsertIn(tx: TransactionSql, s: ParsedSchedule): Promise<UpsertResult> {
    const now = await dbNow(tx);
    const cols = toColumns(s.definition);
    let row = await lockRow(tx, s.name);
    if (!row) {
      if (s.expectedVersion !== undefined && s.expectedVersion !== 0) {
        throw new PgschedConflictError('schedule', s.name, s.expectedVersion, null);
      }
      const [created] = await tx<{ version: number }[]>`
        insert into ${schedules} (name, spec, tz, start_at, end_at, job, payload, options, catch_up, misfire_grace_ms,
                                  overlap, next_fire_at)
        values (${s.name}, ${json(cols.spec)}::text::jsonb, ${cols.tz}, ${cols.start_at}::timestamptz, ${cols.end_at}::timestamptz, ${cols.job},
                ${json(cols.payload)}::text::jsonb, ${json(cols.options)}::text::jsonb,
                ${json(cols.catch_up)}::text::jsonb, ${cols.misfire_grace_ms}, ${cols.overlap},
                ${s.trigger.next(now)}::timestamptz)
        on conflict (name) do nothing
        returning version`;
      if (created) {
        await notify(tx, s.name);
        return { name: s.name, version: created.version, changed: true };
      }
      // Created concurrently by another writer since our read: carry on as an update of that row.
      row = (await lockRow(tx, s.name))!;
    }
    if (s.expectedVersion !== undefined && row.version !== s.expectedVersion) {
      throw new PgschedConflictError('schedule', s.name, s.expectedVersion, row.version);
    }
    const current = fromColumns(row);
    const latest = row.pending ? fromColumns(row.pending) : current;
    const key = definitionKey(s.definition);
    // Declarative sync re-sends unchanged definitions at every start: those must not move the
    // schedule (recomputing from now would drop the occurrences that catch-up should handle).
    if (key === definitionKey(latest)) return { name: s.name, version: row.version, changed: false };

    let updated: { version: number }[];
    if (
      s.updatePolicy === 'graceful' &&
      !row.paused &&
      row.next_fire_at !== null &&
      key !== definitionKey(current)
    ) {
      updated = await tx`
        update ${schedules} set pending = ${json(cols)}::text::jsonb, version = version + 1,
          update_policy = 'graceful', updated_at = now()
        where name = ${s.name} returning version`;
    } else {
      const sameTrigger = triggerKey(current) === triggerKey(s.definition);
      const next = sameTrigger ? row.next_fire_at : s.trigger.next(now);
      updated = await tx`
        update ${schedules} set spec = ${json(cols.spec)}::text::jsonb, tz = ${cols.tz}, start_at = ${cols.start_at}::timestamptz,
          end_at = ${cols.end_at}::timestamptz, job = ${cols.job}, payload = ${json(cols.payload)}::text::jsonb,
          options = ${json(cols.options)}::text::jsonb, catch_up = ${json(cols.catch_up)}::text::jsonb,
          misfire_grace_ms = ${cols.misfire_grace_ms}, overlap = ${cols.overlap}, next_fire_at = ${next}::timestamptz,
          pending = null, version = version + 1, update_policy = ${s.updatePolicy}, updated_at = now()
        where name = ${s.name} returning version`;
    }
    await notify(tx, s.name);
    return { name: s.name, version: updated[0]!.version, changed: true };
  }

  return {
    /** Creates or updates one schedule. */
    upsert: (s: ParsedSchedule) => transaction(sql, (tx) => upsertIn(tx, s)),

    /**
     * Upserts every listed schedule in one transaction (all or nothing), in name order so that
     * processes syncing at once queue on row locks instead of deadlocking; optionally deletes the
     * schedules not listed. Returns what changed.
     */
    async sync(list: ParsedSchedule[], removeUnlisted: boolean, field: string) {
      const seen = new Set<string>();
      list.forEach((s, i) => {
        if (seen.has(s.name)) {
          throw new PgschedValidationError(
            `${field}[${i}].name`,
            s.name,
            'a schedule with this name is listed twice',
          );
        }
        seen.add(s.name);
      });
      const sorted = [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return transaction(sql, async (tx) => {
        const results: UpsertResult[] = [];
        for (const s of sorted) results.push(await upsertIn(tx, s));
        const removed = removeUnlisted
          ? (
              await tx<{ name: string }[]>`
              delete from ${schedules} where name <> all(${pgArray([...seen])}::text[]) returning name`
            ).map((r) => r.name)
          : [];
        return { results, removed };
      });
    },

    async unschedule(name: string): Promise<boolean> {
      const rows = await sql`delete from ${schedules} where name = ${name} returning name`;
      return rows.length > 0;
    },

    /**
     * Pauses: nothing fires until resumed. A pending graceful update takes effect now, since the
     * occurrence it was waiting for will not fire. False if there is no such schedule.
     */
    pause: (name: string) =>
      transaction(sql, async (tx) => {
        const row = await lockRow(tx, name);
        if (!row) return false;
        if (row.paused) return true;
        await ticker.promote(tx, [name]);
        await tx`update ${schedules} set paused = true, version = version + 1, updated_at = now() where name = ${name}`;
        return true;
      }),

    /**
     * Resumes from now: occurrences that fell in the pause are neither enqueued nor recorded as
     * missed (nobody missed them; they were paused on purpose).
     */
    resume: (name: string) =>
      transaction(sql, async (tx) => {
        const row = await lockRow(tx, name);
        if (!row) return false;
        if (!row.paused) return true;
        const next = triggerOf(fromColumns(row)).next(await dbNow(tx));
        await tx`
          update ${schedules} set paused = false, next_fire_at = ${next}::timestamptz, version = version + 1, updated_at = now()
          where name = ${name}`;
        await notify(tx, name);
        return true;
      }),
  };
}

/** JSON text for a jsonb parameter (`::text::jsonb`), so strings and null are stored as JSON values. */
function json(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

export type ScheduleStore = ReturnType<typeof createScheduleStore>;
