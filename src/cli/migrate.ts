import type { Command } from 'commander';
import { migrate } from '../migrate.js';
import { connect, type DbOptions, databaseUrl, example, schemaOf, withDb } from './context.js';

interface MigrateOptions extends DbOptions {
  dryRun?: boolean;
}

export function registerMigrate(program: Command): void {
  const command = withDb(program.command('migrate'))
    .description("apply pgsched's pending migrations (safe to run from many processes at once)")
    .option('--dry-run', 'print the SQL that would run, change nothing')
    .action((options: MigrateOptions) => runMigrate(options));
  example(
    command,
    'DATABASE_URL=postgres://localhost/app pgsched migrate',
    'pgsched migrate --dry-run --schema jobs',
  );
}

async function runMigrate(options: MigrateOptions): Promise<void> {
  const schema = schemaOf(options);
  const sql = connect(databaseUrl(options), 1);
  try {
    const dryRun = options.dryRun ?? false;
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
  } finally {
    await sql.end({ timeout: 5 });
  }
}
