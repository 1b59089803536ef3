import postgres from 'postgres';
import { Pgsched } from '../../src/index.js';
import { type RestartMode, restartPostgres } from '../../test/support/faults.js';
import { startThrowawayPostgres } from '../../test/support/postgres-server.js';
import { analyse, type SoakFindings } from './analyse.js';
import { Fleet } from './chaos.js';

export interface SoakOptions {
  jobs: number;
  processes: number;
  concurrency: number;
  /** Handler duration, uniform in [min, max] ms. */
  handlerMs: [number, number];
  /** A random process is SIGKILLed (and replaced) every [min, max] ms. */
  killEveryMs: [number, number];
  /** A random process is SIGSTOPped every `freezeEveryMs` for `freezeForMs` (0: never). */
  freezeEveryMs: number;
  freezeForMs: number;
  /** Postgres restarts, spread over the drain, alternating as listed. */
  restarts: RestartMode[];
  leaderTimeoutMs: number;
  visibilityMs: number;
  /** Gives up (and reports) after this long. */
  deadlineMs: number;
  /**
   * Jobs of a limited queue drained alongside (`concurrency` and `groupConcurrency: 1` over
   * `groups` groups); its limits are checked from the handlers' records (see analyse.ts).
   */
  limited?: { jobs: number; concurrency: number; groups: number };
  log?: (line: string) => void;
  random?: () => number;
}

export interface SoakReport extends SoakFindings {
  options: Omit<SoakOptions, 'log' | 'random'>;
  drainMs: number;
  /** Longest time without a single job completing. */
  longestStallMs: number;
  /**
   * Each time the process holding the lease was killed or frozen: how long until another process
   * held it (sampled every 200 ms). The bound to hold: `leaderTimeout` + 1 s for a freeze.
   */
  takeovers: { cause: 'kill' | 'freeze'; ms: number }[];
  /**
   * What the soak did and saw, in ms since the drain started: kills, freezes (and thaws),
   * restarts, and leadership changes. The longest cron gap is explained from these.
   */
  events: { at: number; what: string }[];
  /** The events inside the longest gap between two occurrences (the gap's start and end included). */
  longestGapEvents: { at: number; what: string }[];
  kills: number;
  freezes: number;
  /** Each restart, with when it began and when the server accepted connections again (ms since the drain started). */
  restartsDone: { mode: RestartMode; atCompleted: number; from: number; to: number }[];
  unexpectedDeaths: { pid: number; code: number | null; signal: string | null }[];
  /** Exit codes of the final graceful stop (all 0 when every process stopped cleanly). */
  finalExitCodes: (number | null)[];
}

/**
 * The fault soak: a backlog drained by several worker processes while they are SIGKILLed,
 * SIGSTOPped and Postgres is restarted under them, with a schedule ticking every second. Every
 * figure of the report comes from the database afterwards (see analyse.ts).
 */
