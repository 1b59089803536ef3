import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener, serve } from '@hono/node-server';
import { PgschedValidationError } from '../errors.js';
import { buildApp } from './app.js';
import { type DashboardOptions, parseDashboardOptions } from './options.js';

export type { DashboardAuth, DashboardOptions } from './options.js';
export { openApiDocument } from './routes/openapi.js';

/** A mountable dashboard: the same handler as a fetch function and as a Node request listener. */
export interface Dashboard {
  /** Web-standard handler, for Hono, Bun, Deno or any fetch-based server. */
  fetch(request: Request): Promise<Response>;
  /**
   * Node handler for node:http, Express, Fastify (`reply.hijack()`) and Koa (`ctx.respond = false`).
   * Requests outside `basePath` go to `next` when given (Express middleware), else get a 404.
   * Under Express, `req.originalUrl` is used, so `app.use('/admin', dashboard.listener)` works.
   */
  listener(req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): Promise<void>;
  /** Stops serving: later requests get 503. It owns no connection; the Pgsched is yours to stop. */
  close(): Promise<void>;
}

/**
 * Creates the dashboard of a Pgsched instance: JSON API under `<basePath>/api`, the web UI at
 * `<basePath>/`, `<basePath>/health` and Prometheus `<basePath>/metrics`.
 */
export function createDashboard(options: DashboardOptions): Dashboard {
  const parsed = parseDashboardOptions(options);
  const app = buildApp(parsed);
  let closed = false;
  const unavailable = () =>
    Response.json({ error: { code: 'closed', message: 'The dashboard was closed' } }, { status: 503 });
  const fetch = async (request: Request): Promise<Response> => (closed ? unavailable() : app.fetch(request));
  // Leave the global Request/Response alone: this runs inside the user's own server.
  const nodeListener = getRequestListener(fetch, { overrideGlobalObjects: false });
  const base = parsed.basePath;

  return {
    fetch,
    async listener(req, res, next) {
      const originalUrl = (req as { originalUrl?: unknown }).originalUrl;
      if (typeof originalUrl === 'string') req.url = originalUrl;
      const path = (req.url ?? '/').split('?')[0]!;
      if (next && base !== '' && path !== base && !path.startsWith(`${base}/`)) return next();
      adoptParsedBody(req);
      try {
        await nodeListener(req, res);
      } catch (error) {
        // Callers commonly drop this promise (`void dashboard.listener(req, res)`): it must never
        // reject, or a broken socket would become an unhandled rejection in the host process.
        parsed.pgsched.logger.error({ err: error }, 'pgsched dashboard: response failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      }
    },
    async close() {
      closed = true;
    },
  };
}

/** A body that a framework's parser (e.g. `express.json()`) already consumed is handed on as raw bytes. */
function adoptParsedBody(req: IncomingMessage): void {
  const parsed = (req as { body?: unknown }).body;
  if (parsed === undefined || !req.readableEnded || 'rawBody' in req) return;
  const raw = Buffer.isBuffer(parsed)
    ? parsed
    : Buffer.from(typeof parsed === 'string' ? parsed : JSON.stringify(parsed));
  (req as { rawBody?: Buffer }).rawBody = raw;
}

export interface ServeDashboardOptions extends DashboardOptions {
  /** Default 4000; 0 picks a free port. */
  port?: number;
  /** Default `127.0.0.1`: reachable from this machine only unless you choose otherwise. */
  host?: string;
}

export interface ServedDashboard extends Dashboard {
  /** `http://host:port<basePath>/`. */
  url: string;
  server: Server;
}

/** Serves a dashboard on its own HTTP server (what `pgsched dashboard` runs). */
export async function serveDashboard(options: ServeDashboardOptions): Promise<ServedDashboard> {
  const { port = 4000, host = '127.0.0.1', ...rest } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new PgschedValidationError('serveDashboard.options.port', port, 'expected an integer 0–65535');
  }
  if (typeof host !== 'string' || host === '') {
    throw new PgschedValidationError('serveDashboard.options.host', host, 'expected a host name or address');
  }
  const dashboard = createDashboard(rest);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: dashboard.fetch, port, hostname: host, overrideGlobalObjects: false }) as Server;
    s.once('error', reject);
    s.once('listening', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    ...dashboard,
    url: `http://${shownHost}:${address.port}${(rest.basePath ?? '').replace(/\/$/, '')}/`,
    server,
    async close() {
      await dashboard.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
