import { z } from 'zod';
import type { Pgsched } from '../client.js';
import { parseOptions } from '../options.js';
import type { ManagedPgsched } from './contract.js';

/** Bearer token (`Authorization: Bearer <token>`) or HTTP Basic credentials. */
export type DashboardAuth = { token: string } | { username: string; password: string };

export interface DashboardOptions {
  /** The instance whose schema the dashboard shows and acts on. */
  pgsched: Pgsched<any>;
  /** Path prefix the dashboard is served under, e.g. `/admin/jobs`. Default `''` (the root). */
  basePath?: string;
  /**
   * Credentials required by the API and `/metrics` (the UI's static files and `/health` stay
   * public). `false` or absent: no authentication, e.g. behind the host framework's own.
   */
  auth?: DashboardAuth | false;
  /** Show state only: action routes answer 403 and the UI hides their buttons. Default false. */
  readOnly?: boolean;
}

export interface ParsedDashboardOptions {
  pgsched: ManagedPgsched;
  basePath: string;
  auth: DashboardAuth | false;
  readOnly: boolean;
}

const secret = z.string().min(1, 'expected a non-empty string').max(1_000);

const schema = z.strictObject({
  pgsched: z.custom<Pgsched>(
    (v) => typeof v === 'object' && v !== null && typeof (v as Pgsched).getJob === 'function',
    'expected a Pgsched instance',
  ),
  basePath: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)*\/?$/, 'expected "" or a path such as /admin/jobs')
    .optional(),
  auth: z
    .union([
      z.literal(false),
      z.strictObject({ token: secret }),
      z.strictObject({ username: secret, password: secret }),
    ])
    .optional(),
  readOnly: z.boolean().optional(),
});

export function parseDashboardOptions(input: DashboardOptions): ParsedDashboardOptions {
  const opts = parseOptions(schema, input, 'createDashboard.options');
  return {
    pgsched: opts.pgsched as unknown as ParsedDashboardOptions['pgsched'],
    // '/admin/' and '/admin' mount at the same place; '/' is the root.
    basePath: (opts.basePath ?? '').replace(/\/$/, ''),
    auth: opts.auth ?? false,
    readOnly: opts.readOnly ?? false,
  };
}
