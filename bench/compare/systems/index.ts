import type { System } from './types.ts';

/** Loaded lazily so that one system failing to import does not stop the others. */
export const SYSTEMS: Record<string, () => Promise<System>> = {
  pgsched: async () => (await import('./pgsched.ts')).pgsched,
  'pgsched-tuned': async () => (await import('./pgsched.ts')).pgschedTuned,
  'pg-boss': async () => (await import('./pgboss.ts')).pgboss,
  'graphile-worker': async () => (await import('./graphile.ts')).graphile,
  bullmq: async () => (await import('./bullmq.ts')).bullmq,
  // Run only when named in --only: the previous release's hand-tuned setting, for comparisons.
  'pgsched-prefetch500': async () => (await import('./pgsched.ts')).pgschedPrefetch500,
};

/** Systems left out unless named in --only. */
export const ON_REQUEST = new Set(['pgsched-prefetch500']);
