import { createDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { type TestDb, waitFor } from './db.js';

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface CallOptions {
  body?: unknown;
  /** Raw body text (e.g. a form post); sent with `contentType`. */
  raw?: string;
  contentType?: string;
  /** The Authorization header; `null` sends none. */
  authorization?: string | null;
  headers?: Record<string, string>;
}

/** Calls a dashboard through its fetch handler, as a framework would hand it a request. */
export function caller(
  dashboard: Pick<Dashboard, 'fetch'>,
  defaultAuth: string | null,
  origin = 'http://dash.test',
) {
  return async (method: string, path: string, options: CallOptions = {}): Promise<Reply> => {
    const headers = new Headers(options.headers);
    const auth = options.authorization === undefined ? defaultAuth : options.authorization;
    if (auth) headers.set('authorization', auth);
    let body: string | undefined;
    if (options.raw !== undefined) {
      body = options.raw;
      headers.set('content-type', options.contentType ?? 'text/plain');
    } else if (method !== 'GET' && method !== 'HEAD') {
      body = options.body === undefined ? undefined : JSON.stringify(options.body);
      headers.set('content-type', options.contentType ?? 'application/json');
    }
    const response = await dashboard.fetch(new Request(`${origin}${path}`, { method, headers, body }));
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
}

export const bearer = (token: string) => `Bearer ${token}`;
export const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/**
 * The API tests' common set-up: a migrated, started instance with a `boom` job that has failed
 * (queue `api`) and a `slow` job that runs until aborted, behind `/dash` with a bearer token.
 */
export async function dashboardWithFailedJob(db: TestDb) {
  const pgsched = db.pgsched();
  await pgsched.migrate();
  pgsched.define('boom', async () => {
    throw new Error('kaboom');
  });
  pgsched.define('slow', async (_p, ctx) => {
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
  });
  const call = caller(
    createDashboard({ pgsched, basePath: '/dash', auth: { token: 's3cret' } }),
    bearer('s3cret'),
  );
  const failedId = await pgsched.enqueue('boom', { n: 1 }, { maxAttempts: 1, queue: 'api' });
  await pgsched.start({ concurrency: 2, pollInterval: 100, queues: ['api'] });
  await waitFor(async () => (await pgsched.getJob(failedId))?.state === 'failed');
  return { pgsched, call, failedId };
}
