import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Pgsched } from '../client.js';
import { PgschedError } from '../errors.js';
import { UsageError } from './context.js';

/** What `worker` and `dev --worker` pass to a module that default-exports a function. */
export interface WorkerModuleContext {
  /** The URL the CLI was given (`--database-url` or DATABASE_URL). */
  databaseUrl: string;
  schema: string;
}

const TS_RE = /\.(ts|mts|cts|tsx)$/;

/**
 * Imports the user's worker module and returns the configured Pgsched it default-exports
 * (directly, or as a function returning one, possibly async).
 *
 * A TypeScript module is loaded through tsx's in-process loader (`tsx/esm/api`) resolved from the
 * user's project, so pgsched does not ship a compiler: TypeScript projects have tsx or can add it
 * (`npm i -D tsx`). Without it, Node's own type stripping (Node 22.18+/23.6+) is tried.
 */
export async function loadWorkerModule(path: string, context: WorkerModuleContext): Promise<Pgsched> {
  const file = isAbsolute(path) ? path : resolve(process.cwd(), path);
  if (!existsSync(file)) throw new UsageError(`worker module not found: ${path}`);
  if (TS_RE.test(file)) await registerTsx(path);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new UsageError(
        `${path} is TypeScript and this Node cannot load it: install tsx in the project (npm i -D tsx) or compile it to JavaScript`,
      );
    }
    throw new PgschedError(`cannot load worker module ${path}: ${(error as Error).message.split('\n')[0]}`);
  }
  let value = module.default;
  if (typeof value === 'function' && !isPgsched(value))
    value = await (value as (c: WorkerModuleContext) => unknown)(context);
  if (!isPgsched(value)) {
    throw new UsageError(
      `${path} must default-export a configured Pgsched, or a function returning one (got ${describeExport(module.default)})`,
    );
  }
  return value;
}

/** Duck-typed: the user's module may import another copy of pgsched than the CLI's own. */
function isPgsched(value: unknown): value is Pgsched {
  const v = value as Partial<Pgsched> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.start === 'function' &&
    typeof v.stop === 'function' &&
    typeof v.define === 'function'
  );
}

function describeExport(value: unknown): string {
  if (value === undefined) return 'no default export';
  if (value === null) return 'null';
  return typeof value === 'object' ? `an object without start/stop/define` : typeof value;
}

async function registerTsx(path: string): Promise<void> {
  const api = resolveFrom(join(process.cwd(), 'package.json')) ?? resolveFrom(import.meta.url);
  if (api) {
    const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
    register();
    return;
  }
  // Node's own type stripping, where this Node has it
  if ((process.features as { typescript?: unknown }).typescript) return;
  throw new UsageError(
    `${path} is TypeScript: install tsx in the project (npm i -D tsx) or compile the module to JavaScript`,
  );
}

/**
 * tsx's ESM loader API as seen from `from` (the user's project first, then next to pgsched).
 * require.resolve would pick the CommonJS build, which cannot register the ESM hooks, so the
 * `import` entry of tsx's exports map is read instead.
 */
function resolveFrom(from: string): string | undefined {
  try {
    const manifest = createRequire(from).resolve('tsx/package.json');
    const exports = JSON.parse(readFileSync(manifest, 'utf8')).exports?.['./esm/api'];
    const entry: unknown = exports?.import?.default ?? exports?.import;
    return typeof entry === 'string' ? join(dirname(manifest), entry) : undefined;
  } catch {
    return undefined;
  }
}
