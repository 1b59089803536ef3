/** The harness's plain postgres.js client factory, shared with the side-by-side harness. */
export { pgjs } from '../compare/pg.js';

const started = performance.now();

/** Progress line on stderr, stamped with seconds since start. */
export function log(message: string): void {
  process.stderr.write(
    `[scale ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`,
  );
}
