import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { PgschedValidationError } from '../errors.js';
import { describe, UsageError } from './context.js';
import { registerDashboard } from './dashboard.js';
import { registerDev } from './dev.js';
import { registerEnqueue } from './enqueue.js';
import { registerJobs } from './jobs.js';
import { registerMigrate } from './migrate.js';
import { registerQueues } from './queues.js';
import { registerSchedules } from './schedules.js';
import { registerStats } from './stats.js';
import { registerWorker } from './worker.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function buildProgram(): Command {
  const program = new Command('pgsched')
    .description('Job queue and scheduler on PostgreSQL: migrate, run workers, inspect and steer jobs.')
    .version(VERSION, '-V, --version')
    .helpCommand(false)
    // Errors are ours to print (one line, our exit codes): commander only parses and throws.
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .addHelpText(
      'after',
      `
Every command takes --database-url (default: $DATABASE_URL) and --schema (default: pgsched).
Exit status: 0 on success, 1 on failure, 2 on bad usage.

Examples:
  $ pgsched migrate
  $ pgsched enqueue send-email '{"to":"a@b.c"}' --delay 10s
  $ pgsched jobs list --state failed --json
  $ pgsched dev --worker ./jobs.ts`,
    );
  registerMigrate(program);
  registerWorker(program);
  registerEnqueue(program);
  registerJobs(program);
  registerQueues(program);
  registerSchedules(program);
  registerStats(program);
  registerDashboard(program);
  registerDev(program);
  return program;
}

/** Runs the CLI and returns its exit status: 0 success, 1 failure, 2 bad usage. */
export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return report(error);
  }
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    // `pgsched` or `pgsched jobs` alone: commander has printed the help to stderr
    if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') return 2;
    const unknown = /^error: unknown command '(.*)'/.exec(error.message);
    const message = unknown ? `unknown command: ${unknown[1]}` : error.message.replace(/^error: /, '');
    process.stderr.write(`pgsched: ${message.split('\n')[0]} (see --help)\n`);
    return 2;
  }
  if (error instanceof UsageError || error instanceof PgschedValidationError) {
    process.stderr.write(`pgsched: ${error.message}\n`);
    return 2;
  }
  process.stderr.write(`pgsched: ${describe(error)}\n`);
  return 1;
}
