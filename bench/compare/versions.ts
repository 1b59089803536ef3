import { readFileSync } from 'node:fs';

/** Version of a package installed in bench/compare/node_modules, or of pgsched itself (`..`). */
export function installedVersion(name: string): string {
  const path =
    name === 'pgsched'
      ? new URL('../../package.json', import.meta.url)
      : new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}
