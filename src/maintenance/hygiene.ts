import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { sleep } from '../retry-delay.js';
import type { Duty } from './leader.js';

export interface HygieneOptions {
  /** How often to look at the table's statistics (one cheap catalog query). Default 5 s. */
  everyMs?: number;
  /** VACUUM once dead tuples reach `vacuumMinDead + vacuumDeadFraction × live tuples`. */
  vacuumMinDead?: number;
  vacuumDeadFraction?: number;
  /** Rebuild an index once it is larger than `reindexRatio` × its estimated compact size… */
  reindexRatio?: number;
  /**
   * …and it would free at least this many bytes and a quarter of the table's heap size (a
   * rebuild reads the whole heap twice: not worth it for a small gain on a large table).
   */
  reindexMinBytes?: number;
  /** Rebuild one index at most this often (also the wait after a failed rebuild). */
  reindexMinIntervalMs?: number;
  /** Cancel a rebuild still running (or waiting for a lock or an old snapshot) after this long. */
  reindexTimeoutMs?: number;
}

export interface HygieneDuty extends Duty {
  /** Resolves once the VACUUM or REINDEX that runOnce() started in the background is over. */
  idle(): Promise<void>;
}

const DEFAULTS: Required<HygieneOptions> = {
  everyMs: 5_000,
  vacuumMinDead: 50_000,
  vacuumDeadFraction: 0.1,
  reindexRatio: 4,
  reindexMinBytes: 256 * 1024,
  reindexMinIntervalMs: 60_000,
  reindexTimeoutMs: 5 * 60_000,
};

const PAGE = 8_192;
const CONFIRM_MS = 1_000;

/** An identifier quoted as postgres.js quotes `sql(name)`. */
const quoteIdent = (name: string) => `"${name.replace(/"/g, '""').replace(/\./g, '"."')}"`;
/** Usable bytes of a btree leaf filled to the default fillfactor (90%) after a rebuild. */
const LEAF_BYTES = (PAGE - 24 - 16) * 0.9;

interface TableStats {
  /** Size of the heap (main fork). */
  heapBytes: number;
  permitted: boolean;
  reltuples: number;
  live: number;
  dead: number;
  vacuuming: boolean;
  building: boolean;
}

interface IndexStats {
  name: string;
  valid: boolean;
  btree: boolean;
  bytes: number;
  /** Index entries at the last VACUUM or ANALYZE (-1: never counted). */
  entries: number;
  /** Sum of the key columns' average widths (pg_stats), 8 per column without statistics. */
  keyWidth: number;
}

/**
 * Vacuum and index hygiene of the jobs table, a leader duty.
 *
 * Every claim, settle and prune leaves a dead row version and dead index entries behind; the
 * claim scan walks over the dead entries at the head of its index until a VACUUM removes them,
 * and autovacuum visits a database only every `autovacuum_naptime` (1 min by default), during
 * which a fast drain leaves millions of them. So this duty VACUUMs the table once its dead
 * tuples pass a threshold. VACUUM only marks emptied index pages reusable: after a large backlog
 * has been processed and pruned, the indexes keep their peak size, so an index larger than
 * `reindexRatio` × the size its live entries need is rebuilt with REINDEX INDEX CONCURRENTLY
 * (no lock that blocks reads or writes). Both run in the background, one at a time, so the
 * leader's other duties (the ticker) never wait on them; the check itself is one catalog query.
 */
