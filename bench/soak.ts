/**
 * The fault soak (a script, not part of `npm test`; test/soak.test.ts runs a short version):
 *   npx tsx bench/soak.ts [--jobs 100000] [--json out.json]
 * 100,000 jobs of 1–20 ms, 4 worker processes; a random one SIGKILLed and restarted every 2–5 s,
 * one SIGSTOPped for 20 s every 10 s; Postgres restarted 3 times (fast, immediate, fast); a
 * schedule firing every second meanwhile; 10,000 more jobs in a queue limited to 8 at once and 1
 * per group over 40 groups. Prints the report (see bench/soak/analyse.ts).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runSoak } from './soak/run.js';

const { values } = parseArgs({
  options: { jobs: { type: 'string', default: '100000' }, json: { type: 'string' } },
});
const report = await runSoak({
  jobs: Number(values.jobs),
  processes: 4,
  concurrency: 10,
  handlerMs: [1, 20],
  killEveryMs: [2_000, 5_000],
  freezeEveryMs: 10_000,
  freezeForMs: 20_000,
  restarts: ['fast', 'immediate', 'fast'],
  leaderTimeoutMs: 10_000,
  visibilityMs: 5_000,
  deadlineMs: 30 * 60_000,
  limited: { jobs: 10_000, concurrency: 8, groups: 40 },
  log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
});
console.log(JSON.stringify(report, null, 2));
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
