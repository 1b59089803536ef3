import type { Sql, TransactionSql } from 'postgres';

/** Errors that mean the connection itself is gone, not that a statement failed. */
const LOST = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/** Whether `error` says the connection was lost (server shutdown, crash, network), as opposed to a failed statement. */
export function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  // 57P01-03: the server is shutting down, crashed, or not accepting connections; 08: connection exceptions.
  return LOST.has(code) || code.startsWith('57P') || code.startsWith('08');
}

/**
 * `sql.begin(fn)`, without a way to crash the process that postgres.js 3.4.9 has: when the
 * transaction's connection closes while `fn` runs (a database restart, a terminated backend),
 * `begin()` rejects, but its scope then sends ROLLBACK (or COMMIT) on the closed connection, and the
 * driver's deferred write dereferences the null socket in a `setImmediate`: an uncaught TypeError
 * no caller can catch (porsager/postgres#1154, #1066, #1208; fixes proposed in #1168 and #1209).
 * Here, a `fn` that fails because the connection is gone rejects the returned promise with that
 * error and leaves the driver's scope waiting forever, so nothing is ever written to the dead
 * connection. Any other error rolls back as usual.
 */
export function transaction<T>(sql: Sql, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    sql
      .begin(async (tx) => {
        try {
          return await fn(tx);
        } catch (error) {
          if (!isConnectionLoss(error)) throw error;
          reject(error);
          return new Promise<never>(() => {});
        }
      })
      .then((value) => resolve(value as T), reject);
  });
}
