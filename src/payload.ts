import { PgschedValidationError } from './errors.js';

/** Default upper bound of one serialised payload. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/**
 * Serialises a payload to JSON text, rejecting what JSON.stringify would silently drop or
 * mangle (functions, symbols, NaN, Infinity) as well as what it throws on (BigInt, cycles).
 */
export function serializePayload(field: string, payload: unknown, maxBytes: number): string {
  // Most handlers return nothing: skip the replacer's slow path.
  if (payload === undefined || payload === null) return 'null';
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
  if (UNSTORABLE_ESCAPE.test(text)) {
    throw new PgschedValidationError(
      field,
      payload,
      'expected a JSON-serialisable value: PostgreSQL jsonb cannot store \\u0000 or an unpaired surrogate',
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

/**
 * JSON.stringify escapes NUL and unpaired surrogates (`\u0000`, `\ud800`), and jsonb rejects both,
 * which would fail a whole batch at the database. An even run of backslashes before `u` is an
 * escaped backslash, not an escape.
 */
const UNSTORABLE_ESCAPE =
  /(?<!\\)(?:\\\\)*\\u(?:0000|d[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2}))|(?<!\\ud[89ab][0-9a-f]{2})(?<!\\)(?:\\\\)*\\ud[c-f][0-9a-f]{2}/i;

/** Makes text storable in jsonb: NUL and unpaired surrogates become U+FFFD. */
export function storableText(text: string): string {
  return text.toWellFormed().replaceAll('\u0000', '\uFFFD');
}

/**
 * Throws on what JSON.stringify would drop or change without a word, so an accepted payload reads
 * back equal: Maps and Sets (they become `{}`), symbol keys (dropped) and `undefined` in arrays
 * (it becomes null). An `undefined` property is left out, as for an optional field.
 */
function strictReplacer(this: unknown, key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === 'object') {
    if (value !== null && !Array.isArray(value)) {
      if (value instanceof Map || value instanceof Set) {
        throw new TypeError(`${value.constructor.name} at key "${key}" cannot be stored as JSON`);
      }
      if (Object.getOwnPropertySymbols(value).length > 0) {
        throw new TypeError(`symbol-keyed property at key "${key}" cannot be stored as JSON`);
      }
    }
    return value;
  }
  if (type === 'undefined' && Array.isArray(this)) {
    throw new TypeError(`undefined at index ${key} would be stored as null`);
  }
  if (type === 'function' || type === 'symbol') {
    throw new TypeError(`${type} at key "${key}" cannot be stored as JSON`);
  }
  if (type === 'number' && !Number.isFinite(value)) {
    throw new TypeError(`${String(value)} at key "${key}" cannot be stored as JSON`);
  }
  return value;
}
