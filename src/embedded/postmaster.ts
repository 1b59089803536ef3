import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PgschedError } from '../errors.js';
import type { PreparedBinaries } from './binaries.js';
import type { ServerUser } from './server-user.js';

/**
 * Runs the postmaster under a small shell that holds the read end of a pipe from this process:
 * when the pipe closes, because stop() closed it or because this process died in any way (an
 * exception, a signal, SIGKILL, a test worker killed on timeout), the shell asks the postmaster
 * for a fast shutdown. So no server outlives its owner, holding a port and a data directory.
 * Explicit `<&3` redirections: a background job's stdin is otherwise /dev/null.
 */
const WATCHDOG = `exec 3<&0
"$@" </dev/null 3<&- &
pm=$!
echo "$pm"
(read -r _ <&3; kill -INT "$pm" 2>/dev/null) &
watcher=$!
wait "$pm"
code=$?
kill "$watcher" 2>/dev/null
exit "$code"`;

/** One postmaster, started as a child (in our process group: a terminal's Ctrl-C reaches it too). */
export class Server {
  #child: ChildProcess | undefined;
  #postmasterPid: number | undefined;
  #log: string[] = [];

  constructor(
    readonly bin: PreparedBinaries,
    readonly user: ServerUser,
    readonly dataDir: string,
    readonly port: number,
    readonly flags: string[],
    readonly onLog: ((chunk: string) => void) | undefined,
  ) {}

  get pid() {
    return this.#child ? this.#postmasterPid : undefined;
  }

  async start(): Promise<void> {
    if (this.#child) return;
    // No Unix socket: clients use TCP, and the socket's default directory may not exist here.
    const args = ['-D', this.dataDir, '-p', String(this.port), '-k', '', ...this.flags];
    const child = spawnAs(
      '/bin/sh',
      ['-c', WATCHDOG, 'pgsched-postmaster', this.bin.postgres, ...args],
      this.user,
      {
        cwd: this.bin.root,
        stdin: 'pipe',
      },
    );
    this.#child = child;
    this.#postmasterPid = undefined;
    child.stdin?.on('error', () => {}); // EPIPE if the shell is already gone: exit tells the rest
    const record = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.onLog?.(text);
      this.#log.push(text);
      if (this.#log.length > 50) this.#log.shift();
    };
    let firstLine = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.#postmasterPid !== undefined) return record(chunk);
      firstLine += chunk.toString('utf8');
      const newline = firstLine.indexOf('\n');
      if (newline < 0) return;
      this.#postmasterPid = Number.parseInt(firstLine.slice(0, newline), 10);
      if (firstLine.length > newline + 1) record(Buffer.from(firstLine.slice(newline + 1)));
    });
    child.stderr?.on('data', record);
    const exited = new Promise<number | string | null>((done) => {
      child.once('exit', (code, signal) => done(code ?? signal));
      child.once('error', (error) => done(error.message)); // e.g. EACCES: no 'exit' follows
    });
    exited.then(() => {
      if (this.#child === child) this.#child = undefined;
    });
    const deadline = Date.now() + 60_000;
    while (!(await this.#ready())) {
      const early = await Promise.race([exited, sleep(50).then(() => 'running' as const)]);
      if (early !== 'running' || Date.now() > deadline) {
        child.stdin?.end();
        throw new PgschedError(
          `PostgreSQL ${this.bin.version} did not start (exit ${early}): ${this.#log.join('').slice(-2000)}`,
        );
      }
    }
  }

  /** The postmaster writes "ready" on line 8 of postmaster.pid once it accepts connections. */
  async #ready(): Promise<boolean> {
    const pidFile = await readFile(join(this.dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
    const lines = pidFile.split('\n');
    return (
      this.#postmasterPid !== undefined &&
      Number(lines[0]) === this.#postmasterPid &&
      lines[7]?.trim() === 'ready'
    );
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.stdin?.end(); // the watchdog then asks for a fast shutdown (see WATCHDOG)
    await exited;
  }
}

function spawnAs(
  file: string,
  args: string[],
  user: ServerUser,
  { cwd, stdin = 'ignore' }: { cwd: string; stdin?: 'ignore' | 'pipe' },
): ChildProcess {
  // cwd: the caller's may be a directory the server user cannot enter. LC_MESSAGES=C keeps
  // server messages (and so our error messages) in English.
  return spawn(file, args, {
    cwd,
    env: { ...process.env, LC_MESSAGES: 'C' },
    stdio: [stdin, 'pipe', 'pipe'],
    ...(user.switched ? { uid: user.uid, gid: user.gid } : {}),
  });
}

export function runToEnd(file: string, args: string[], user: ServerUser, cwd: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawnAs(file, args, user, { cwd });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? done() : fail(new PgschedError(`${file} failed (exit ${code}): ${output.slice(-2000)}`)),
    );
  });
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