export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => {});
  const random = o.random ?? Math.random;
  const server = await startThrowawayPostgres();
  const sql = postgres(server.url, { max: 2, onnotice: () => {} });
  const fleet = new Fleet({
    DATABASE_URL: server.url,
    CONCURRENCY: String(o.concurrency),
    VISIBILITY_MS: String(o.visibilityMs),
    LEADER_TIMEOUT_MS: String(o.leaderTimeoutMs),
  });
  const timers: NodeJS.Timeout[] = [];
  try {
    const pgsched = new Pgsched({ sql, logger: (await import('pino')).pino({ level: 'silent' }) });
    await pgsched.migrate();
    const [lo, hi] = o.handlerMs;
    for (let i = 0; i < o.jobs; i += 10_000) {
      const n = Math.min(10_000, o.jobs - i);
      await pgsched.enqueueMany(
        'soak',
        Array.from({ length: n }, () => ({ ms: lo + Math.floor(random() * (hi - lo + 1)) })),
      );
    }
    await pgsched.schedule('soak-tick', { every: '1s', job: 'soak-tick' });
    await sql`create table soak_limited (grp text, pid int, started timestamptz, finished timestamptz)`;
    const limited = o.limited;
    if (limited) {
      await pgsched.setQueue('soak-limited', { concurrency: limited.concurrency, groupConcurrency: 1 });
      for (let g = 0; g < limited.groups; g++) {
        const n = Math.ceil(limited.jobs / limited.groups);
        await pgsched.enqueueMany(
          'soak-limited',
          Array.from({ length: n }, () => ({ ms: lo + Math.floor(random() * (hi - lo + 1)), g: `g${g}` })),
          { queue: 'soak-limited', group: `g${g}` },
        );
      }
    }
    const limitedJobs = limited ? Math.ceil(limited.jobs / limited.groups) * limited.groups : 0;
    for (let i = 0; i < o.processes; i++) await fleet.spawn();
    const started = Date.now();
    const events: SoakReport['events'] = [];
    const note = (what: string) => events.push({ at: Date.now() - started, what });
    log(`soak: ${o.jobs} jobs, ${o.processes} processes, started`);

    let kills = 0;
    let freezes = 0;
    // The process holding the lease (holder = host:pid:random), and the moment it was hit.
    let leaderPid: number | undefined;
    let leaderLost: { cause: 'kill' | 'freeze'; at: number; pid: number } | undefined;
    const takeovers: SoakReport['takeovers'] = [];
    const sampleLeader = async () => {
      const [row] = await sql<{ holder: string; valid: boolean }[]>`
        select holder, expires_at > now() as valid from pgsched.leader`.catch(() => []);
      const pid = row?.valid ? Number(row.holder.split(':')[1]) : undefined;
      if (pid === undefined || pid === leaderPid) return;
      if (leaderLost && pid !== leaderLost.pid) {
        takeovers.push({ cause: leaderLost.cause, ms: Date.now() - leaderLost.at });
        note(`leader ${pid} took over from ${leaderLost.pid} (${leaderLost.cause})`);
        leaderLost = undefined;
      }
      leaderPid = pid;
    };
    // On a timer of its own: the progress loop below stops while Postgres restarts.
    let sampling = false;
    timers.push(
      setInterval(() => {
        if (sampling) return;
        sampling = true;
        void sampleLeader().finally(() => {
          sampling = false;
        });
      }, 200),
    );
    let busy = false; // one fault at a time: a kill never lands in the middle of a restart
    let faultsOver = false; // set once drained: a kill whose timer fired before must not schedule another
    const scheduleKill = () => {
      if (faultsOver) return;
      const [a, b] = o.killEveryMs;
      timers.push(
        setTimeout(
          async () => {
            if (!busy && !faultsOver) {
              busy = true;
              const at = Date.now();
              const pid = await fleet.killOne(random).catch(() => undefined);
              busy = false;
              if (pid) {
                kills++;
                note(`killed ${pid}${pid === leaderPid ? ' (leader)' : ''}`);
                if (pid === leaderPid) leaderLost = { cause: 'kill', at, pid };
              }
            }
            scheduleKill();
          },
          a + random() * (b - a),
        ),
      );
    };
    scheduleKill();
    if (o.freezeEveryMs > 0) {
      timers.push(
        setInterval(() => {
          if (faultsOver) return;
          const pid = fleet.freezeOne(random, o.freezeForMs);
          if (pid) {
            freezes++;
            note(`froze ${pid} for ${o.freezeForMs} ms${pid === leaderPid ? ' (leader)' : ''}`);
          }
          if (pid && pid === leaderPid) leaderLost ??= { cause: 'freeze', at: Date.now(), pid };
        }, o.freezeEveryMs),
      );
    }

    const restartsDone: SoakReport['restartsDone'] = [];
    let completed = 0;
    let lastProgressAt = Date.now();
    let longestStallMs = 0;
    let limitedCompleted = 0;
    while (completed < o.jobs || limitedCompleted < limitedJobs) {
      if (Date.now() - started > o.deadlineMs) throw new Error(`soak: not drained within ${o.deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
      const now = await sql<{ n: number }[]>`
        select count(*)::int as n from pgsched.jobs where name = 'soak' and state = 'completed'`
        .then(([row]) => row!.n)
        .catch(() => completed); // the database is restarting
      if (limited) {
        limitedCompleted = await sql<{ n: number }[]>`
          select count(*)::int as n from pgsched.jobs where name = 'soak-limited' and state = 'completed'`
          .then(([row]) => row!.n)
          .catch(() => limitedCompleted);
      }
      if (now > completed) {
        longestStallMs = Math.max(longestStallMs, Date.now() - lastProgressAt);
        lastProgressAt = Date.now();
        completed = now;
      }
      // Once every soak job is done the limited queue's may still be running: no stall.
      if (completed >= o.jobs) lastProgressAt = Date.now();
      const next = o.restarts[restartsDone.length];
      if (next && completed >= ((restartsDone.length + 1) * o.jobs) / (o.restarts.length + 1)) {
        while (busy) await new Promise((r) => setTimeout(r, 20)); // a kill in progress finishes first
        busy = true;
        log(`soak: restart -m ${next} at ${completed} completed`);
        const from = Date.now() - started;
        note(`restarting postgres -m ${next}`);
        await restartPostgres(server, next, 500);
        restartsDone.push({ mode: next, atCompleted: completed, from, to: Date.now() - started });
        note(`restarted postgres -m ${next}`);
        // Nobody can take over while the database is down: a takeover is timed from its return.
        if (leaderLost) leaderLost.at = Math.max(leaderLost.at, Date.now());
        busy = false;
      }
    }
    const drainMs = Date.now() - started;
    longestStallMs = Math.max(longestStallMs, Date.now() - lastProgressAt);
    faultsOver = true;
    for (const t of timers) clearTimeout(t);
    while (busy) await new Promise((r) => setTimeout(r, 50));
    // Let frozen processes wake and every process write what it holds before the final stop.
    await new Promise((r) => setTimeout(r, o.freezeForMs + 500));
    const finalExitCodes = await fleet.stopAll();
    log(`soak: drained in ${drainMs} ms`);
    const findings = await analyse(sql, fleet, o.leaderTimeoutMs, started, hi);
    const [from, to] = findings.cron.longestGapBetween;
    const longestGapEvents = events.filter((e) => e.at >= from - 1_000 && e.at <= to);
    const { log: _log, random: _random, ...options } = o;
    return {
      options,
      drainMs,
      longestStallMs,
      takeovers,
      events,
      longestGapEvents,
      kills,
      freezes,
      restartsDone,
      unexpectedDeaths: fleet.unexpectedDeaths,
      finalExitCodes,
      ...findings,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    fleet.killAll();
    await sql.end({ timeout: 5 }).catch(() => {});
    await server.destroy();
  }
}
