import type { Context } from 'hono';
import { ApiError } from './errors.js';

/** The JSON object body of an action; an empty body is `{}`. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
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
