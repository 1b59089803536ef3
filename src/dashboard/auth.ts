import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.js';
import type { DashboardAuth } from './options.js';

const digest = (text: string) => createHash('sha256').update(text).digest();
/** Compares digests so that neither the length nor the content leaks through timing. */
const same = (given: string, expected: Buffer) => timingSafeEqual(digest(given), expected);

/**
 * Requires the configured credentials. A UI request (`X-Pgsched-UI`) gets no `WWW-Authenticate`
 * challenge, so the browser shows the dashboard's own sign-in form instead of its native prompt.
 */
export function requireAuth(auth: DashboardAuth | false): MiddlewareHandler {
  if (auth === false) return async (_c, next) => next();
  const expected =
    'token' in auth
      ? { scheme: 'Bearer', value: digest(auth.token) }
      : {
          scheme: 'Basic',
          value: digest(Buffer.from(`${auth.username}:${auth.password}`).toString('base64')),
        };
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const space = header.indexOf(' ');
    const scheme = header.slice(0, space);
    const value = header.slice(space + 1).trim();
    if (space > 0 && scheme.toLowerCase() === expected.scheme.toLowerCase() && same(value, expected.value)) {
      return next();
    }
    if (!c.req.header('x-pgsched-ui')) c.header('WWW-Authenticate', `${expected.scheme} realm="pgsched"`);
    throw new ApiError(
      401,
      'unauthorized',
      `Missing or wrong credentials (${expected.scheme} authentication)`,
    );
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Guards every action. Read-only dashboards refuse them (403). Otherwise an action must be a
 * request no HTML form or simple cross-site request can produce: a JSON content type forces a
 * CORS preflight, which this handler never approves, so a page on another origin cannot act
 * with the browser's stored Basic credentials.
 */
export function guardActions(readOnly: boolean): MiddlewareHandler {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method)) return next();
    if (readOnly) throw new ApiError(403, 'read_only', 'This dashboard is read-only');
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new ApiError(
        415,
        'unsupported_media_type',
        'Actions must be sent with Content-Type: application/json',
      );
    }
    return next();
  };
}
