import type { Command } from 'commander';
import type { Pgsched } from '../client.js';
import { parseDuration } from '../duration.js';
import type { QueueStats } from '../jobs/index.js';
import type { WorkerInfo } from '../workers/queries.js';
import { type DbOptions, example, withDb, withJson, withPgsched } from './context.js';
import { type Column, formatTime, paint, renderTable, stateColour, toJson } from './output.js';
import { sleep, untilStopSignal } from './shutdown.js';

interface Options extends DbOptions {
  json?: boolean;
  watch?: boolean;
  interval: string;
}

export function registerStats(program: Command): void {
  const command = withJson(withDb(program.command('stats')))
    .description('per queue: jobs by state, completed and failed in the last minute; live workers')
    .option('-w, --watch', 'refresh in place until Ctrl-C (with --json: one JSON line per refresh)')
    .option('--interval <duration>', 'refresh interval with --watch', '2s')
    .action((o: Options) => withPgsched(o, (p) => stats(p, o)));
  example(command, 'pgsched stats', 'pgsched stats --watch --interval 1s', 'pgsched stats --json');
}

async function stats(pgsched: Pgsched, o: Options): Promise<void> {
  const intervalMs = parseDuration('--interval', o.interval, { allowZero: false });
  if (!o.watch) {
    const snapshot = await snapshotOf(pgsched);
    process.stdout.write(o.json ? `${toJson(snapshot)}\n` : `${render(snapshot)}\n`);
    return;
  }
  const stop = untilStopSignal();
  const inPlace = Boolean(process.stdout.isTTY) && !o.json;
  let previousLines = 0;
  try {
    while (!stop.signal.aborted) {
      const snapshot = await snapshotOf(pgsched);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(snapshot)}\n`);
      } else {
        const text = `${render(snapshot)}\n${paint(`refreshing every ${o.interval}; Ctrl-C to stop`, 'gray')}`;
        // Move up over the previous frame and clear to the end: the view refreshes in place.
        const rewind = inPlace && previousLines > 0 ? `\x1b[${previousLines}F\x1b[J` : inPlace ? '' : '\n';
        process.stdout.write(`${rewind}${text}\n`);
        previousLines = text.split('\n').length;
      }
      await sleep(intervalMs, stop.signal);
    }
  } finally {
    stop.dispose();
  }
}

interface Snapshot {
  at: string;
  queues: QueueStats[];
  workers: WorkerInfo[];
}

async function snapshotOf(pgsched: Pgsched): Promise<Snapshot> {
  const [queues, workers] = await Promise.all([pgsched.stats(), pgsched.listWorkers()]);
  return { at: new Date().toISOString(), queues, workers };
}

const STATES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
const QUEUE_COLUMNS: Column<QueueStats>[] = [
  { header: 'queue', value: (q) => q.queue },
  ...STATES.map((s) => ({
    header: s,
    value: (q: QueueStats) => q.counts[s],
    align: 'right' as const,
    colour: (q: QueueStats) => (q.counts[s] > 0 ? stateColour(s) : undefined),
  })),
  { header: 'done/min', value: (q) => q.completedLastMinute, align: 'right' },
  { header: 'failed/min', value: (q) => q.failedLastMinute, align: 'right' },
];
const WORKER_COLUMNS: Column<WorkerInfo>[] = [
  { header: 'worker', value: (w) => w.id },
  { header: 'host', value: (w) => w.host },
  { header: 'pid', value: (w) => w.pid, align: 'right' },
  { header: 'queues', value: (w) => w.queues?.join(',') ?? 'all' },
  { header: 'running', value: (w) => `${w.running}/${w.concurrency}`, align: 'right' },
  { header: 'leader', value: (w) => (w.leader ? 'yes' : '') },
  { header: 'started', value: (w) => w.startedAt },
  { header: 'last seen', value: (w) => w.lastSeenAt },
];

function render(s: Snapshot): string {
  const parts = [paint(`pgsched stats at ${formatTime(s.at)}`, 'bold')];
  parts.push(s.queues.length ? renderTable(s.queues, QUEUE_COLUMNS) : 'no queues');
  parts.push('', paint(`${s.workers.length} live worker(s)`, 'bold'));
  if (s.workers.length) parts.push(renderTable(s.workers, WORKER_COLUMNS));
  return parts.join('\n');
}
