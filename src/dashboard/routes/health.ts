import { Hono } from 'hono';
import type { ManagedPgsched } from '../contract.js';

/** How long `/health` waits for the database before it answers 503. */
const PING_TIMEOUT_MS = 2_000;

/**
 * `GET <basePath>/health`: 200 when the database answers within 2 s, else 503. Public (no auth):
 * load balancers and orchestrators probe it, and it tells nothing about jobs.
 */
export function healthRoutes(pgsched: ManagedPgsched): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([pgsched.sql`select 1`, timeout]);
      return c.json({ status: 'ok', database: 'ok', leader: pgsched.isLeader });
    } catch (error) {
      return c.json(
        { status: 'unavailable', database: (error as Error).message, leader: pgsched.isLeader },
        503,
      );
    } finally {
      clearTimeout(timer);
    }
  });
  return app;
}
