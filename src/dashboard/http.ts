import type { Context } from 'hono';
import type { ManagedPgsched } from './contract.js';
import { ApiError } from './errors.js';

/** The largest request body an action accepts; payloads have their own limit in the library. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** The JSON object body of an action; an empty body is `{}`. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) throw new ApiError(413, 'too_large', 'Request body over 2 MiB');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'validation', `Invalid JSON body: ${(error as Error).message}`, 'body');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'validation', 'Expected a JSON object as the body', 'body');
  }
  return value as Record<string, unknown>;
}

/**
 * Query parameters as a filter object: numeric text becomes a number (`limit=50`); anything else
 * stays text so that the library's validation names the field and the value it got.
 */
export function queryFilter(c: Context, fields: readonly string[]): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  for (const field of fields) {
    const value = c.req.query(field);
    if (value === undefined || value === '') continue;
    filter[field] = field === 'limit' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  }
  return filter;
}

/**
 * A management method added by the flow-control and management work. Until this Pgsched has it
 * the route answers 501 rather than the whole dashboard failing.
 */
export function method<K extends keyof ManagedPgsched>(
  pgsched: ManagedPgsched,
  name: K,
): NonNullable<ManagedPgsched[K]> {
  const fn = pgsched[name];
  if (typeof fn !== 'function') {
    throw new ApiError(501, 'not_implemented', `This pgsched has no ${String(name)}()`);
  }
  return (fn as (...args: unknown[]) => unknown).bind(pgsched) as NonNullable<ManagedPgsched[K]>;
}
