import { Hono } from 'hono';
import type { ParsedDashboardOptions } from '../options.js';

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });
const ok = (description: string, schema: Schema) => ({ description, content: json(schema) });
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [String(code), { $ref: `#/components/responses/E${code}` }]));
const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description,
});
const queryParam = (name: string, description: string, schema: Schema = { type: 'string' }) => ({
  name,
  in: 'query',
  schema,
  description,
});
const jsonBody = (schema: Schema, required = true) => ({ required, content: json(schema) });

const STATES = ['pending', 'running', 'completed', 'failed', 'cancelled'];
const action = (summary: string, response: Schema, body?: Schema) => ({
  summary,
  ...(body ? { requestBody: jsonBody(body, false) } : {}),
  responses: { '200': ok('Done', response), ...errors(400, 401, 403, 404, 409, 415) },
});

const jobFilter: Schema = {
  type: 'object',
  properties: Object.fromEntries(
    ['state', 'queue', 'name', 'group', 'key', 'since'].map((f) => [f, { type: 'string' }]),
  ),
};

/** The OpenAPI 3.1 description of the JSON API, served at `<basePath>/api/openapi.json`. */
export function openApiDocument(options: Pick<ParsedDashboardOptions, 'basePath' | 'auth' | 'readOnly'>) {
  const auth = options.auth;
  const scheme =
    auth === false
      ? undefined
      : 'token' in auth
        ? { type: 'http', scheme: 'bearer' }
        : { type: 'http', scheme: 'basic' };
  return {
    openapi: '3.1.0',
    info: {
      title: 'pgsched dashboard API',
      version: '1',
      description: `Jobs, queues and schedules of one pgsched schema.${options.readOnly ? ' This server is read-only: actions answer 403.' : ' Actions (POST, PUT, DELETE) require Content-Type: application/json.'}`,
    },
    servers: [{ url: `${options.basePath}/api` }],
    ...(scheme ? { security: [{ dashboard: [] }] } : {}),
    paths: {
      '/queues': {
        get: {
          summary: 'List queues',
          responses: { '200': ok('Queues', { type: 'object' }), ...errors(401) },
        },
      },
      '/queues/{name}': {
        parameters: [pathParam('name', 'Queue name')],
        get: {
          summary: 'Show a queue',
          responses: { '200': ok('Queue', ref('Queue')), ...errors(400, 401) },
        },
        put: {
          summary: 'Set the queue policy (omitted fields stay, null removes a limit)',
          requestBody: jsonBody({
            type: 'object',
            properties: {
              concurrency: { type: ['integer', 'null'], minimum: 1 },
              rateLimit: { type: ['object', 'null'] },
              groupConcurrency: { type: ['integer', 'null'], minimum: 1 },
              groupRateLimit: { type: ['object', 'null'] },
            },
          }),
          responses: { '200': ok('Queue', ref('Queue')), ...errors(400, 401, 403, 415) },
        },
      },
      '/queues/{name}/pause': {
        parameters: [pathParam('name', 'Queue name')],
        post: action('Pause a queue', ref('Queue')),
      },
      '/queues/{name}/resume': {
        parameters: [pathParam('name', 'Queue name')],
        post: action('Resume a queue', ref('Queue')),
      },
      '/jobs': {
        get: {
          summary: 'List jobs, newest first, by keyset pages',
          parameters: [
            queryParam('state', 'Job state', { type: 'string', enum: STATES }),
            queryParam('queue', 'Queue name'),
            queryParam('name', 'Job name'),
            queryParam('group', 'Group'),
            queryParam('key', 'Dedupe key'),
            queryParam('since', 'Created at or after (ISO 8601)'),
            queryParam('limit', 'Page size (1–1000)', { type: 'integer', minimum: 1, maximum: 1000 }),
            queryParam('after', 'The `next` cursor of the previous page'),
          ],
          responses: {
            '200': ok('A page', {
              type: 'object',
              properties: { jobs: { type: 'array', items: ref('Job') }, next: { type: ['string', 'null'] } },
            }),
            ...errors(400, 401),
          },
        },
        post: {
          summary: 'Enqueue a job (validated as pgsched.enqueue validates)',
          requestBody: jsonBody({
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' }, payload: {}, options: { type: 'object' } },
          }),
          responses: {
            '201': ok('The enqueued job (or the unfinished holder of its key)', ref('Job')),
            ...errors(400, 401, 403, 415),
          },
        },
      },
      '/jobs/retry': {
        post: action('Retry failed/cancelled jobs matching a filter', ref('Count'), jobFilter),
      },
      '/jobs/cancel': {
        post: action('Cancel pending/running jobs matching a filter', ref('Count'), jobFilter),
      },
      '/jobs/{id}': {
        parameters: [pathParam('id', 'Job id')],
        get: {
          summary: 'Show a job with its attempts',
          responses: { '200': ok('Job', ref('Job')), ...errors(400, 401, 404) },
        },
        delete: {
          summary: 'Delete a pending or finished job',
          responses: { '204': { description: 'Deleted' }, ...errors(400, 401, 403, 404, 409, 415) },
        },
      },
      '/jobs/{id}/retry': {
        parameters: [pathParam('id', 'Job id')],
        post: action('Retry a failed or cancelled job', ref('Job')),
      },
      '/jobs/{id}/cancel': {
        parameters: [pathParam('id', 'Job id')],
        post: action('Cancel a pending or running job', ref('Job')),
      },
      '/schedules': {
        get: {
          summary: 'List schedules with their next five fires',
          responses: { '200': ok('Schedules', { type: 'object' }), ...errors(401) },
        },
      },
      '/schedules/{name}': {
        parameters: [pathParam('name', 'Schedule name')],
        get: {
          summary: 'Show a schedule',
          responses: { '200': ok('Schedule', ref('Schedule')), ...errors(401, 404) },
        },
        put: {
          summary: 'Create or update a schedule; `expectedVersion` makes it conditional',
          requestBody: jsonBody({
            type: 'object',
            required: ['job'],
            properties: {
              job: { type: 'string' },
              cron: { type: 'string' },
              every: {},
              iso: { type: 'string' },
              at: { type: 'string' },
              tz: { type: 'string' },
              payload: {},
              expectedVersion: { type: 'integer' },
            },
          }),
          responses: {
            '200': ok('Updated', ref('Schedule')),
            '201': ok('Created', ref('Schedule')),
            ...errors(400, 401, 403, 409, 415),
          },
        },
        delete: {
          summary: 'Delete a schedule (its jobs stay)',
          responses: { '204': { description: 'Deleted' }, ...errors(401, 403, 404, 415) },
        },
      },
      '/schedules/{name}/pause': {
        parameters: [pathParam('name', 'Schedule name')],
        post: action('Pause a schedule', ref('Schedule')),
      },
      '/schedules/{name}/resume': {
        parameters: [pathParam('name', 'Schedule name')],
        post: action('Resume a schedule', ref('Schedule')),
      },
      '/stats': {
        get: {
          summary: 'Per-queue stats and completed/failed per minute over the last hour',
          responses: { '200': ok('Stats', { type: 'object' }), ...errors(401) },
        },
      },
      '/workers': {
        get: {
          summary: 'Live worker processes',
          responses: { '200': ok('Workers', { type: 'object' }), ...errors(401) },
        },
      },
    },
    components: {
      ...(scheme ? { securitySchemes: { dashboard: scheme } } : {}),
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                field: { type: 'string' },
              },
            },
          },
        },
        Count: { type: 'object', properties: { count: { type: 'integer' } } },
        Job: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            queue: { type: 'string' },
            state: { type: 'string', enum: STATES },
            attempt: { type: 'integer' },
            payload: {},
            result: {},
            errors: { type: 'array', items: { type: 'object' } },
            attempts: { type: 'array', items: { type: 'object' } },
          },
        },
        Queue: {
          type: 'object',
          properties: { name: { type: 'string' }, paused: { type: 'boolean' }, counts: { type: 'object' } },
        },
        Schedule: {
          type: 'object',
          properties: {
            name: { type: 'string' },
            kind: { type: 'string' },
            spec: { type: 'object' },
            tz: { type: 'string' },
            paused: { type: 'boolean' },
            version: { type: 'integer' },
            nextFireAt: { type: ['string', 'null'] },
            lastFireAt: { type: ['string', 'null'] },
            upcoming: { type: 'array', items: { type: 'string' } },
          },
        },
      },
      responses: Object.fromEntries(
        [
          [400, 'Validation error (names the field)'],
          [401, 'Missing or wrong credentials'],
          [403, 'Read-only dashboard'],
          [404, 'Not found'],
          [409, 'Version conflict or a state that does not allow the action'],
          [415, 'Action not sent as application/json'],
        ].map(([code, description]) => [`E${code}`, { description, content: json(ref('Error')) }]),
      ),
    },
  };
}

export function openApiRoutes(options: ParsedDashboardOptions): Hono {
  const document = openApiDocument(options);
  const app = new Hono();
  app.get('/', (c) => c.json(document));
  return app;
}
