/**
 * SIGINT / SIGTERM handling for the long-running commands (worker, dashboard, dev, stats --watch).
 * The first signal starts a graceful stop; a second one exits at once, for the impatient Ctrl-C.
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
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`pgsched: second ${sig}, exiting without waiting\n`);
      process.exit(130);
    }
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