export function createHygiene(
  sql: Sql,
  schema: string,
  logger: Logger,
  options: HygieneOptions = {},
): HygieneDuty {
  const o = { ...DEFAULTS, ...options };
  const lastReindex = new Map<string, number>();
  let task: Promise<void> | undefined;
  let warnedPermission = false;

  async function tableStats(): Promise<TableStats | undefined> {
    const [row] = await sql<
      {
        heap_bytes: string;
        permitted: boolean;
        reltuples: number;
        live: string;
        dead: string;
        vacuuming: boolean;
        building: boolean;
      }[]
    >`
      select pg_relation_size(t.oid) as heap_bytes,
             pg_has_role(t.relowner, 'USAGE') or (select rolsuper from pg_roles where rolname = current_user)
               as permitted,
             t.reltuples::float8 as reltuples,
             coalesce(s.n_live_tup, 0) as live, coalesce(s.n_dead_tup, 0) as dead,
             exists(select 1 from pg_stat_progress_vacuum v where v.relid = t.oid) as vacuuming,
             exists(select 1 from pg_stat_progress_create_index b where b.relid = t.oid) as building
      from pg_class t
      join pg_namespace n on n.oid = t.relnamespace
      left join pg_stat_user_tables s on s.relid = t.oid
      where n.nspname = ${schema} and t.relname = 'jobs' and t.relkind = 'r'`;
    if (!row) return undefined;
    const { heap_bytes, ...rest } = row;
    return { ...rest, heapBytes: Number(heap_bytes), live: Number(row.live), dead: Number(row.dead) };
  }

  async function indexStats(): Promise<IndexStats[]> {
    const rows = await sql<(Omit<IndexStats, 'bytes'> & { bytes: string })[]>`
      select c.relname as name, i.indisvalid as valid, am.amname = 'btree' as btree,
             pg_relation_size(c.oid) as bytes, c.reltuples::float8 as entries,
             (select coalesce(sum(coalesce(st.avg_width, 8)), 8)::float8
              from unnest(i.indkey::int2[]) k(attnum)
              join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
              left join pg_stats st on st.schemaname = n.nspname and st.tablename = t.relname
                                   and st.attname = a.attname) as "keyWidth"
      from pg_index i
      join pg_class c on c.oid = i.indexrelid
      join pg_class t on t.oid = i.indrelid
      join pg_namespace n on n.oid = t.relnamespace
      join pg_am am on am.oid = c.relam
      where n.nspname = ${schema} and t.relname = 'jobs'
      order by c.relname`;
    return rows.map((r) => ({ ...r, bytes: Number(r.bytes) }));
  }

  const needsVacuum = (t: TableStats) =>
    !t.vacuuming && t.dead >= o.vacuumMinDead + o.vacuumDeadFraction * t.live;

  /**
   * The size a freshly built btree would have: entries (the count at the last VACUUM/ANALYZE,
   * scaled by how much the table's live row count changed since) × tuple size, at 90% fill.
   */
  function estimateBytes(index: IndexStats, table: TableStats): number {
    const growth = Math.max(1, table.live) / Math.max(1, table.reltuples);
    const entries = index.entries * growth;
    const tupleBytes = 8 + 4 + Math.ceil(index.keyWidth / 8) * 8; // header, line pointer, MAXALIGNed key
    return (Math.ceil((entries * tupleBytes) / LEAF_BYTES) + 2) * PAGE; // + metapage and root
  }

  function bloated(table: TableStats, indexes: IndexStats[], now: number): IndexStats[] {
    if (table.reltuples < 0 || table.building) return []; // never counted, or a rebuild is running
    return indexes.filter((i) => {
      if (!i.valid || !i.btree || i.entries < 0) return false;
      const estimate = estimateBytes(i, table);
      return (
        i.bytes > o.reindexRatio * estimate &&
        i.bytes - estimate >= Math.max(o.reindexMinBytes, table.heapBytes / 4) &&
        now - (lastReindex.get(i.name) ?? Number.NEGATIVE_INFINITY) >= o.reindexMinIntervalMs
      );
    });
  }

  /** Invalid leftovers of an interrupted REINDEX CONCURRENTLY (`<index>_ccnew`, `_ccold`). */
  const leftovers = (table: TableStats, indexes: IndexStats[]) =>
    table.building ? [] : indexes.filter((i) => !i.valid && /_cc(new|old)\d*$/.test(i.name));

  const qualified = (name: string) => sql`${sql(schema)}.${sql(name)}`;

  async function vacuum(table: TableStats): Promise<void> {
    const started = Date.now();
    // SKIP_LOCKED: if autovacuum (or another leader) is at it, there is nothing to wait for.
    await sql`vacuum (skip_locked) ${qualified('jobs')}`.simple();
    logger.debug({ dead: table.dead, live: table.live, ms: Date.now() - started }, 'hygiene: vacuumed jobs');
  }

  async function reindex(index: IndexStats, estimate: number): Promise<void> {
    lastReindex.set(index.name, Date.now());
    const statement = sql`reindex index concurrently ${qualified(index.name)}`.simple();
    const started = Date.now();
    // REINDEX CONCURRENTLY waits for every transaction older than its snapshot; a very long one
    // (or a lock held by another rebuild) would keep it, and its table lock, around: cancel it.
    // What it leaves behind (an invalid `_ccnew` index) is dropped on a later pass.
    // Matched on the exact statement text, schema-qualified as sent, so that another schema's
    // rebuild of a same-named index (or any other query mentioning it) is never cancelled.
    const text = `reindex index concurrently ${quoteIdent(schema)}.${quoteIdent(index.name)}`;
    const watchdog = setTimeout(() => {
      sql`select pg_cancel_backend(a.pid) from pg_stat_activity a
          where a.datname = current_database() and a.pid <> pg_backend_pid() and a.state = 'active'
            and a.query = ${text}`.catch(() => {});
    }, o.reindexTimeoutMs);
    try {
      await statement;
      const [row] = await sql<{ bytes: string }[]>`
        select pg_relation_size(c.oid) as bytes from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${schema} and c.relname = ${index.name}`;
      logger.info(
        {
          index: index.name,
          before: index.bytes,
          after: Number(row?.bytes ?? 0),
          estimate,
          ms: Date.now() - started,
        },
        'hygiene: rebuilt bloated index',
      );
    } catch (error) {
      // Another leader rebuilding the same index, a cancelled rebuild, a dropped index: try later.
      logger.warn({ err: error, index: index.name }, 'hygiene: could not rebuild index; will retry later');
    } finally {
      clearTimeout(watchdog);
    }
  }

  async function dropLeftover(index: IndexStats): Promise<void> {
    try {
      await sql`drop index concurrently if exists ${qualified(index.name)}`.simple();
      logger.info(
        { index: index.name },
        'hygiene: dropped the leftover of an interrupted REINDEX CONCURRENTLY',
      );
    } catch (error) {
      logger.warn({ err: error, index: index.name }, 'hygiene: could not drop leftover index');
    }
  }

  async function work(table: TableStats): Promise<void> {
    if (needsVacuum(table)) await vacuum(table);
    // After a VACUUM the entry counts are fresh; read everything again.
    const fresh = (await tableStats()) ?? table;
    const indexes = await indexStats();
    for (const leftover of leftovers(fresh, indexes)) await dropLeftover(leftover);
    if (bloated(fresh, indexes, Date.now()).length === 0) return;
    // Confirmed a second later: before PostgreSQL 15 the live-row count arrives late and is briefly
    // wrong after a VACUUM (1, then the right count), which made a compact index look bloated.
    await sleep(CONFIRM_MS);
    const confirmed = (await tableStats()) ?? fresh;
    for (const index of bloated(confirmed, await indexStats(), Date.now()))
      await reindex(index, estimateBytes(index, confirmed));
  }

  return {
    name: 'hygiene',
    async runOnce() {
      if (task) return o.everyMs;
      const table = await tableStats();
      if (!table) return o.everyMs; // not migrated yet
      if (!table.permitted) {
        if (!warnedPermission) {
          warnedPermission = true;
          logger.info(
            { schema },
            'hygiene: not the owner of the jobs table; leaving VACUUM and REINDEX to autovacuum',
          );
        }
        return o.everyMs;
      }
      const indexes = needsVacuum(table) ? [] : await indexStats();
      const due =
        needsVacuum(table) ||
        leftovers(table, indexes).length > 0 ||
        bloated(table, indexes, Date.now()).length > 0;
      if (!due) return o.everyMs;
      task = work(table)
        .catch((error) => logger.warn({ err: error }, 'hygiene pass failed; will retry'))
        .finally(() => {
          task = undefined;
        });
      return o.everyMs;
    },
    async idle() {
      await task;
    },
  };
}
