import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { Pgsched } from '../client.js';
import type { EnqueueOptions } from '../enqueue.js';
import {
  type DbOptions,
  example,
  intOption,
  jsonArgument,
  UsageError,
  withDb,
  withJson,
  withPgsched,
} from './context.js';
import { printJson } from './output.js';
import { createProgress } from './progress.js';

interface Options extends DbOptions {
  queue?: string;
  delay?: string;
  runAt?: string;
  key?: string;
  group?: string;
  priority?: string;
  maxAttempts?: string;
  file?: string;
  chunk: string;
  json?: boolean;
}

export function registerEnqueue(program: Command): void {
  const command = withJson(withDb(program.command('enqueue')))
    .description('enqueue one job, or one job per line of a JSON Lines file')
    .argument('<name>', 'job name')
    .argument('[payload]', 'the payload as JSON (default: {})')
    .option('--queue <queue>', "queue (default: the job's definition, else 'default')")
    .option('--delay <duration>', 'run after this long, e.g. 30s, 5m')
    .option('--run-at <time>', 'run at this ISO 8601 time')
    .option('--key <key>', 'dedupe key: no second unfinished job with the same key')
    .option('--group <group>', 'group within the queue (group limits apply)')
    .option('--priority <n>', 'higher runs first')
    .option('--max-attempts <n>', 'attempts before the job fails')
    .option('--file <path>', 'a JSON Lines file: one payload per line, enqueued in bulk')
    .option('--chunk <n>', 'jobs per insert statement with --file', '1000')
    .action((name: string, payload: string | undefined, o: Options) =>
      withPgsched(o, (p) => (o.file === undefined ? one(p, name, payload, o) : many(p, name, payload, o))),
    );
  example(
    command,
    `pgsched enqueue send-email '{"to":"a@b.c"}' --delay 10s --key welcome:42`,
    'pgsched enqueue send-email --file payloads.jsonl --queue emails',
  );
}

function optionsOf(o: Options): EnqueueOptions & { group?: string } {
  const options: EnqueueOptions & { group?: string } = {};
  if (o.queue !== undefined) options.queue = o.queue;
  if (o.delay !== undefined) options.delay = /^\d+$/.test(o.delay) ? Number(o.delay) : o.delay;
  if (o.runAt !== undefined) options.runAt = o.runAt;
  if (o.key !== undefined) options.key = o.key;
  if (o.group !== undefined) options.group = o.group;
  if (o.priority !== undefined) options.priority = intOption('--priority', o.priority, -32768, 32767);
  if (o.maxAttempts !== undefined)
    options.maxAttempts = intOption('--max-attempts', o.maxAttempts, 1, 1_000_000);
  return options;
}

async function one(pgsched: Pgsched, name: string, payload: string | undefined, o: Options): Promise<void> {
  const value = payload === undefined ? {} : jsonArgument('payload', payload);
  const id = await pgsched.enqueue(name, value, optionsOf(o));
  if (o.json) printJson({ id });
  else process.stdout.write(`${id}\n`);
}

/**
 * Two passes over the file: the first parses every line, so that a bad line 90,000 writes
 * nothing; the second streams the payloads to enqueueMany in chunks (one INSERT each), so that
 * memory stays bounded by the chunk, not the file.
 */
async function many(pgsched: Pgsched, name: string, payload: string | undefined, o: Options): Promise<void> {
  if (payload !== undefined) throw new UsageError('give either a payload or --file, not both');
  if (o.key !== undefined) throw new UsageError('--key cannot be used with --file: keys are per job');
  const file = o.file!;
  const chunk = intOption('--chunk', o.chunk, 1, 10_000);
  const options = optionsOf(o);
  let total = 0;
  for await (const _ of payloads(file)) total++;
  if (total === 0) throw new UsageError(`${file} has no payloads`);

  const progress = createProgress(total, `enqueue ${name}`);
  const started = performance.now();
  let batch: unknown[] = [];
  let done = 0;
  let first: string | undefined;
  let last: string | undefined;
  const flush = async () => {
    const ids = await pgsched.enqueueMany(name, batch, options);
    first ??= ids[0];
    last = ids.at(-1) ?? last;
    done += batch.length;
    batch = [];
    progress.update(done);
  };
  for await (const value of payloads(file)) {
    batch.push(value);
    if (batch.length >= chunk) await flush();
  }
  if (batch.length > 0) await flush();
  progress.finish();
  const seconds = (performance.now() - started) / 1000;
  if (o.json)
    printJson({ enqueued: done, firstId: first, lastId: last, seconds: Number(seconds.toFixed(3)) });
  else
    process.stdout.write(
      `enqueued ${done} "${name}" job(s) in ${seconds.toFixed(1)}s (${Math.round(done / Math.max(seconds, 0.001))}/s), ids ${first}–${last}\n`,
    );
}

/** The payloads of a JSON Lines file; blank lines are skipped, a bad line is a usage error naming it. */
async function* payloads(file: string): AsyncGenerator<unknown> {
  const stream = createReadStream(file, 'utf8');
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error) => reject(new UsageError(`cannot read ${file}: ${error.message}`)));
  });
  await opened;
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    yield jsonArgument(`payload on line ${n} of ${file}`, line);
  }
}
