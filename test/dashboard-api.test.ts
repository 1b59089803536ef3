import { beforeAll, describe, expect, it } from 'vitest';
import { createDashboard } from '../src/dashboard/index.js';
import { PgschedValidationError } from '../src/errors.js';
import type { Pgsched } from '../src/index.js';
import { basic, bearer, caller, dashboardWithFailedJob } from './support/dashboard.js';
import { useTestDb } from './support/db.js';

const db = await useTestDb();
let pgsched: Pgsched;
let call: ReturnType<typeof caller>;
let failedId: string;

beforeAll(async () => {
  ({ pgsched, call, failedId } = await dashboardWithFailedJob(db));
});

describe('authentication', () => {
  it('answers 401 with a challenge without or with wrong credentials', async () => {
    for (const authorization of [null, bearer('wrong'), basic('s3cret', 'x'), 's3cret']) {
      const reply = await call('GET', '/dash/api/schedules', { authorization });
      expect(reply.status).toBe(401);
      expect(reply.body.error.code).toBe('unauthorized');
      expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="pgsched"');
    }
    expect((await call('GET', '/dash/metrics', { authorization: null })).status).toBe(401);
    expect((await call('GET', '/dash/api/openapi.json', { authorization: null })).status).toBe(401);
    // Actions are refused before anything runs.
    const put = await call('PUT', '/dash/api/schedules/x', {
      authorization: null,
      body: { job: 'j', every: '1h' },
    });
    expect(put.status).toBe(401);
    expect(await pgsched.getSchedule('x')).toBeNull();
  });

  it('keeps /health and the UI shell public', async () => {
    const health = await call('GET', '/dash/health', { authorization: null });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', database: 'ok' });
    expect((await call('GET', '/dash/', { authorization: null })).status).toBe(200);
  });

  it('accepts HTTP Basic credentials when configured so', async () => {
    const dashboard = createDashboard({ pgsched, auth: { username: 'ops', password: 'pw' } });
    const basicCall = caller(dashboard, basic('ops', 'pw'));
    expect((await basicCall('GET', '/api/schedules')).status).toBe(200);
    const wrong = await basicCall('GET', '/api/schedules', { authorization: basic('ops', 'nope') });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Basic realm="pgsched"');
  });

  it('lets the UI ask without a browser prompt', async () => {
    const dashboard = createDashboard({ pgsched, auth: { username: 'ops', password: 'pw' } });
    const reply = await dashboard.fetch(
      new Request('http://x/api/stats', { headers: { 'x-pgsched-ui': '1' } }),
    );
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toBeNull();
  });
});

describe('read-only and CSRF', () => {
  it('refuses every action with 403 when read-only, and still reads', async () => {
    const ro = caller(createDashboard({ pgsched, readOnly: true }), null);
    expect((await ro('GET', `/api/jobs/${failedId}`)).status).toBe(200);
    for (const [method, path] of [
      ['POST', '/api/jobs'],
      ['POST', `/api/jobs/${failedId}/retry`],
      ['DELETE', `/api/jobs/${failedId}`],
      ['POST', '/api/jobs/retry'],
      ['PUT', '/api/schedules/ro'],
      ['POST', '/api/queues/api/pause'],
    ] as const) {
      const reply = await ro(method, path, { body: { name: 'boom', job: 'boom', every: '1h' } });
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(reply.body.error.code).toBe('read_only');
    }
    expect((await pgsched.getJob(failedId))!.state).toBe('failed');
    expect(await pgsched.getSchedule('ro')).toBeNull();
  });

  it('refuses actions that a form or a simple cross-site request could send', async () => {
    for (const contentType of [
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data; boundary=x',
    ]) {
      const reply = await call('POST', `/dash/api/jobs/${failedId}/retry`, { raw: 'a=1', contentType });
      expect(reply.status).toBe(415);
      expect(reply.body.error.code).toBe('unsupported_media_type');
    }
    expect((await pgsched.getJob(failedId))!.state).toBe('failed');
  });

  it('refuses a body over 2 MiB with 413 before reading it all', async () => {
    const reply = await call('POST', '/dash/api/jobs', {
      body: { name: 'big', payload: 'x'.repeat(3 * 1024 * 1024) },
    });
    expect(reply.status).toBe(413);
    expect(reply.body.error.code).toBe('too_large');
    expect((await pgsched.listJobs({ name: 'big' })).jobs).toEqual([]);
  });
});

describe('documents and UI', () => {
  it('serves an OpenAPI 3.1 document of every route', async () => {
    const reply = await call('GET', '/dash/api/openapi.json');
    expect(reply.body.openapi).toBe('3.1.0');
    expect(reply.body.servers).toEqual([{ url: '/dash/api' }]);
    expect(reply.body.components.securitySchemes.dashboard).toEqual({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(reply.body.paths).sort()).toEqual(
      [
        '/jobs',
        '/jobs/cancel',
        '/jobs/retry',
        '/jobs/{id}',
        '/jobs/{id}/cancel',
        '/jobs/{id}/retry',
        '/queues',
        '/queues/{name}',
        '/queues/{name}/pause',
        '/queues/{name}/resume',
        '/schedules',
        '/schedules/{name}',
        '/schedules/{name}/pause',
        '/schedules/{name}/resume',
        '/stats',
        '/workers',
      ].sort(),
    );
  });

  it('serves Prometheus text at /metrics', async () => {
    const reply = await call('GET', '/dash/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(reply.text).toContain('# TYPE pgsched_jobs gauge');
    expect(reply.text).toMatch(/pgsched_jobs\{queue="api",state="failed"\} [1-9]/);
    expect(reply.text).toMatch(/pgsched_jobs_failed_total\{queue="api",name="boom"\} [1-9]/);
    expect(reply.text).toContain('# TYPE pgsched_job_duration_seconds histogram');
    expect(reply.text).toMatch(/^pgsched_leader(\{[^}]*\})? [01]$/m);
  });

  it('serves the UI with its settings, a strict CSP and the vendored libraries', async () => {
    const redirect = await call('GET', '/dash');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/dash/');
    const page = await call('GET', '/dash/');
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).toContain('{"basePath":"/dash","readOnly":false,"auth":"token"}');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    for (const asset of [
      'app.js',
      'style.css',
      'vendor/preact.mjs',
      'vendor/hooks.mjs',
      'vendor/htm.mjs',
      'vendor/uPlot.esm.js',
    ]) {
      const reply = await call('GET', `/dash/assets/${asset}`, { authorization: null });
      expect(reply.status, asset).toBe(200);
      expect(reply.text.length).toBeGreaterThan(100);
    }
    const gzipped = await call('GET', '/dash/assets/vendor/uPlot.esm.js', {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(gzipped.headers.get('content-encoding')).toBe('gzip');
    const etag = gzipped.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const again = await call('GET', '/dash/assets/vendor/uPlot.esm.js', {
      headers: { 'accept-encoding': 'gzip', 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    expect((await call('GET', '/dash/assets/..%2F..%2Fpackage.json')).status).toBe(404);
    expect((await call('GET', '/dash/api/nope')).status).toBe(404);
  });

  it('rejects bad options naming the field', () => {
    expect(() => createDashboard({ pgsched, basePath: 'no-slash' })).toThrow(PgschedValidationError);
    expect(() => createDashboard({ pgsched, auth: { token: '' } })).toThrow(/createDashboard\.options\.auth/);
    expect(() => createDashboard({ pgsched: {} as Pgsched })).toThrow(/createDashboard\.options\.pgsched/);
  });
});
