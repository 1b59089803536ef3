import type { Command } from 'commander';
import { PgschedError } from '../errors.js';
import { validateQueueName } from '../identifiers.js';
import type {
  QueueInfo,
  QueuePolicyOptions as QueuePolicy,
  RateLimit,
  StoredRateLimit,
} from '../queues/index.js';
import { type DbOptions, example, intOption, UsageError, withDb, withJson, withPgsched } from './context.js';
import { type Column, printJson, printTable, renderDetails } from './output.js';

type ReadOptions = DbOptions & { json?: boolean };
interface SetOptions extends ReadOptions {
  concurrency?: string;
  rateLimit?: string;
  groupConcurrency?: string;
  groupRateLimit?: string;
}

const STATES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;

const rate = (r: StoredRateLimit | null | undefined) => (r ? `${r.limit}/${formatPeriod(r.period)}` : null);
const QUEUE_COLUMNS: Column<QueueInfo>[] = [
  { header: 'queue', value: (q) => q.name },
  {
    header: 'paused',
    value: (q) => (q.paused ? 'yes' : 'no'),
    colour: (q) => (q.paused ? 'yellow' : undefined),
  },
  ...STATES.map((s) => ({ header: s, value: (q: QueueInfo) => q.counts[s], align: 'right' as const })),
  { header: 'concurrency', value: (q) => q.concurrency ?? null, align: 'right' },
  { header: 'rate', value: (q) => rate(q.rateLimit) },
  { header: 'group conc.', value: (q) => q.groupConcurrency ?? null, align: 'right' },
  { header: 'group rate', value: (q) => rate(q.groupRateLimit) },
];

export function registerQueues(program: Command): void {
  const queues = program
    .command('queues')
    .helpCommand(false)
    .description('queue counts and policies; pause and resume');
  example(queues, 'pgsched queues list', 'pgsched queues pause emails');

  const list = withJson(withDb(queues.command('list')))
    .description('every queue with its job counts by state and its policy')
    .action((o: ReadOptions) =>
      withPgsched(o, async (p) => {
        const rows = await p.listQueues();
        if (o.json) printJson(rows);
        else printTable(rows, QUEUE_COLUMNS, 'no queues');
      }),
    );
  example(list, 'pgsched queues list --json');

  const show = withJson(withDb(queues.command('show')))
    .description("one queue's policy, paused flag and counts")
    .argument('<queue>', 'queue name')
    .action((name: string, o: ReadOptions) =>
      withPgsched(o, async (p) => {
        const queue = await p.getQueue(validateQueueName('queue', name));
        if (!queue) throw new PgschedError(`queue "${name}" not found`);
        if (o.json) return printJson(queue);
        process.stdout.write(
          `${renderDetails([
            ['queue', queue.name],
            ['paused', queue.paused ? 'yes' : 'no', queue.paused ? 'yellow' : undefined],
            ['concurrency', queue.concurrency ?? null],
            ['rate limit', rate(queue.rateLimit)],
            ['group concurrency', queue.groupConcurrency ?? null],
            ['group rate limit', rate(queue.groupRateLimit)],
            ...STATES.map((s) => [s, queue.counts[s]] as [string, unknown]),
          ])}\n`,
        );
      }),
    );
  example(show, 'pgsched queues show emails');

  for (const action of ['pause', 'resume'] as const) {
    const command = withJson(withDb(queues.command(action)))
      .description(
        action === 'pause'
          ? 'stop every worker from starting jobs of the queue (running jobs finish)'
          : 'let workers start jobs of the queue again',
      )
      .argument('<queue>', 'queue name')
      .action((name: string, o: ReadOptions) =>
        withPgsched(o, async (p) => {
          const queue = validateQueueName('queue', name);
          await (action === 'pause' ? p.pauseQueue(queue) : p.resumeQueue(queue));
          if (o.json) printJson({ queue, paused: action === 'pause' });
          else process.stdout.write(`queue "${queue}" ${action === 'pause' ? 'paused' : 'resumed'}\n`);
        }),
      );
    example(command, `pgsched queues ${action} emails`);
  }

  const set = withJson(withDb(queues.command('set')))
    .description('set limits of a queue, obeyed by every worker ("none" removes a limit)')
    .argument('<queue>', 'queue name')
    .option('--concurrency <n|none>', 'running jobs of the queue, all workers together')
    .option('--rate-limit <limit/period|none>', 'job starts per period, e.g. 100/1m')
    .option('--group-concurrency <n|none>', 'running jobs per group')
    .option('--group-rate-limit <limit/period|none>', 'job starts per group per period, e.g. 10/1s')
    .action((name: string, o: SetOptions) =>
      withPgsched(o, async (p) => {
        const queue = validateQueueName('queue', name);
        const policy = policyOf(o);
        const after = await p.setQueue(queue, policy);
        if (o.json) printJson(after);
        else process.stdout.write(`queue "${queue}" updated: ${JSON.stringify(policy)}\n`);
      }),
    );
  example(
    set,
    'pgsched queues set emails --concurrency 5 --rate-limit 100/1m',
    'pgsched queues set emails --rate-limit none',
  );
}

function policyOf(o: SetOptions): QueuePolicy {
  const policy: QueuePolicy = {};
  if (o.concurrency !== undefined) policy.concurrency = count('--concurrency', o.concurrency);
  if (o.rateLimit !== undefined) policy.rateLimit = rateLimit('--rate-limit', o.rateLimit);
  if (o.groupConcurrency !== undefined)
    policy.groupConcurrency = count('--group-concurrency', o.groupConcurrency);
  if (o.groupRateLimit !== undefined)
    policy.groupRateLimit = rateLimit('--group-rate-limit', o.groupRateLimit);
  if (Object.keys(policy).length === 0) {
    throw new UsageError(
      'queues set: give at least one of --concurrency, --rate-limit, --group-concurrency, --group-rate-limit',
    );
  }
  return policy;
}

function count(flag: string, text: string): number | null {
  return text === 'none' ? null : intOption(flag, text);
}

function rateLimit(flag: string, text: string): RateLimit | null {
  if (text === 'none') return null;
  const match = /^(\d+)\/(.+)$/.exec(text);
  if (!match)
    throw new UsageError(`invalid ${flag} "${text}": expected <limit>/<period>, e.g. 100/1m, or none`);
  // The period is validated by setQueue, which names the field and the value.
  const period = /^\d+$/.test(match[2]!) ? Number(match[2]) : match[2]!;
  return { limit: intOption(flag, match[1]!), period };
}

/** 60000 → `1m`, 1500 → `1500ms`: stored periods (milliseconds) as people write them. */
export function formatPeriod(ms: number): string {
  const units = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const;
  for (const [unit, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
