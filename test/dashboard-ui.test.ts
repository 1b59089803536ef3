import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedDashboard, serveDashboard } from '../src/dashboard/index.js';
import type { Pgsched } from '../src/index.js';
import { useTestDb, waitFor } from './support/db.js';

/** Debian's chromium package; no browser download is possible here. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT = join(import.meta.dirname, '..', 'test-results', 'dashboard-ui');
/** `PGSCHED_UPDATE_SCREENSHOTS=1` also refreshes the README's images. */
const DOCS_IMAGES = process.env.PGSCHED_UPDATE_SCREENSHOTS
  ? join(import.meta.dirname, '..', 'docs', 'images')
  : null;
const XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

const db = await useTestDb();
let pgsched: Pgsched;
let served: ServedDashboard;
let browser: Browser;
let page: Page;
let flakyId: string;
const browserErrors: string[] = [];
/** expect.poll with room for a loaded CI machine (its default gives up after 1 s). */
const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 10_000, interval: 50 });

async function shot(name: string) {
  await page.screenshot({ path: join(OUTPUT, `${name}.png`) });
  if (DOCS_IMAGES) await page.screenshot({ path: join(DOCS_IMAGES, `dashboard-${name}.png`) });
}

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} (apt-get install chromium)`).toBe(true);
  mkdirSync(OUTPUT, { recursive: true });
  if (DOCS_IMAGES) mkdirSync(DOCS_IMAGES, { recursive: true });
  pgsched = db.pgsched();
  await pgsched.migrate();
  // Fails its first attempt only, so a retry from the UI ends `completed`.
  pgsched.define(
    'flaky',
    async (_payload, ctx) => {
      if (ctx.job.attempt === 1) throw new Error('first attempt fails');
      await ctx.progress({ done: 3, of: 3 });
      return { ok: true };
    },
    { queue: 'ui', maxAttempts: 1 },
  );
  pgsched.define('report', async (payload: { n: number }) => ({ rows: payload.n * 10 }), { queue: 'ui' });
  flakyId = await pgsched.enqueue('flaky', { note: XSS });
  await pgsched.enqueueMany(
    'report',
    Array.from({ length: 12 }, (_, n) => ({ n })),
  );
  await pgsched.enqueue('later', { n: 1 }, { queue: 'mail', delay: '1h' });
  await pgsched.setQueue('ui', { concurrency: 4, rateLimit: { limit: 100, period: '1m' } });
  await pgsched.schedule('hourly-report', { every: '1h', job: 'report', payload: { n: 0 } });
  await pgsched.start({ concurrency: 4, pollInterval: 100, queues: ['ui'] });
  await waitFor(async () => (await pgsched.getJob(flakyId))?.state === 'failed');

  served = await serveDashboard({ pgsched, port: 0, auth: { token: 'ui-token' } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 760 } });
  page.setDefaultTimeout(10_000);
  page.on('dialog', (dialog) => void dialog.accept());
  // Script errors and Content-Security-Policy violations both surface here.
  page.on('console', (message) => {
    if (message.type() === 'error') browserErrors.push(message.text());
  });
  page.on('pageerror', (error) => browserErrors.push(error.message));
}, 60_000);

afterAll(async () => {
  // 401s of the first, signed-out load are expected; nothing else is.
  expect(browserErrors.filter((e) => !e.includes('401'))).toEqual([]);
  await browser?.close();
  await served?.close();
});

describe('dashboard UI in Chromium', () => {
  it('signs in and shows the overview: queues, throughput chart, workers', async () => {
    await page.goto(served.url);
    await page.getByLabel('Token').fill('ui-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const queues = page.getByTestId('overview-queues');
    await poll(() => queues.textContent()).toContain('ui');
    await poll(() => queues.textContent()).toContain('mail');
    await page.getByTestId('throughput-chart').locator('canvas').waitFor();
    await poll(() => page.getByTestId('workers').textContent()).toContain(String(process.pid));
    await shot('overview');
  });

  it('filters jobs by state and pages through them', async () => {
    await page.goto(`${served.url}#/jobs`);
    const rows = page.getByTestId('jobs').locator('tbody tr[data-job-id]');
    await poll(() => rows.count()).toBe(14);
    await shot('jobs');
    await page.getByLabel('State').selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await poll(() => page.url()).toContain('state=failed');
    await poll(() => rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-job-id')).toBe(flakyId);

    // 12 report jobs, 5 a page: 5, 5, 2, and no job twice.
    await page.goto(`${served.url}#/jobs?name=report&limit=5`);
    const seen: string[] = [];
    for (const size of [5, 5, 2]) {
      await poll(() => rows.count()).toBe(size);
      await expect
        .poll(async () => seen.includes((await rows.first().getAttribute('data-job-id'))!))
        .toBe(false);
      for (const row of await rows.all()) seen.push((await row.getAttribute('data-job-id'))!);
      if (size === 5) await page.getByTestId('next-page').click();
    }
    expect(new Set(seen).size).toBe(12);
    expect(await page.getByTestId('next-page').count()).toBe(0);
  });

  it('cancels and retries jobs in bulk by the current filter', async () => {
    await page.goto(`${served.url}#/jobs?queue=mail`);
    await page.getByTestId('bulk-cancel').click();
    await poll(() => page.getByTestId('notice').textContent()).toBe('Cancelled 1 job');
    expect((await pgsched.listJobs({ queue: 'mail' })).jobs.map((j) => j.state)).toEqual(['cancelled']);
    await page.getByTestId('bulk-retry').click();
    await poll(() => page.getByTestId('notice').textContent()).toBe('Retried 1 job');
    expect((await pgsched.listJobs({ queue: 'mail' })).jobs.map((j) => j.state)).toEqual(['pending']);
  });

  it('shows a job with its payload as text, retries it and sees the state change', async () => {
    await page.goto(`${served.url}#/jobs?state=failed`);
    await page.getByRole('link', { name: flakyId, exact: true }).click();
    await poll(() => page.getByTestId('job-state').textContent()).toBe('failed');
    const payload = page.getByTestId('payload');
    expect(await payload.textContent()).toContain('<script>window.__pwned = 1</script>');
    expect(await payload.locator('script, img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('.job-error').first().textContent()).toContain('first attempt fails');
    await shot('job');

    await page.getByTestId('retry').click();
    await poll(() => page.getByTestId('job-state').textContent()).toBe('completed');
    const job = await pgsched.getJob(flakyId);
    expect(job).toMatchObject({ state: 'completed', attempt: 2, result: { ok: true } });
    const attempts = page.getByTestId('attempts').locator('tbody tr');
    await poll(() => attempts.count()).toBe(2);
    expect(await attempts.nth(0).textContent()).toContain('failed');
    expect(await attempts.nth(1).textContent()).toContain('completed');
    expect(await page.getByTestId('progress').textContent()).toContain('"of": 3');
    expect(await page.getByTestId('result').textContent()).toContain('"ok": true');
  });

  it('pauses a queue', async () => {
    await page.goto(`${served.url}#/queues`);
    const row = page.locator('tr[data-queue="mail"]');
    await row.getByTestId('pause').click();
    await poll(() => row.getByTestId('queue-status').textContent()).toBe('paused');
    expect(await page.locator('tr[data-queue="ui"]').textContent()).toContain('100 per 1m');
    expect(await pgsched.getQueue('mail')).toMatchObject({ name: 'mail', paused: true });
    await shot('queues');
  });

  it('shows schedules with their next five fires, and pauses one', async () => {
    await page.goto(`${served.url}#/schedules`);
    const row = page.locator('tr[data-schedule="hourly-report"]');
    await poll(() => row.locator('ul.fires li').count()).toBe(5);
    await shot('schedules');
    await row.getByTestId('pause').click();
    await poll(() => row.getByTestId('schedule-status').textContent()).toBe('paused');
    expect((await pgsched.getSchedule('hourly-report'))!.paused).toBe(true);
  });

  it('hides every action when read-only', async () => {
    const readOnly = await serveDashboard({ pgsched, port: 0, readOnly: true });
    try {
      const other = await browser.newPage();
      await other.goto(`${readOnly.url}#/jobs/${flakyId}`);
      await poll(() => other.getByTestId('job-state').textContent()).toBe('completed');
      expect(await other.locator('button').count()).toBe(0);
      await other.goto(`${readOnly.url}#/jobs`);
      await other.getByTestId('jobs').waitFor();
      expect(await other.getByTestId('bulk-retry').count()).toBe(0);
      await other.goto(`${readOnly.url}#/schedules`);
      await other.getByTestId('schedules').waitFor();
      expect(await other.getByTestId('resume').count()).toBe(0);
      expect(await other.locator('header .badge').textContent()).toBe('read-only');
      await other.close();
    } finally {
      await readOnly.close();
    }
  });
});
