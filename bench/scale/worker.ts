/**
 * One worker process of bench/scale.ts: `worker.ts <database url>`, forked with tsx. It runs
 * pgsched's public API only: `define('noop', async () => {})` and `start()` when told to.
 */
import { pino } from 'pino';
import { Pgsched } from '../../src/index.js';
import { announceReady, runWorker } from '../worker-ipc.js';
import { pgjs } from './pg.js';
import type { FromWorker, ToWorker } from './protocol.js';

const url = process.argv[2]!;
const send = (message: FromWorker, then?: () => void) => process.send!(message, then);
const logger = pino({ level: 'warn' }, pino.destination(2));

let handled = 0;

async function main(): Promise<void> {
  const sql = pgjs(url, { max: 10 });
  await sql`select 1`;
  const q = new Pgsched({ sql, logger });
  q.define('noop', async () => {
    handled++;
  });
  process.on('message', async (message: ToWorker) => {
    try {
      if (message.type === 'go') {
        await q.start(message.options);
      } else if (message.type === 'stop') {
        await q.stop({ timeout: '10s' });
        await sql.end({ timeout: 5 });
        send({ type: 'stopped', handled, maxRssKb: process.resourceUsage().maxRSS }, () => process.exit(0));
      }
    } catch (error) {
      send({ type: 'error', message: String((error as Error)?.stack ?? error) });
    }
  });
  announceReady(() => handled, 50);
}

runWorker(main);
