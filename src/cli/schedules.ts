import type { Command } from 'commander';
import { PgschedError } from '../errors.js';
import type { Schedule } from '../schedule/index.js';
import { type DbOptions, example, intOption, withDb, withJson, withPgsched } from './context.js';
import { type Column, formatTime, printJson, printTable, renderDetails } from './output.js';

type ReadOptions = DbOptions & { json?: boolean };

/** `cron 0 0 2 * * *`, `every 5m`, `iso R/…`, `at 2026-…`: the trigger as it was given. */
export function triggerText(s: Pick<Schedule, 'kind' | 'spec'>): string {
  const spec = s.spec as Record<string, unknown>;
  const value = spec.cron ?? spec.every ?? spec.iso ?? spec.at;
  return `${s.kind} ${typeof value === 'string' ? value : JSON.stringify(value)}`;
}

const COLUMNS: Column<Schedule>[] = [
  { header: 'name', value: (s) => s.name },
  { header: 'trigger', value: (s) => triggerText(s) },
  { header: 'tz', value: (s) => s.tz },
  { header: 'job', value: (s) => s.job },
  {
    header: 'paused',
    value: (s) => (s.paused ? 'yes' : 'no'),
    colour: (s) => (s.paused ? 'yellow' : undefined),
  },
  { header: 'next fire', value: (s) => s.nextFireAt },
  { header: 'last fire', value: (s) => s.lastFireAt },
  { header: 'runs', value: (s) => s.runCount, align: 'right' },
  { header: 'version', value: (s) => s.version, align: 'right' },
];

export function registerSchedules(program: Command): void {
  const schedules = program
    .command('schedules')
    .description('recurring schedules: inspect, pause, resume, delete');
  example(schedules, 'pgsched schedules list', 'pgsched schedules upcoming nightly-report -n 5');

  const list = withJson(withDb(schedules.command('list')))
    .description('every schedule with its trigger, next and last fire time')
    .action((o: ReadOptions) =>
      withPgsched(o, async (p) => {
        const rows = await p.listSchedules();
        if (o.json) printJson(rows);
        else printTable(rows, COLUMNS, 'no schedules');
      }),
    );
  example(list, 'pgsched schedules list --json');

  const show = withJson(withDb(schedules.command('show')))
    .description('one schedule, whole')
    .argument('<name>', 'schedule name')
    .action((name: string, o: ReadOptions) =>
      withPgsched(o, async (p) => {
        const s = await p.getSchedule(name);
        if (!s) throw new PgschedError(`schedule "${name}" not found`);
        if (o.json) return printJson(s);
        process.stdout.write(
          `${renderDetails([
            ['name', s.name],
            ['trigger', triggerText(s)],
            ['time zone', s.tz],
            ['job', s.job],
            ['payload', s.payload],
            ['options', s.options],
            ['paused', s.paused ? 'yes' : 'no', s.paused ? 'yellow' : undefined],
            ['version', s.version],
            ['next fire', s.nextFireAt],
            ['last fire', s.lastFireAt],
            ['runs', s.runCount],
            ['catch up', s.catchUp],
            ['overlap', s.overlap],
            ['updated', s.updatedAt],
          ])}\n`,
        );
      }),
    );
  example(show, 'pgsched schedules show nightly-report');

  const upcoming = withJson(withDb(schedules.command('upcoming')))
    .description('the next fire times, computed without enqueuing anything')
    .argument('<name>', 'schedule name')
    .option('-n, --count <n>', 'how many (1–1000)', '5')
    .action((name: string, o: ReadOptions & { count: string }) =>
      withPgsched(o, async (p) => {
        const n = intOption('--count', o.count, 1, 1000);
        if (!(await p.getSchedule(name))) throw new PgschedError(`schedule "${name}" not found`);
        const times = await p.upcoming(name, n);
        if (o.json) return printJson(times);
        process.stdout.write(
          times.length ? `${times.map((t) => formatTime(t)).join('\n')}\n` : 'no upcoming fires\n',
        );
      }),
    );
  example(upcoming, 'pgsched schedules upcoming nightly-report -n 10');

  const actions = {
    pause: { run: 'pauseSchedule', done: 'paused', text: 'stop a schedule from firing until resumed' },
    resume: {
      run: 'resumeSchedule',
      done: 'resumed',
      text: 'resume from now (fires during the pause are not caught up)',
    },
    delete: { run: 'unschedule', done: 'deleted', text: 'delete a schedule (its jobs stay)' },
  } as const;
  for (const [action, how] of Object.entries(actions)) {
    const command = withJson(withDb(schedules.command(action)))
      .description(how.text)
      .argument('<name>', 'schedule name')
      .action((name: string, o: ReadOptions) =>
        withPgsched(o, async (p) => {
          if (!(await p[how.run](name))) throw new PgschedError(`schedule "${name}" not found`);
          if (o.json) printJson({ schedule: name, [how.done]: true });
          else process.stdout.write(`schedule "${name}" ${how.done}\n`);
        }),
      );
    example(command, `pgsched schedules ${action} nightly-report`);
  }
}
