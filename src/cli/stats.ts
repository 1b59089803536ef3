import type { Command } from 'commander';
import type { Pgsched } from '../client.js';
import { parseDuration } from '../duration.js';
import { api } from './api.js';
import { type DbOptions, example, withDb, withJson, withPgsched } from './context.js';
import { type Column, formatTime, paint, renderTable, toJson } from './output.js';
import { sleep, untilStopSignal } from './shutdown.js';

interface Options extends DbOptions {
  json?: boolean;
  watch?: boolean;
  interval: string;
}

type Row = Record<string, unknown>;

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
  queues: Row[];
  workers: Row[] | null;
}

async function snapshotOf(pgsched: Pgsched): Promise<Snapshot> {
  const raw = await api(pgsched, 'stats')();
  // Workers are listed when this pgsched can; stats alone are still worth showing.
  const workers =
    typeof (pgsched as unknown as Row).listWorkers === 'function'
      ? await api(pgsched, 'listWorkers')()
      : null;
  return { at: new Date().toISOString(), queues: queueRows(raw), workers };
}

/** stats() per queue, as an array of rows whether it came as an array or keyed by queue. */
function queueRows(raw: unknown): Row[] {
  const source = (raw as { queues?: unknown })?.queues ?? raw;
  if (Array.isArray(source)) return source as Row[];
  if (source && typeof source === 'object')
    return Object.entries(source as Record<string, Row>).map(([queue, v]) => ({ queue, ...v }));
  return [];
}

/** Nested objects (counts by state, per-minute figures) become columns of their own. */
function flatten(row: Row, prefix = ''): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date))
      Object.assign(out, flatten(v as Row, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

function render(s: Snapshot): string {
  const rows = s.queues.map((r) => flatten(r));
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const short = (k: string) => k.replace(/^(counts|states?|byState)\./, '');
  const columns: Column<Row>[] = keys.map((k) => ({
    header: short(k),
    value: (r) => r[k] ?? 0,
    align: typeof rows.find((r) => r[k] !== undefined)?.[k] === 'number' ? 'right' : 'left',
  }));
  const parts = [paint(`pgsched stats at ${formatTime(s.at)}`, 'bold')];
  parts.push(rows.length ? renderTable(rows, columns) : 'no queues');
  if (s.workers) {
    parts.push('', paint(`${s.workers.length} live worker(s)`, 'bold'));
    if (s.workers.length) {
      const wkeys = [...new Set(s.workers.flatMap((w) => Object.keys(w)))];
      parts.push(
        renderTable(
          s.workers,
          wkeys.map((k) => ({ header: k, value: (w: Row) => w[k] })),
        ),
      );
    }
  }
  return parts.join('\n');
}
