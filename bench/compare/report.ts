import { mkdirSync, writeFileSync } from 'node:fs';
import type { RunResult } from './measure.ts';
import type { RawResult } from './raw-sql.ts';
import { formatInt, formatMs, median } from './stats.ts';

export interface SystemReport {
  key: string;
  name: string;
  version: string;
  summary: string;
  settings: string[];
  runs: RunResult[];
  errors: string[];
}

export interface RawReport {
  batch: number;
  deleteCompleted: boolean;
  runs: RawResult[];
  errors: string[];
}

export interface Report {
  date: string;
  mode: 'quick' | 'full';
  plan: Record<string, number | boolean>;
  machine: Record<string, string | number>;
  postgres: Record<string, string>;
  notes: string[];
  systems: SystemReport[];
  raw: RawReport[];
}

const med = (runs: readonly RunResult[], pick: (r: RunResult) => number) => median(runs.map(pick));

/** The Markdown table: medians over the runs that succeeded. */
export function markdown(report: Report): string {
  const lines = [
    '| system | version | settings | enqueue jobs/s | drain jobs/s | latency p50 ms | p95 ms | p99 ms | peak RSS MB |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of report.systems) {
    const r = s.runs;
    const failed = s.errors.length ? ` (${s.errors.length} failed run${s.errors.length > 1 ? 's' : ''})` : '';
    lines.push(
      `| ${s.name}${failed} | ${s.version} | ${s.summary} | ${formatInt(med(r, (x) => x.enqueueRate))} | ` +
        `${formatInt(med(r, (x) => x.drainRate))} | ${formatMs(med(r, (x) => x.latencyMs.p50))} | ` +
        `${formatMs(med(r, (x) => x.latencyMs.p95))} | ${formatMs(med(r, (x) => x.latencyMs.p99))} | ` +
        `${formatInt(med(r, (x) => x.peakRssMb))} |`,
    );
  }
  for (const b of report.raw) {
    const failed = b.errors.length ? ` (${b.errors.length} failed)` : '';
    lines.push(
      `| raw SQL baseline${failed} | pgsched statements | batch ${b.batch}, 1 claim + 1 complete conn, pipelined, ${
        b.deleteCompleted ? 'completed rows deleted' : 'completed rows kept'
      } | — | ` + `${formatInt(median(b.runs.map((x) => x.drainRate)))} | — | — | — | — |`,
    );
  }
  return lines.join('\n');
}

export function details(report: Report): string {
  const out = [
    '',
    `Mode ${report.mode}: ${Object.entries(report.plan)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. Medians over the runs.`,
    `PostgreSQL: ${Object.entries(report.postgres)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
    `Machine: ${Object.entries(report.machine)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    'Settings:',
  ];
  for (const s of report.systems) {
    out.push(`- ${s.name} ${s.version}:`);
    for (const line of s.settings) out.push(`  - ${line}`);
    for (const error of s.errors) out.push(`  - FAILED RUN: ${error}`);
  }
  for (const b of report.raw)
    for (const error of b.errors)
      out.push(`- raw SQL batch ${b.batch} (${b.deleteCompleted ? 'delete' : 'keep'}) FAILED: ${error}`);
  out.push('', 'Notes:', ...report.notes.map((n) => `- ${n}`));
  return out.join('\n');
}

export function writeJson(report: Report): string {
  const dir = new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`compare-${report.date.slice(0, 19).replace(/:/g, '-')}.json`, dir);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file.pathname;
}
