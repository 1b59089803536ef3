import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/embedded/index.js';

/** A throwaway PostgreSQL server for tests and benchmarks (see src/embedded). */
export type ThrowawayPostgres = EmbeddedPostgres;

/**
 * Starts a fresh cluster on a free port, in a temporary data directory deleted by `destroy()`.
 * `binaries` selects another PostgreSQL major (a platform package path); by default
 * PGSCHED_TEST_PG_BINARIES, which `npm run test:matrix` sets so that the files starting their
 * own server (fault tests) run on the major under test too.
 */
export function startThrowawayPostgres(
  options: { flags?: string[]; log?: boolean; binaries?: string } = {},
): Promise<ThrowawayPostgres> {
  return startEmbeddedPostgres({
    binaries: options.binaries ?? process.env.PGSCHED_TEST_PG_BINARIES,
    flags: ['-c', 'max_connections=300', '-c', 'fsync=on', ...(options.flags ?? [])],
    onLog: options.log ? (m) => process.stderr.write(`[pg] ${m}`) : undefined,
  });
}
