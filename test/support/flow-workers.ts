import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Sql } from 'postgres';
import { waitFor } from './db.js';

const WORKER = fileURLToPath(new URL('../fixtures/flow-worker.ts', import.meta.url));

/** A test/fixtures/flow-worker.ts process and the IPC messages it sent. */
export interface FlowWorker {
  child: ChildProcess;
  messages: Record<string, unknown>[];
}

/** Forks a flow worker (its environment: see the fixture) and resolves once it has started. */
export async function spawnFlowWorker(env: Record<string, string>): Promise<FlowWorker> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, POLL_MS: '1000', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const proc: FlowWorker = { child, messages: [] };
  child.on('message', (m: Record<string, unknown>) => proc.messages.push(m));
  await waitFor(() => proc.messages.some((m) => m.ready), 30_000);
  return proc;
}

/** SIGKILLs every process still alive and waits for each to exit. */
export function killAll(procs: FlowWorker[]): Promise<void[]> {
  return Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
          p.child.once('exit', () => resolve());
          p.child.kill('SIGKILL');
        }),
    ),
  );
}

/** Creates the table the fixture's `tracked` jobs record their start and end in. */
export async function createFlowLog(sql: Sql): Promise<void> {
  await sql`create table flow_log (job_id bigint primary key, queue text, grp text, pid int,
                                   started timestamptz, finished timestamptz)`;
}

/**
 * The most `tracked` jobs of `queue` running at once, from the recorded intervals: per group when
 * `byGroup`, only one process's when `pid`, only jobs started after `since`.
 */
export async function maxOverlap(
  sql: Sql,
  queue: string,
  opts: { byGroup?: boolean; pid?: number; since?: Date } = {},
): Promise<number> {
  const { byGroup = false, pid = null, since = new Date(0) } = opts;
  const [row] = await sql<{ n: number }[]>`
    with s as (select * from flow_log where queue = ${queue} and started > ${since}
                 and (${pid}::int is null or pid = ${pid}::int))
    select coalesce(max(c), 0)::int as n from (
      select (select count(*) from s o
              where o.started <= s.started and o.finished > s.started
                and (not ${byGroup} or o.grp = s.grp)) as c
      from s) x`;
  return row!.n;
}
