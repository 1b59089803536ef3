import { PgschedValidationError } from './errors.js';

/** Default upper bound of one serialised payload. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * Serialises a payload to JSON text, rejecting what JSON.stringify would silently drop or
 * mangle (functions, symbols, NaN, Infinity) as well as what it throws on (BigInt, cycles).
 */
export function serializePayload(field: string, payload: unknown, maxBytes: number): string {
  let text: string;
  try {
    text = JSON.stringify(payload === undefined ? null : payload, strictReplacer) ?? 'null';
  } catch (error) {
    throw new PgschedValidationError(
      field,
      payload,
      `expected a JSON-serialisable value: ${(error as Error).message}`,
    );
  }
  // Only count bytes when the UTF-16 length could exceed the limit: Buffer.byteLength costs a pass.
  if (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes) {
    throw new PgschedValidationError(
      field,
      `${text.slice(0, 40)}…`,
      `payload is ${Buffer.byteLength(text)} bytes, more than maxPayloadBytes ${maxBytes}`,
    );
  }
  return text;
}

function strictReplacer(key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === 'function' || type === 'symbol') {
    throw new TypeError(`${type} at key "${key}" cannot be stored as JSON`);
  }
  if (type === 'number' && !Number.isFinite(value)) {
    throw new TypeError(`${String(value)} at key "${key}" cannot be stored as JSON`);
  }
  return value;
}
