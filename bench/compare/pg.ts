import postgres from 'postgres';

/** The harness's own clients (admin, set-up, counts): plain postgres.js, notices silenced. */
export function pgjs(url: string, options: postgres.Options<Record<string, never>> = {}): postgres.Sql {
  return postgres(url, { onnotice: () => {}, ...options });
}
