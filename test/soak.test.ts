import { describe, expect, it } from 'vitest';
import { runSoak } from '../bench/soak/run.js';

describe('fault soak (short version of bench/soak.ts)', () => {
  it('10,000 jobs through SIGKILLs, a SIGSTOP and a Postgres restart: all complete, repeats explained, cron intact, limits held', async () => {
    const report = await runSoak({
      jobs: 10_000,
      processes: 3,
      concurrency: 5,
      handlerMs: [1, 20],
      killEveryMs: [2_000, 5_000],
      freezeEveryMs: 6_000,
      freezeForMs: 6_000,
      restarts: ['fast'],
      leaderTimeoutMs: 3_000,
      visibilityMs: 3_000,
      deadlineMs: 100_000,
      limited: { jobs: 1_000, concurrency: 3, groups: 10 },
    });
    const { options: _options, ...figures } = report;
    process.stderr.write(`[soak] ${JSON.stringify(figures)}\n`);
    expect(report.states).toEqual({ completed: 10_000 });
    expect(report.unexpectedDeaths).toEqual([]);
    expect(report.finalExitCodes.every((c) => c === 0)).toBe(true);
    expect(report.kills).toBeGreaterThan(0);
    expect(report.restartsDone).toHaveLength(1);
    // A job ran again only after the worker of its earlier attempt was killed or frozen.
    expect(report.repeated.unexplained).toBe(0);
    expect(report.cron.duplicates).toBe(0);
    expect(report.cron.missing).toBe(0);
    expect(report.cron.occurrences).toBeGreaterThan(3);
    // The limited queue: every job done, its limits held by every handler that ran in a process
    // not frozen meanwhile, and they were reached.
    expect(report.limited.states).toEqual({ completed: 1_000 });
    expect(report.limited.checked).toBeGreaterThan(800);
    expect(report.limited.mostRunning).toBe(3);
    expect(report.limited.mostInAGroup).toBe(1);
    // A frozen leader is replaced within its timeout, a killed one at once (slack for a loaded machine).
    for (const t of report.takeovers) {
      expect(t.ms).toBeLessThan(t.cause === 'kill' ? 2_500 : report.cron.leaderTimeoutMs + 1_000);
    }
    // No schedule fires while the database is down: a restart inside the gap adds its own length.
    const [from, to] = report.cron.longestGapBetween;
    const down = report.restartsDone
      .map((r) => Math.max(0, Math.min(to, r.to) - Math.max(from, r.from)))
      .reduce((a, b) => a + b, 0);
    expect(report.cron.longestGapMs - down).toBeLessThan(report.cron.leaderTimeoutMs + 1_500);
  }, 120_000);
});
