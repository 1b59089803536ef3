import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PgschedConflictError, PgschedError, PgschedValidationError } from '../errors.js';

/** An error the API answers with its own status and code: `{ error: { code, message, field? } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string, key: string): ApiError =>
  new ApiError(404, 'not_found', `${what} ${JSON.stringify(key)} does not exist`);

export const invalidState = (message: string): ApiError => new ApiError(409, 'invalid_state', message);

/** Maps any thrown error to a JSON response; errors not of pgsched's own making are logged, not echoed. */
export function errorResponse(c: Context, error: unknown, log: (error: unknown) => void): Response {
  const body = (code: string, message: string, field?: string) => ({
    error: field === undefined ? { code, message } : { code, message, field },
  });
  if (error instanceof ApiError) return c.json(body(error.code, error.message, error.field), error.status);
  if (error instanceof PgschedValidationError) {
    return c.json(body('validation', error.message, error.field), 400);
  }
  if (error instanceof PgschedConflictError) return c.json(body('version_conflict', error.message), 409);
  // Other PgschedErrors are refusals of a valid request (e.g. a retry blocked by a dedupe key).
  if (error instanceof PgschedError) return c.json(body('conflict', error.message), 409);
  log(error);
  return c.json(body('internal', 'Internal error; see the server log'), 500);
}
