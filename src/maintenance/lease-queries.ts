import type { Sql } from 'postgres';

/** The outcome of one acquire-or-renew statement. */
export interface LeaseGrant {
  /** Leadership changed hands with this statement (a takeover, not a renewal). */
  takeover: boolean;
  term: number;
}

/** A granted lease, or a refusal with the time left on the current holder's lease. */
export type LeaseAttempt = { granted: LeaseGrant } | { granted: null; remainingMs: number };

/**
 * The leader lease's statements. Each is one self-contained statement on the database clock, so
 * it behaves the same through PgBouncer's transaction pooling as on a direct connection.
 */
export function createLeaseQueries(sql: Sql, schema: string) {
  const table = sql`${sql(schema)}.leader`;
  return {
    /**
     * Takes the lease if it is free or expired, or renews it if `holder` holds it; returns null
     * when another holder's lease is still valid. A renewal after our own lease expired is still
     * safe: nobody else held it in between, or `holder` would differ. With `session`, the lease
     * also records this connection's server process, and ends early once that process is gone.
     */
    async acquireOrRenew(holder: string, ttlMs: number, session: boolean): Promise<LeaseAttempt> {
      // The outer select reads the lease as it was before this statement: on a refusal, when the
      // current holder's lease ends, so that a follower can try again right then.
      const [row] = await sql<
        { takeover: boolean | null; term: string | null; remaining_ms: number | null }[]
      >`
        with attempt as (
          insert into ${table} as l (holder, expires_at, acquired_at, backend_pid)
          values (${holder}, now() + ${ttlMs} * interval '1 millisecond', now(),
                  case when ${session}::boolean then pg_backend_pid() end)
          on conflict (singleton) do update set
            holder = excluded.holder,
            expires_at = excluded.expires_at,
            acquired_at = case when l.holder = excluded.holder then l.acquired_at else now() end,
            term = case when l.holder = excluded.holder then l.term else l.term + 1 end,
            backend_pid = excluded.backend_pid
          where l.holder = excluded.holder or l.expires_at < now()
             or (l.backend_pid is not null
                 and not exists (select 1 from pg_stat_activity a where a.pid = l.backend_pid))
          returning l.acquired_at = now() as takeover, l.term::text as term
        )
        select a.takeover, a.term,
               (select extract(epoch from c.expires_at - now()) * 1000 from ${table} c)::float8 as remaining_ms
        from (select 1) one left join attempt a on true`;
      if (row?.term != null) return { granted: { takeover: row.takeover === true, term: Number(row.term) } };
      return { granted: null, remainingMs: row?.remaining_ms ?? 0 };
    },

    /** Gives the lease up at once (graceful stop), so a follower need not wait for it to expire. */
    async release(holder: string): Promise<void> {
      await sql`update ${table} set expires_at = now() - interval '1 millisecond' where holder = ${holder}`;
    },

    /** Who leads now (expired leases included, flagged), for operators and dashboards. */
    async current(): Promise<{ holder: string; expiresAt: Date; acquiredAt: Date; valid: boolean } | null> {
      const [row] = await sql<{ holder: string; expires_at: Date; acquired_at: Date; valid: boolean }[]>`
        select holder, expires_at, acquired_at, expires_at > now() as valid from ${table}`;
      return row
        ? { holder: row.holder, expiresAt: row.expires_at, acquiredAt: row.acquired_at, valid: row.valid }
        : null;
    },
  };
}
