import type { Command } from 'commander';
import { pino } from 'pino';
import postgres from 'postgres';
import { Pgsched } from '../client.js';
import { PgschedError } from '../errors.js';
import { validateSchemaName } from '../identifiers.js';

/** Bad usage (exit status 2): a missing argument, a flag with a bad value, no database given. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options every command that talks to the database accepts. */
export interface DbOptions {
  databaseUrl?: string;
  schema: string;
}

/** Adds `--database-url` and `--schema` to a command. */
export function withDb(command: Command): Command {
  return command
    .option('--database-url <url>', 'PostgreSQL connection URL (default: $DATABASE_URL)')
    .option('--schema <name>', "schema of pgsched's tables", 'pgsched');
}

/** Adds an "Example" section to a command's --help. */
export function example(command: Command, ...lines: string[]): Command {
  const title = lines.length > 1 ? 'Examples' : 'Example';
  return command.addHelpText('after', `\n${title}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`);
}

/** Adds `--json` to a read command. */
export function withJson(command: Command): Command {
  return command.option('--json', 'print JSON instead of a table');
}

/** The URL from the flag or the environment, or a usage error that says where to put it. */
export function databaseUrl(options: DbOptions): string {
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  if (!url) throw new UsageError('no database: pass --database-url or set DATABASE_URL');
  return url;
}

export function schemaOf(options: DbOptions): string {
  return validateSchemaName('--schema', options.schema);
}

/** A small client for one CLI invocation; notices are noise on a terminal. */
export function connect(url: string, max = 2): postgres.Sql {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new PgschedError(
      `invalid database URL "${redact(url)}": expected postgres://user:password@host:port/database`,
    );
  }
  return postgres(url, { max, connect_timeout: 10, onnotice: () => {} });
}

/** Logs of the CLI's own client are off unless PGSCHED_LOG_LEVEL asks for them. */
export function cliLogger(level = process.env.PGSCHED_LOG_LEVEL ?? 'silent') {
  return pino({ name: 'pgsched', level }, pino.destination(2));
}

/**
 * Runs `body` with a Pgsched on the command's database and closes the connection after, so the
 * process exits as soon as the command is done.
 */
export async function withPgsched<T>(options: DbOptions, body: (pgsched: Pgsched) => Promise<T>): Promise<T> {
  const schema = schemaOf(options);
  const sql = connect(databaseUrl(options));
  try {
    return await body(new Pgsched({ sql, schema, logger: cliLogger() }));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** One line, no stack: the CLI's audience wants the cause, not our call frames. */
export function describe(error: unknown): string {
  const e = error as { message?: string; code?: string; address?: string; port?: number };
  if (e.code === 'ECONNREFUSED')
    return `could not connect to the database at ${e.address ?? '?'}:${e.port ?? '?'} (connection refused)`;
  if (e.code === 'ENOTFOUND') return `could not connect to the database: host not found (${e.message})`;
  if (e.code === 'CONNECT_TIMEOUT') return 'could not connect to the database: timed out';
  // undefined_table / undefined_function: the schema has not been migrated (or is another one)
  if (e.code === '42P01' || e.code === '3F000')
    return `${e.message}: is the schema migrated? run \`pgsched migrate\` (and check --schema)`;
  return (e.message ?? String(error)).split('\n')[0]!;
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** Parses a positive integer flag, or throws a usage error naming the flag. */
export function intOption(flag: string, text: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`invalid ${flag} "${text}": expected an integer from ${min} to ${max}`);
  }
  return n;
}

/** Parses a JSON argument, or throws a usage error naming it. */
export function jsonArgument(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`invalid JSON ${what}: ${(error as Error).message}`);
  }
}
