import { Hono } from 'hono';
import type { ScheduleOptions } from '../../schedule/index.js';
import type { ManagedPgsched } from '../contract.js';
import { notFound } from '../errors.js';
import { readJsonObject } from '../http.js';

/** How many upcoming fire times `GET schedules/:name` shows. */
const UPCOMING = 5;

/** Schedules: list, show (with the next fires), create/update, delete, pause/resume. */
export function scheduleRoutes(pgsched: ManagedPgsched): Hono {
  const app = new Hono();

  const load = async (name: string) => {
    const schedule = await pgsched.getSchedule(name);
    if (!schedule) throw notFound('Schedule', name);
    // A paused schedule fires nothing; its trigger's next times would mislead.
    const upcoming = schedule.paused ? [] : await pgsched.upcoming(name, UPCOMING).catch(() => []);
    return { ...schedule, upcoming };
  };

  app.get('/', async (c) => {
    const schedules = await pgsched.listSchedules();
    const withUpcoming = await Promise.all(
      schedules.map(async (s) => ({
        ...s,
        upcoming: s.paused ? [] : await pgsched.upcoming(s.name, UPCOMING).catch(() => []),
      })),
    );
    return c.json({ schedules: withUpcoming });
  });
  app.get('/:name', async (c) => c.json(await load(c.req.param('name'))));

  app.put('/:name', async (c) => {
    const name = c.req.param('name');
    const existed = (await pgsched.getSchedule(name)) !== null;
    await pgsched.schedule(name, (await readJsonObject(c)) as unknown as ScheduleOptions);
    return c.json(await load(name), existed ? 200 : 201);
  });

  app.delete('/:name', async (c) => {
    const name = c.req.param('name');
    if (!(await pgsched.unschedule(name))) throw notFound('Schedule', name);
    return c.body(null, 204);
  });

  app.post('/:name/pause', async (c) => {
    const name = c.req.param('name');
    if (!(await pgsched.pauseSchedule(name))) throw notFound('Schedule', name);
    return c.json(await load(name));
  });
  app.post('/:name/resume', async (c) => {
    const name = c.req.param('name');
    if (!(await pgsched.resumeSchedule(name))) throw notFound('Schedule', name);
    return c.json(await load(name));
  });
  return app;
}
