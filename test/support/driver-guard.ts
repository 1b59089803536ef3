/**
 * postgres.js 3.4.9 drops the promise of the array-type query it runs first on every new
 * connection, so a connection that dies during that query (a database restart, as in the outage
 * test) kills the process with an unhandled rejection that no caller can catch
 * (porsager/postgres#1192, #1223). The worker processes install the guard the README advises for
 * applications: ignore exactly that rejection, crash on anything else.
 */
export function guardAgainstDriverTypeFetchCrash(): void {
  process.on('unhandledRejection', (error) => {
    const query = (error as { query?: unknown } | null)?.query;
    if (typeof query === 'string' && query.includes('pg_catalog.pg_type') && query.includes('typarray'))
      return;
    throw error;
  });
}
