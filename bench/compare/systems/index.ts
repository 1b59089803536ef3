import type { System } from './types.ts';

/** Loaded lazily so that one system failing to import does not stop the others. */
export const SYSTEMS: Record<string, () => Promise<System>> = {
  pgsched: async () => (await import('./pgsched.ts')).pgsched,
  'pgsched-keep': async () => (await import('./pgsched.ts')).pgschedKeep,
  'pg-boss': async () => (await import('./pgboss.ts')).pgboss,
  'graphile-worker': async () => (await import('./graphile.ts')).graphile,
  bullmq: async () => (await import('./bullmq.ts')).bullmq,
};
