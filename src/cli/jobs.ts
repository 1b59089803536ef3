import type { Command } from 'commander';
import type { Pgsched } from '../client.js';
import { PgschedError } from '../errors.js';
import type { JobAttempt, JobFilterOptions } from '../jobs/index.js';
import { type Job, parseJobId } from '../management.js';
import { type DbOptions, example, intOption, UsageError, withDb, withJson, withPgsched } from './context.js';
import {
  type Column,
  paint,
  printJson,
  printTable,
  renderDetails,
  renderTable,
  stateColour,
  toJson,
} from './output.js';

interface FilterFlags {
  state?: string;
  queue?: string;
  name?: string;
  group?: string;
  key?: string;
  since?: string;
}
interface ListOptions extends DbOptions, FilterFlags {
  limit: string;
  after?: string;
  oldest?: boolean;
  json?: boolean;
}
type ActOptions = DbOptions & FilterFlags & { json?: boolean };

const ATTEMPT_COLUMNS: Column<JobAttempt>[] = [
  { header: '#', value: (a) => a.attempt, align: 'right' },
  { header: 'outcome', value: (a) => a.outcome, colour: (a) => stateColour(a.outcome) },
  { header: 'started', value: (a) => a.startedAt },
  { header: 'finished', value: (a) => a.finishedAt },
  { header: 'worker', value: (a) => a.worker },
  { header: 'error', value: (a) => a.error?.message },
];

const JOB_COLUMNS: Column<Job>[] = [
  { header: 'id', value: (j) => j.id, align: 'right' },
  { header: 'name', value: (j) => j.name },
  { header: 'queue', value: (j) => j.queue },
  { header: 'state', value: (j) => j.state, colour: (j) => stateColour(j.state) },
  { header: 'attempt', value: (j) => `${j.attempt}/${j.maxAttempts ?? '-'}`, align: 'right' },
  { header: 'run at', value: (j) => j.runAt },
  { header: 'created', value: (j) => j.createdAt },
  { header: 'key', value: (j) => j.key },
];

function filterFlags(command: Command): Command {
  return command
    .option(
      '--state <state>',
      'pending, running, completed, failed or cancelled (comma-separated for several)',
    )
    .option('--queue <queue>', 'only this queue')
    .option('--name <name>', 'only jobs of this name')
    .option('--group <group>', 'only this group')
    .option('--key <key>', 'only the job(s) with this key')
    .option('--since <time>', 'only jobs created at or after this ISO 8601 time');
}

/** The flags given, as the library's filter; it validates them and names the bad one. */
function filterOf(options: FilterFlags): JobFilterOptions {
  const filter: Record<string, unknown> = {};
  for (const k of ['state', 'queue', 'name', 'group', 'key', 'since'] as const) {
    const value = options[k];
    if (value !== undefined) filter[k] = k === 'state' && value.includes(',') ? value.split(',') : value;
  }
  return filter as JobFilterOptions;
}

export function registerJobs(program: Command): void {
  const jobs = program
    .command('jobs')
    .helpCommand(false)
    .description('list, inspect, retry, cancel and delete jobs');
  example(jobs, 'pgsched jobs list --state failed', 'pgsched jobs retry 41 42');

  const list = withJson(withDb(filterFlags(jobs.command('list'))))
    .description('list jobs, newest first, a page at a time')
    .option('--limit <n>', 'jobs per page (1–1000)', '50')
    .option('--after <cursor>', 'the cursor printed after the previous page')
    .option('--oldest', 'oldest first (default: newest first)')
    .action((o: ListOptions) => withPgsched(o, (p) => listJobs(p, o)));
  example(
    list,
    'pgsched jobs list --state failed --queue emails --limit 20',
    'pgsched jobs list --json | jq ".jobs[].id"',
  );

  const show = withJson(withDb(jobs.command('show')))
    .description('one job: state, payload, result, errors and attempts')
    .argument('<id>', 'job id')
    .action((id: string, o: DbOptions & { json?: boolean }) => withPgsched(o, (p) => showJob(p, id, o.json)));
  example(show, 'pgsched jobs show 42 --json');

  const actions = {
    retry: { verb: 'retried', single: (p: Pgsched, id: string) => p.retry(id), bulk: 'retryJobs' },
    cancel: { verb: 'cancelled', single: (p: Pgsched, id: string) => p.cancel(id), bulk: 'cancelJobs' },
    delete: { verb: 'deleted', single: (p: Pgsched, id: string) => p.deleteJob(id), bulk: undefined },
  } as const;
  const describeAction = {
    retry: 'return failed or cancelled jobs to pending (by id, or every job matching the filter)',
    cancel: 'cancel pending or running jobs (by id, or every job matching the filter)',
    delete: 'delete pending or finished jobs by id (a running job is refused)',
  };
  for (const [action, how] of Object.entries(actions) as [
    keyof typeof actions,
    (typeof actions)['retry'],
  ][]) {
    let command = withJson(withDb(jobs.command(action)))
      .description(describeAction[action])
      .argument(how.bulk ? '[ids...]' : '<ids...>', 'job ids');
    if (how.bulk) command = filterFlags(command);
    command.action((ids: string[], o: ActOptions) =>
      withPgsched(o, async (p) => {
        const filter = filterOf(o);
        if (how.bulk && ids.length === 0) return bulk(p, how.bulk, how.verb, filter, o.json);
        if (ids.length === 0) throw new UsageError(`jobs ${action}: give job ids`);
        if (Object.keys(filter).length > 0)
          throw new UsageError(`jobs ${action}: give either job ids or filter flags, not both`);
        return byIds(p, ids, how.verb, how.single, o.json);
      }),
    );
    example(
      command,
      `pgsched jobs ${action} 41 42 43`,
      ...(how.bulk
        ? [`pgsched jobs ${action} --state ${action === 'retry' ? 'failed' : 'pending'} --queue emails`]
        : []),
    );
  }
}

