#!/usr/bin/env node
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { PgschedError, PgschedValidationError } from './errors.js';
import { validateSchemaName } from './identifiers.js';
import { migrate } from './migrate.js';

const HELP = `Usage: pgsched migrate [options]

Applies pgsched's pending migrations to a PostgreSQL database. Safe to run from many
processes at once.

Options:
  --database-url <url>  PostgreSQL connection URL (default: $DATABASE_URL)
  --schema <name>       schema of pgsched's tables (default: pgsched)
  --dry-run             print the SQL that would run, change nothing
  -h, --help            show this help

Exit status: 0 on success, 1 on failure, 2 on bad usage.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`pgsched: ${(error as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  try {
    if (positionals.length !== 1 || positionals[0] !== 'migrate') {
      throw new UsageError(`unknown command: ${positionals.join(' ') || '(none)'}`);
    }
    const schema = validateSchemaName('--schema', values.schema ?? 'pgsched');
    const url = values['database-url'] ?? process.env.DATABASE_URL;
    if (!url) throw new UsageError('no database: pass --database-url or set DATABASE_URL');
    return await runMigrate(connect(url), schema, values['dry-run'] ?? false);
  } catch (error) {
    if (error instanceof UsageError || error instanceof PgschedValidationError) {
      process.stderr.write(`pgsched: ${error.message}\n\n${HELP}\n`);
      return 2;
    }
    process.stderr.write(`pgsched: ${describe(error)}\n`);
    return 1;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      'database-url': { type: 'string' },
      schema: { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function connect(url: string) {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new PgschedError(
      `invalid database URL "${redact(url)}": expected postgres://user:password@host:port/database`,
    );
  }
  return postgres(url, { max: 1, connect_timeout: 10, onnotice: () => {} });
}

async function runMigrate(sql: postgres.Sql, schema: string, dryRun: boolean): Promise<number> {
  try {
    const result = await migrate(sql, schema, { dryRun });
    if (dryRun) {
      if (result.pending.length === 0) process.stdout.write(`-- schema "${schema}" is up to date\n`);
      for (const m of result.pending)
        process.stdout.write(`-- ${String(m.version).padStart(4, '0')}_${m.name}.sql\n${m.sql}\n`);
    } else if (result.applied.length === 0) {
      process.stdout.write(`schema "${schema}" is up to date (version ${result.currentVersion})\n`);
    } else {
      process.stdout.write(
        `applied ${result.applied.join(', ')}; schema "${schema}" is at version ${result.currentVersion}\n`,
      );
    }
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** One line, no stack: the CLI's audience wants the cause, not our call frames. */
function describe(error: unknown): string {
  const e = error as { message?: string; code?: string; address?: string; port?: number };
  if (e.code === 'ECONNREFUSED')
    return `could not connect to the database at ${e.address ?? '?'}:${e.port ?? '?'} (connection refused)`;
  if (e.code === 'ENOTFOUND') return `could not connect to the database: host not found (${e.message})`;
  if (e.code === 'CONNECT_TIMEOUT') return 'could not connect to the database: timed out';
  return e.message ?? String(error);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

process.exitCode = await main(process.argv.slice(2));
