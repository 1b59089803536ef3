import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { guardActions, requireAuth } from './auth.js';
import { ApiError, errorResponse } from './errors.js';
import type { ParsedDashboardOptions } from './options.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoutes } from './routes/metrics.js';
import { openApiRoutes } from './routes/openapi.js';
import { queueRoutes } from './routes/queues.js';
import { scheduleRoutes } from './routes/schedules.js';
import { statsRoutes } from './routes/stats.js';
import { uiRoutes } from './routes/ui.js';
import { workerRoutes } from './routes/workers.js';

/** The largest request body an action accepts. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** The dashboard's Hono app: API, health, metrics and UI under `basePath`. */
export function buildApp(options: ParsedDashboardOptions): Hono {
  const { pgsched, basePath, auth, readOnly } = options;
  const log = (error: unknown) => pgsched.logger.error({ err: error }, 'pgsched dashboard: request failed');
  const api = `${basePath}/api`;

  const app = new Hono();
  app.onError((error, c) => errorResponse(c, error, log));
  app.notFound((c) => errorResponse(c, new ApiError(404, 'not_found', 'No such route'), log));

  const authenticate = requireAuth(auth);
  app.use(`${api}/*`, authenticate);
  app.use(`${basePath}/metrics`, authenticate);
  app.use(`${api}/*`, guardActions(readOnly));
  // Payloads have the library's own limit (1 MiB by default); this bounds what is read at all.
  app.use(
    `${api}/*`,
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, 'too_large', `Request body over ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  app.route(`${api}/queues`, queueRoutes(pgsched));
  app.route(`${api}/jobs`, jobRoutes(pgsched));
  app.route(`${api}/schedules`, scheduleRoutes(pgsched));
  app.route(`${api}/stats`, statsRoutes(pgsched));
  app.route(`${api}/workers`, workerRoutes(pgsched));
  app.route(`${api}/openapi.json`, openApiRoutes(options));
  app.route(`${basePath}/health`, healthRoutes(pgsched));
  app.route(`${basePath}/metrics`, metricsRoutes(pgsched));
  app.route('/', uiRoutes(options));
  return app;
}
