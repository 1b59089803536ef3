import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, type Dashboard, serveDashboard } from '../src/dashboard/index.js';
import type { Pgsched } from '../src/index.js';
import { useTestDb } from './support/db.js';

const db = await useTestDb();
let pgsched: Pgsched;
let dashboard: Dashboard;
const BASE = '/admin/pgsched';
const AUTH = { authorization: 'Bearer tok' };
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  pgsched = db.pgsched();
  await pgsched.migrate();
  dashboard = createDashboard({ pgsched, basePath: BASE, auth: { token: 'tok' } });
});
afterAll(async () => {
  for (const close of closers) await close();
});

function listen(server: Server): Promise<string> {
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/**
 * What every mounting must do: serve the API with its auth, pass a JSON action's body through,
 * serve the UI, and leave the host's own routes to the host.
 */
async function exercise(origin: string, schedule: string) {
  const unauthorized = await fetch(`${origin}${BASE}/api/schedules`);
  expect(unauthorized.status).toBe(401);

  const put = await fetch(`${origin}${BASE}/api/schedules/${schedule}`, {
    method: 'PUT',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ job: 'report', every: '1h', payload: { from: schedule } }),
  });
  expect(put.status).toBe(201);
  expect(await put.json()).toMatchObject({ name: schedule, version: 1, payload: { from: schedule } });
  expect((await pgsched.getSchedule(schedule))!.payload).toEqual({ from: schedule });

  const pause = await fetch(`${origin}${BASE}/api/schedules/${schedule}/pause`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
  });
  expect(pause.status).toBe(200);
  expect((await pgsched.getSchedule(schedule))!.paused).toBe(true);

  const form = await fetch(`${origin}${BASE}/api/schedules/${schedule}/resume`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'x=1',
  });
  expect(form.status).toBe(415);

  const page = await fetch(`${origin}${BASE}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<div id="root">');
  const asset = await fetch(`${origin}${BASE}/assets/vendor/preact.mjs`);
  expect(asset.headers.get('content-type')).toContain('javascript');

  const metrics = await fetch(`${origin}${BASE}/metrics`, { headers: AUTH });
  expect(await metrics.text()).toContain('pgsched_jobs');

  const own = await fetch(`${origin}/own`);
  expect(await own.text()).toBe('host route');
}

describe('mounting', () => {
  it('node:http', async () => {
    const server = createServer((req, res) => {
      if (req.url?.startsWith(BASE)) return void dashboard.listener(req, res);
      res.end('host route');
    });
    await exercise(await listen(server), 'node-http');
  });

  it('Express, at a mount path, after express.json()', async () => {
    const app = express();
    app.use(express.json());
    app.use(BASE, dashboard.listener);
    app.get('/own', (_req, res) => {
      res.send('host route');
    });
    await exercise(await listen(createServer(app)), 'express');
  });

  it('Fastify', async () => {
    const app = Fastify();
    await app.register(async (scope) => {
      // Leave the body unread: the dashboard reads it from the raw request.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_req, _payload, done) => done(null));
      const handler = (request: { raw: any }, reply: { hijack(): void; raw: any }) => {
        reply.hijack();
        return dashboard.listener(request.raw, reply.raw);
      };
      scope.all(BASE, handler);
      scope.all(`${BASE}/*`, handler);
    });
    app.get('/own', async () => 'host route');
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => app.close());
    await exercise(origin, 'fastify');
  });

  it('Koa', async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.path !== BASE && !ctx.path.startsWith(`${BASE}/`)) return next();
      ctx.respond = false;
      await dashboard.listener(ctx.req, ctx.res);
    });
    app.use((ctx) => {
      ctx.body = 'host route';
    });
    await exercise(await listen(createServer(app.callback())), 'koa');
  });

  it('Hono', async () => {
    const app = new Hono();
    app.all(`${BASE}/*`, (c) => dashboard.fetch(c.req.raw));
    app.all(BASE, (c) => dashboard.fetch(c.req.raw));
    app.get('/own', (c) => c.text('host route'));
    const origin = await new Promise<string>((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(`http://127.0.0.1:${info.port}`),
      );
      closers.push(() => new Promise<void>((r) => server.close(() => r())));
    });
    await exercise(origin, 'hono');
  });

  it('standalone, as `pgsched dashboard` runs it', async () => {
    const served = await serveDashboard({ pgsched, port: 0, readOnly: true });
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const health = await fetch(`${served.url}health`);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      const put = await fetch(`${served.url}api/schedules/x`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(put.status).toBe(403);
    } finally {
      await served.close();
    }
    await expect(fetch(`${served.url}health`)).rejects.toThrow();
  });
});
