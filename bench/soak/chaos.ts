import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** A soak worker process and what the soak did to it. */
export interface SoakProcess {
  child: ChildProcess;
  pid: number;
  /** Set when the soak killed it (SIGKILL) or is stopping it: its exit is expected. */
  expectedExit: boolean;
  frozen: boolean;
}

/** The worker processes of a soak: forks, kills, freezes, and counts unexpected deaths. */
export class Fleet {
  readonly live: SoakProcess[] = [];
  /** Pids the soak SIGKILLed, and pids it froze (SIGSTOP), for attributing repeated runs. */
  readonly killed = new Set<number>();
  readonly frozen = new Set<number>();
  /** Processes that exited although the soak did not kill or stop them. */
  readonly unexpectedDeaths: { pid: number; code: number | null; signal: string | null }[] = [];

  constructor(private readonly env: Record<string, string>) {}

  async spawn(): Promise<SoakProcess> {
    const child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const proc: SoakProcess = { child, pid: child.pid!, expectedExit: false, frozen: false };
    this.live.push(proc);
    child.once('exit', (code, signal) => {
      this.live.splice(this.live.indexOf(proc), 1);
      if (!proc.expectedExit) this.unexpectedDeaths.push({ pid: proc.pid, code, signal });
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', () => reject(new Error(`soak worker ${proc.pid} exited before it was ready`)));
    });
    return proc;
  }

  /** SIGKILLs a random running (not frozen) process and starts a replacement. */
  async killOne(random: () => number): Promise<number | undefined> {
    const candidates = this.live.filter((p) => !p.frozen && !p.expectedExit);
    const victim = candidates[Math.floor(random() * candidates.length)];
    if (!victim) return undefined;
    victim.expectedExit = true;
    this.killed.add(victim.pid);
    const exited = new Promise((r) => victim.child.once('exit', r));
    victim.child.kill('SIGKILL');
    await exited;
    await this.spawn();
    return victim.pid;
  }

  /** SIGSTOPs a random running process for `ms`, then SIGCONTs it. */
  freezeOne(random: () => number, ms: number): number | undefined {
    const candidates = this.live.filter((p) => !p.frozen && !p.expectedExit);
    const victim = candidates[Math.floor(random() * candidates.length)];
    if (!victim) return undefined;
    victim.frozen = true;
    this.frozen.add(victim.pid);
    victim.child.kill('SIGSTOP');
    setTimeout(() => {
      victim.child.kill('SIGCONT');
      victim.frozen = false;
    }, ms);
    return victim.pid;
  }

  /** Graceful stop of every process; resolves with the exit codes. */
  async stopAll(): Promise<(number | null)[]> {
    return Promise.all(
      [...this.live].map((p) => {
        p.expectedExit = true;
        if (p.frozen) p.child.kill('SIGCONT');
        const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
        p.child.send({ stop: true });
        return exited;
      }),
    );
  }

  killAll(): void {
    for (const p of this.live) {
      p.expectedExit = true;
      p.child.kill('SIGKILL');
    }
  }
}
