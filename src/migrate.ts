import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from 'postgres';
import { z } from 'zod';
import { PgschedSchemaTooNewError, PgschedValidationError } from './errors.js';
import { validateSchemaName } from './identifiers.js';
import { parseOptions } from './options.js';
import { transaction } from './transaction.js';

/** One numbered file of `sql/`. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The file's SQL with the schema placeholder replaced. */
  readonly sql: string;
}

export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was already current). */
  readonly applied: number[];
  /** Versions that would be applied, with their SQL (filled for dry runs and real runs). */
  readonly pending: Migration[];
  readonly currentVersion: number;
}

const SQL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'sql');
const FILE_RE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Every migration shipped with this package, in order, rendered for `schema`. */
export function loadMigrations(schema: string): Migration[] {
  const quoted = `"${validateSchemaName('schema', schema)}"`;
  return readdirSync(SQL_DIR)
    .map((file) => ({ file, match: FILE_RE.exec(file) }))
    .filter((entry): entry is { file: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ file, match }) => ({
      version: Number(match[1]),
      name: match[2]!,
      sql: readFileSync(join(SQL_DIR, file), 'utf8').replaceAll(':SCHEMA', quoted),
    }))
    .sort((a, b) => a.version - b.version);
}

const migrateOptions = z.strictObject({ dryRun: z.boolean().optional() });

/**
 * Applies pending migrations forward-only, each in its own transaction. Every transaction
 * first takes a transaction-level advisory lock keyed on the schema, so any number of
 * processes may migrate at once: they queue on the lock and the late ones find nothing to do.
 */
export async function migrate(
  sql: Sql,
  schema: string,
  options: { dryRun?: boolean } = {},
): Promise<MigrateResult> {
  if (typeof sql !== 'function' || typeof (sql as { unsafe?: unknown }).unsafe !== 'function') {
    throw new PgschedValidationError('migrate.sql', sql, 'expected a postgres.js client');
  }
  const { dryRun = false } = parseOptions(migrateOptions, options, 'migrate.options');
  const migrations = loadMigrations(schema);
  const latest = migrations.at(-1)?.version ?? 0;
  const applied: number[] = [];
  const current = await currentVersion(sql, schema);
  if (current > latest) throw new PgschedSchemaTooNewError(schema, current, latest);
  const pending = migrations.filter((m) => m.version > current);
  if (dryRun) return { applied, pending, currentVersion: current };

  for (const migration of pending) {
    await transaction(sql, async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext(${`pgsched:migrate:${schema}`}))`;
      // "already exists, skipping" notices would reach a default client's console.log twice per file.
      await tx`set local client_min_messages = warning`;
      await tx`create schema if not exists ${tx(schema)}`;
      await tx`create table if not exists ${tx(schema)}.migrations (
        version integer primary key, name text not null, applied_at timestamptz not null default now())`;
      const [row] = await tx<
        { version: number | null }[]
      >`select max(version) as version from ${tx(schema)}.migrations`;
      const done = row?.version ?? 0;
      if (done > latest) throw new PgschedSchemaTooNewError(schema, done, latest);
      if (done >= migration.version) return;
      await tx.unsafe(migration.sql);
      await tx`insert into ${tx(schema)}.migrations (version, name) values (${migration.version}, ${migration.name})`;
      applied.push(migration.version);
    });
  }
  return { applied, pending, currentVersion: await currentVersion(sql, schema) };
}

async function currentVersion(sql: Sql, schema: string): Promise<number> {
  const [exists] = await sql<
    { found: boolean }[]
  >`select to_regclass(${`"${schema}".migrations`}) is not null as found`;
  if (!exists?.found) return 0;
  const [row] = await sql<
    { version: number | null }[]
  >`select max(version) as version from ${sql(schema)}.migrations`;
  return row?.version ?? 0;
}
