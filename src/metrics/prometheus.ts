import type { JobState } from '../jobs/types.js';
import type { NameCounters } from './collector.js';

/** What `pgsched.metrics()` returns: the numbers behind `GET /metrics`. */
export interface PgschedMetrics {
  /** Jobs per queue and state in the database at the time of the call (every state, zeros included). */
  jobs: { queue: string; state: JobState; count: number }[];
  /** This process's worker: completed and failed jobs and attempt durations, by queue and job name, since start. */
  workers: NameCounters[];
  /** Whether this process is the leader right now. */
  leader: boolean;
}

/**
 * Renders metrics in the Prometheus text exposition format (0.0.4), for a `/metrics` endpoint
 * that does not use prom-client. Serve it with `content-type: text/plain; version=0.0.4`.
 */
export function formatPrometheus(m: PgschedMetrics): string {
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  family('pgsched_jobs', 'gauge', 'Jobs in the database by queue and state.');
  for (const j of m.jobs) lines.push(`pgsched_jobs${labels({ queue: j.queue, state: j.state })} ${j.count}`);
  family('pgsched_jobs_completed_total', 'counter', "Jobs completed by this process's worker.");
  for (const w of m.workers) lines.push(`pgsched_jobs_completed_total${labels(w)} ${w.completed}`);
  family('pgsched_jobs_failed_total', 'counter', "Jobs failed for good by this process's worker.");
  for (const w of m.workers) lines.push(`pgsched_jobs_failed_total${labels(w)} ${w.failed}`);
  family('pgsched_job_duration_seconds', 'histogram', "How long attempts ran in this process's worker.");
  for (const w of m.workers) {
    for (const b of w.duration.buckets) {
      const le = b.le === Number.POSITIVE_INFINITY ? '+Inf' : String(b.le);
      lines.push(
        `pgsched_job_duration_seconds_bucket${labels({ queue: w.queue, name: w.name, le })} ${b.count}`,
      );
    }
    lines.push(`pgsched_job_duration_seconds_sum${labels(w)} ${w.duration.sum}`);
    lines.push(`pgsched_job_duration_seconds_count${labels(w)} ${w.duration.count}`);
  }
  family('pgsched_leader', 'gauge', 'Whether this process is the leader (1) or not (0).');
  lines.push(`pgsched_leader ${m.leader ? 1 : 0}`);
  return `${lines.join('\n')}\n`;
}

function labels(l: { queue: string; name?: string; state?: string; le?: string }): string {
  const parts = [`queue="${escapeLabel(l.queue)}"`];
  if (l.name !== undefined) parts.push(`name="${escapeLabel(l.name)}"`);
  if (l.state !== undefined) parts.push(`state="${l.state}"`);
  if (l.le !== undefined) parts.push(`le="${l.le}"`);
  return `{${parts.join(',')}}`;
}

/** Label values may hold any text (job names do): escape as the format requires. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
