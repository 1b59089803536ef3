/**
 * SIGINT / SIGTERM handling for the long-running commands (worker, dashboard, dev, stats --watch).
 * The first signal starts a graceful stop; a second one exits at once, for the impatient Ctrl-C.
 * A second signal within a second of the first is the same Ctrl-C delivered twice (the terminal
 * signals the whole process group, and a launcher such as tsx or npm relays it again): ignored.
 */
export function untilStopSignal(): {
  stopped: Promise<NodeJS.Signals>;
  signal: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  let resolveStopped!: (s: NodeJS.Signals) => void;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    resolveStopped = resolve;
  });
  let first = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (performance.now() - first < 1_000) return;
      process.stderr.write(`pgsched: second ${sig}, exiting without waiting\n`);
      process.exit(130);
    }
    first = performance.now();
    controller.abort();
    resolveStopped(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    stopped,
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
