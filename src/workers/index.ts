export { createPresence, MISSED_BEATS, Presence } from './presence.js';
export { createWorkerQueries, type WorkerEntry, type WorkerInfo, type WorkerQueries } from './queries.js';
