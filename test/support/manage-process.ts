import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../fixtures/manage-process.ts', import.meta.url));

export interface ManageProcess {
  child: ChildProcess;
  workerId: string;
  next(
    predicate: (m: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Forks test/fixtures/manage-process.ts under tsx and resolves once it is started. */
export async function startManageProcess(env: Record<string, string>): Promise<ManageProcess> {
  const child = fork(SCRIPT, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  child.on('message', (m: Record<string, unknown>) => {
    messages.push(m);
    for (const w of waiters) w();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next: ManageProcess['next'] = (predicate, timeoutMs = 20_000) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = messages.find(predicate);
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`process ${child.pid}: no matching message within ${timeoutMs}ms`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const ready = await next((m) => m.ready === true, 30_000);
  return {
    child,
    workerId: ready.workerId as string,
    next,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ stop: true });
      await exited;
    },
  };
}
