/**
 * What both benches' forked worker processes (compare/worker.ts, scale/worker.ts) report the same
 * way over IPC: progress while they run, `ready` once listening, and a failure to start.
 */
const send = (message: unknown) => process.send!(message);

/** Sends `{ type: 'progress', handled }` every `everyMs` while the count moves, then `ready`. */
export function announceReady(handled: () => number, everyMs: number): void {
  let reported = 0;
  setInterval(() => {
    if (handled() === reported) return;
    reported = handled();
    send({ type: 'progress', handled: reported });
  }, everyMs).unref();
  send({ type: 'ready' });
}

/** Runs the worker's `main`, reporting an error (and exiting) if it fails to start. */
export function runWorker(main: () => Promise<void>): void {
  main().catch((error) => {
    send({ type: 'error', message: String((error as Error)?.stack ?? error) });
    setTimeout(() => process.exit(1), 100);
  });
}
