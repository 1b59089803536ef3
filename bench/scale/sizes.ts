import type { Sql } from 'postgres';
import { pgjs } from './pg.js';

export interface Sizes {
  label: string;
  /** Rows in the table, counted. */
  rows: number;
  /** pg_table_size: heap + TOAST + free space map + visibility map. */
  tableBytes: number;
  /** pg_indexes_size: every index of the table. */
  indexesBytes: number;
  indexes: { name: string; bytes: number; oid: number }[];
  liveTup: number;
  deadTup: number;
  autovacuums: number;
  vacuums: number;
}

/** Sizes of pgsched.jobs and each of its indexes, plus the vacuum counters that explain them. */
export async function sizes(sql: Sql, label: string): Promise<Sizes> {
  const [table] = await sql<
    {
      rows: number;
      table_bytes: string;
      indexes_bytes: string;
      live: string;
      dead: string;
      autovacuums: string;
      vacuums: string;
    }[]
  >`
    select (select count(*)::int from pgsched.jobs) as rows,
           pg_table_size(s.relid) as table_bytes, pg_indexes_size(s.relid) as indexes_bytes,
           s.n_live_tup as live, s.n_dead_tup as dead, s.autovacuum_count as autovacuums,
           s.vacuum_count as vacuums
    from pg_stat_user_tables s where s.schemaname = 'pgsched' and s.relname = 'jobs'`;
  const indexes = await sql<{ name: string; bytes: string; oid: number }[]>`
    select c.relname as name, pg_relation_size(c.oid) as bytes, c.oid::int as oid
    from pg_index i join pg_class c on c.oid = i.indexrelid
    where i.indrelid = 'pgsched.jobs'::regclass
    order by c.relname`;
  return {
    label,
    rows: table!.rows,
    tableBytes: Number(table!.table_bytes),
    indexesBytes: Number(table!.indexes_bytes),
    indexes: indexes.map((i) => ({ name: i.name, bytes: Number(i.bytes), oid: i.oid })),
    liveTup: Number(table!.live),
    deadTup: Number(table!.dead),
    autovacuums: Number(table!.autovacuums),
    vacuums: Number(table!.vacuums),
  };
}

export function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.round(bytes / 1024)} kB`;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of statements exactly as pgsched sends them (bound parameters and
 * all): auto_explain on a one-connection client reports each plan as a NOTICE, and the
 * transaction is rolled back so nothing changes. Needs a superuser (LOAD).
 */
export async function explainAsSent(url: string, run: (sql: Sql) => Promise<unknown>): Promise<string> {
  const notices: string[] = [];
  const sql = pgjs(url, { max: 1, onnotice: (n) => notices.push(String(n.message)) });
  try {
    await sql`load 'auto_explain'`;
    await sql`select set_config('auto_explain.log_min_duration', '0', false),
                     set_config('auto_explain.log_analyze', 'on', false),
                     set_config('auto_explain.log_buffers', 'on', false),
                     set_config('auto_explain.log_level', 'notice', false)`;
    await sql`begin`;
    await run(sql);
    await sql`rollback`;
    return notices.filter((n) => n.includes('Query Text')).join('\n') || notices.join('\n');
  } catch (error) {
    return `(no plan: ${(error as Error).message})`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export const fmt = (n: number) => Math.round(n).toLocaleString('en');

export function sizeTable(columns: Sizes[], baseline: Sizes, without: Sizes, withHygiene: Sizes): string {
  const names = baseline.indexes.map((i) => i.name);
  const head = `| relation | ${columns.map((c) => c.label).join(' | ')} | without hygiene ÷ base | with hygiene ÷ base |`;
  const rule = `|---|${columns.map(() => '---:|').join('')}---:|---:|`;
  const ratio = (x: number, base: number) => {
    const r = x / base;
    return `${r.toFixed(2)}×${r <= 2 ? '' : ' (over 2×)'}`;
  };
  const row = (label: string, get: (s: Sizes) => number) =>
    `| ${label} | ${columns.map((c) => mb(get(c))).join(' | ')} | ${ratio(get(without), get(baseline))} | ${ratio(get(withHygiene), get(baseline))} |`;
  const indexBytes = (s: Sizes, name: string) => s.indexes.find((i) => i.name === name)?.bytes ?? 0;
  return [
    head,
    rule,
    `| rows | ${columns.map((c) => fmt(c.rows)).join(' | ')} | | |`,
    row('**table** (pg_table_size)', (s) => s.tableBytes),
    row('**indexes** (pg_indexes_size)', (s) => s.indexesBytes),
    ...names.map((n) => row(`&nbsp;&nbsp;${n}`, (s) => indexBytes(s, n))),
    `| n_dead_tup | ${columns.map((c) => fmt(c.deadTup)).join(' | ')} | | |`,
  ].join('\n');
}
