import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PgschedError } from '../errors.js';

const run = promisify(execFile);

/** The OS account the server processes run as: ids to pass to spawn(), or none (ourselves). */
export interface ServerUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  /** True when we switch to this user (we are root); spawn() then needs `uid` and `gid`. */
  readonly switched: boolean;
}

/**
 * PostgreSQL refuses to run as root. As root the server runs as the `postgres` OS user, created
 * (as a system account without a home or login shell) when the machine has none; anyone else
 * runs it as themselves.
 */
export async function serverUser(): Promise<ServerUser> {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (uid === undefined || gid === undefined) {
    throw new PgschedError('The embedded PostgreSQL runs on Linux and macOS only');
  }
  if (uid !== 0) return { name: String(uid), uid, gid, switched: false };
  let ids = await lookup('postgres');
  if (!ids) {
    await run('groupadd', ['--system', 'postgres']).catch(() => {}); // exit 9: the group exists
    await run('useradd', [
      '--system',
      '--gid',
      'postgres',
      '--no-create-home',
      '--shell',
      '/bin/false',
      'postgres',
    ]).catch((error: Error) => {
      throw new PgschedError(
        `PostgreSQL cannot run as root, and creating a postgres OS user failed: ${error.message}`,
      );
    });
    ids = await lookup('postgres');
    if (!ids) throw new PgschedError('Created the postgres OS user but cannot find it');
  }
  return { name: 'postgres', ...ids, switched: true };
}

async function lookup(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

/**
 * Throws a clear error when `user` cannot traverse every directory above `path` (the EACCES a
 * server would otherwise report from deep inside initdb). Group membership is approximated by
 * the primary group, which is what a freshly created postgres user has.
 */
export async function assertReachable(
  user: ServerUser,
  path: string,
  what: string,
  remedy: string,
): Promise<void> {
  if (!user.switched) return;
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const s = await stat(dir).catch(() => undefined);
    if (s) {
      const bit = s.uid === user.uid ? 0o100 : s.gid === user.gid ? 0o010 : 0o001;
      if ((s.mode & bit) === 0) {
        throw new PgschedError(
          `The ${what} ${path} is below ${dir} (mode ${(s.mode & 0o777).toString(8)}), which the ` +
            `${user.name} OS user the server runs as cannot enter: ${remedy}`,
        );
      }
    }
    if (dir === dirname(dir)) return;
  }
}
