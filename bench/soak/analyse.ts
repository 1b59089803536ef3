import type { Sql } from 'postgres';
import type { Fleet } from './chaos.js';

export interface SoakFindings {
  /** Soak jobs by state (all `completed` when nothing was lost). */
  states: Record<string, number>;
  /** Jobs claimed more than once, by why: each earlier attempt's lease expired under a process the soak killed, one it froze, or another. */
  repeated: { total: number; afterKill: number; afterFreeze: number; unexplained: number };
  /** The first few unexplained repeats with their attempt history, to tell what happened. */
  unexplainedJobs: { id: string; history: unknown[] }[];
  /** Attempts per job: the most any job needed. */
  maxAttempts: number;
  cron: {
    occurrences: number;
    /** Occurrences enqueued twice (the unique occurrence index makes this 0 by construction). */
    duplicates: number;
    /** Missing fire times between the first and the last occurrence. */
    missing: number;
    /** Longest time between two consecutive occurrences being enqueued. */
    longestGapMs: number;
    /** When that gap began and ended, in ms since the drain started. */
    longestGapBetween: [number, number];
    leaderTimeoutMs: number;
  };
  /**
   * The limited queue's jobs by state, and the most of its handlers that ran at once, overall and
   * within one group, over the records of handlers that took no longer than a job does (one that
   * took longer ran in a process frozen or starved meanwhile: its job's lease may have run out and
   * the job run elsewhere, which no limit can prevent). `checked` records of `recorded`.
   */
  limited: {
    states: Record<string, number>;
    mostRunning: number;
    mostInAGroup: number;
    recorded: number;
    checked: number;
  };
}

/** The most intervals that overlap at one instant (an end before a start at the same instant). */
function mostAtOnce(intervals: { started: Date; finished: Date }[]): number {
  const edges = intervals.flatMap((i) => [
    [i.started.getTime(), 1],
    [i.finished.getTime(), -1],
  ]);
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let most = 0;
  for (const [, d] of edges) {
    now += d!;
    most = Math.max(most, now);
  }
  return most;
}

/** What the database says after a soak. */
export async function analyse(
  sql: Sql,
  fleet: Fleet,
  leaderTimeoutMs: number,
  startedAt: number,
  /** The longest a handler runs, ms. */
  handlerMaxMs: number,
): Promise<SoakFindings> {
  const states = Object.fromEntries(
    (
      await sql<{ state: string; n: number }[]>`
        select state::text, count(*)::int as n from pgsched.jobs where name = 'soak' group by 1`
    ).map((r) => [r.state, r.n]),
  );
  const repeatedRows = await sql<
    { id: string; attempt: number; errors: { kind?: string; message?: string }[]; history: unknown[] }[]
  >`select id, attempt, errors, history from pgsched.jobs where name = 'soak' and attempt > 1`;
  const repeated = { total: repeatedRows.length, afterKill: 0, afterFreeze: 0, unexplained: 0 };
  const unexplainedJobs: SoakFindings['unexplainedJobs'] = [];
  const unexplained = (row: (typeof repeatedRows)[number]) => {
    repeated.unexplained++;
    if (unexplainedJobs.length < 5) unexplainedJobs.push({ id: row.id, history: row.history });
  };
  let maxAttempts = 1;
  for (const row of repeatedRows) {
    maxAttempts = Math.max(maxAttempts, row.attempt);
    // Worker ids are host:pid:random; the rescuer names the worker whose lease expired.
    const pids = row.errors
      .filter((e) => e.kind === 'lease-expired')
      .map((e) => Number(/worker [^:]+:(\d+):/.exec(e.message ?? '')?.[1]));
    if (pids.length < row.attempt - 1) unexplained(row);
    else if (pids.every((pid) => fleet.killed.has(pid))) repeated.afterKill++;
    else if (pids.every((pid) => fleet.killed.has(pid) || fleet.frozen.has(pid))) repeated.afterFreeze++;
    else unexplained(row);
  }
  const ticks = await sql<{ fire_at: Date; created_at: Date }[]>`
    select fire_at, created_at from pgsched.jobs where schedule = 'soak-tick' order by fire_at, created_at`;
  const distinct = new Set(ticks.map((t) => t.fire_at.getTime()));
  const first = ticks[0]?.fire_at.getTime() ?? 0;
  const last = ticks.at(-1)?.fire_at.getTime() ?? 0;
  const created = ticks.map((t) => t.created_at.getTime()).sort((a, b) => a - b);
  const gaps = created.slice(1).map((t, i) => t - created[i]!);
  const widest = gaps.indexOf(Math.max(0, ...gaps));
  const longestGapBetween: [number, number] =
    widest < 0 ? [0, 0] : [created[widest]! - startedAt, created[widest + 1]! - startedAt];
  const limitedStates = Object.fromEntries(
    (
      await sql<{ state: string; n: number }[]>`
        select state::text, count(*)::int as n from pgsched.jobs where name = 'soak-limited' group by 1`
    ).map((r) => [r.state, r.n]),
  );
  const records = await sql<{ grp: string; started: Date; finished: Date }[]>`
    select grp, started, finished from soak_limited`;
  // Slack for the timer and the event loop of a busy process.
  const checked = records.filter((r) => r.finished.getTime() - r.started.getTime() <= handlerMaxMs + 250);
  const byGroup = new Map<string, typeof checked>();
  for (const r of checked) byGroup.set(r.grp, [...(byGroup.get(r.grp) ?? []), r]);
  return {
    limited: {
      states: limitedStates,
      mostRunning: mostAtOnce(checked),
      mostInAGroup: Math.max(0, ...[...byGroup.values()].map(mostAtOnce)),
      recorded: records.length,
      checked: checked.length,
    },
    states,
    repeated,
    unexplainedJobs,
    maxAttempts,
    cron: {
      occurrences: ticks.length,
      duplicates: ticks.length - distinct.size,
      missing: ticks.length === 0 ? 0 : (last - first) / 1_000 + 1 - distinct.size,
      longestGapMs: Math.max(0, ...gaps),
      longestGapBetween,
      leaderTimeoutMs,
    },
  };
}
