import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker } from './protocol.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** N forked worker processes running pgsched on one database; sums their handler counts. */
export class Fleet {
  readonly #children: ChildProcess[] = [];
  readonly #handled: number[] = [];
  #failure: Error | undefined;
  #stopping = false;

  private constructor() {}

  static async start(url: string, processes: number): Promise<Fleet> {
    const fleet = new Fleet();
    await Promise.all(Array.from({ length: processes }, (_, i) => fleet.#fork(url, i)));
    return fleet;
  }

  get handled(): number {
    this.#check();
    return this.#handled.reduce((a, b) => a + b, 0);
  }

  go(options: { concurrency: number; prefetch?: number; leader: boolean }): void {
    for (const child of this.#children) child.send({ type: 'go', options } satisfies ToWorker);
  }

  /** Polls until the summed handler count reaches `n`. */
  async untilHandled(n: number, onTick?: () => void): Promise<void> {
    while (this.handled < n) {
      onTick?.();
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  #stopped: Promise<{ handled: number; maxRssKb: number[] }> | undefined;

  /** Stops every worker (graceful `Pgsched.stop()`); idempotent. */
  stop(): Promise<{ handled: number; maxRssKb: number[] }> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<{ handled: number; maxRssKb: number[] }> {
    this.#stopping = true;
    const results = await Promise.all(
      this.#children.map(
        (child) =>
          new Promise<{ handled: number; maxRssKb: number }>((resolve, reject) => {
            const timer = setTimeout(() => {
              child.kill('SIGKILL');
              reject(new Error('worker did not stop within 30 s'));
            }, 30_000);
            child.on('message', (m: FromWorker) => {
              if (m.type === 'stopped') {
                clearTimeout(timer);
                resolve({ handled: m.handled, maxRssKb: m.maxRssKb });
              }
            });
            child.send({ type: 'stop' } satisfies ToWorker);
          }),
      ),
    );
    return { handled: results.reduce((a, r) => a + r.handled, 0), maxRssKb: results.map((r) => r.maxRssKb) };
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }

  #fork(url: string, index: number): Promise<void> {
    const child = fork(WORKER, [url], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#children[index] = child;
    this.#handled[index] = 0;
    return new Promise((resolve, reject) => {
      child.on('message', (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'progress') this.#handled[index] = m.handled;
        else if (m.type === 'stopped') this.#handled[index] = m.handled;
        else if (m.type === 'error') {
          this.#failure = new Error(`worker ${index}: ${m.message}`);
          reject(this.#failure);
        }
      });
      child.on('exit', (code, signal) => {
        if (this.#stopping && code === 0) return;
        this.#failure ??= new Error(`worker ${index} exited (code ${code}, signal ${signal})`);
        reject(this.#failure);
      });
    });
  }
}