async function listJobs(pgsched: Pgsched, o: ListOptions): Promise<void> {
  const page = await pgsched.listJobs({
    ...filterOf(o),
    limit: intOption('--limit', o.limit, 1, 1000),
    ...(o.after === undefined ? {} : { after: o.after }),
    ...(o.oldest ? { order: 'oldest' as const } : {}),
  });
  if (o.json) return printJson(page);
  printTable(page.jobs, JOB_COLUMNS, 'no jobs');
  if (page.next) process.stderr.write(`more: add --after ${page.next}\n`);
}

async function showJob(pgsched: Pgsched, id: string, json?: boolean): Promise<void> {
  const job = await pgsched.getJob(parseJobId('job id', id));
  if (!job) throw new PgschedError(`job ${id} not found`);
  if (json) return printJson(job);
  const lines = [
    renderDetails([
      ['id', job.id],
      ['name', job.name],
      ['queue', job.queue],
      ['state', job.state, stateColour(job.state)],
      ['attempt', `${job.attempt} of ${job.maxAttempts ?? '-'}`],
      ['priority', job.priority],
      ['key', job.key],
      ['group', job.group],
      ['progress', job.progress],
      ['schedule', job.schedule],
      ['run at', job.runAt],
      ['created', job.createdAt],
      ['started', job.startedAt],
      ['finished', job.finishedAt],
      ['locked by', job.lockedBy],
    ]),
    `${paint('payload:', 'bold')}\n${indent(toJson(job.payload))}`,
    `${paint('result:', 'bold')}\n${indent(toJson(job.result))}`,
  ];
  if (job.attempts.length > 0) {
    lines.push(paint('attempts:', 'bold'));
    lines.push(indent(renderTable(job.attempts, ATTEMPT_COLUMNS)));
  }
  if (job.errors.length > 0) {
    lines.push(paint('errors:', 'bold'));
    for (const e of job.errors) {
      lines.push(indent(`${paint(`attempt ${e.attempt}`, 'red')} at ${e.at}: ${e.message}`));
      if (e.stack) lines.push(indent(e.stack, 4));
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function byIds(
  pgsched: Pgsched,
  ids: string[],
  verb: string,
  act: (p: Pgsched, id: string) => Promise<boolean>,
  json?: boolean,
): Promise<void> {
  // Every id is checked before anything is changed: a typo in the fifth id writes nothing.
  const valid = ids.map((id) => parseJobId('job id', id));
  const done: string[] = [];
  const skipped: string[] = [];
  for (const id of valid) ((await act(pgsched, id)) ? done : skipped).push(id);
  if (json) printJson({ [verb]: done, skipped });
  else if (done.length > 0) process.stdout.write(`${verb} ${done.length} job(s): ${done.join(', ')}\n`);
  if (skipped.length > 0) {
    throw new PgschedError(
      `not ${verb}: ${skipped.join(', ')} (no such job, or not in a state that allows it)`,
    );
  }
}

async function bulk(
  pgsched: Pgsched,
  method: 'retryJobs' | 'cancelJobs',
  verb: string,
  filter: JobFilterOptions,
  json?: boolean,
): Promise<void> {
  if (Object.keys(filter).length === 0) throw new UsageError('give job ids, or at least one filter flag');
  const count = await pgsched[method](filter);
  if (json) printJson({ [verb]: count });
  else process.stdout.write(`${verb} ${count} job(s)\n`);
}

function indent(text: string, n = 2): string {
  return text
    .split('\n')
    .map((l) => `${' '.repeat(n)}${l}`)
    .join('\n');
}
