/**
 * The worker process: `worker.ts <system> <database url>`, forked by measure.ts with tsx.
 * It runs one system's worker on the `noop` task, counts handler starts, records
 * `Date.now() - payload.t` for latency jobs, and reports its peak RSS when stopped.
 */

import { announceReady, runWorker } from '../worker-ipc.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import { SYSTEMS } from './systems/index.ts';
import type { Payload } from './systems/types.ts';

const [key, url] = process.argv.slice(2);
const send = (message: FromWorker) => process.send!(message);

let handled = 0;
let expect = Number.POSITIVE_INFINITY;
const latenciesMs: number[] = [];

function onJob(payload: Payload): void {
  const now = Date.now();
  handled++;
  if (payload && typeof payload.t === 'number') latenciesMs.push(now - payload.t);
  if (handled === expect) send({ type: 'reached', handled });
}

async function main(): Promise<void> {
  const system = await SYSTEMS[key!]!();
  const consumer = await system.consumer(url!);
  process.on('message', async (message: ToWorker) => {
    try {
      if (message.type === 'go') {
        expect = message.expect;
        await consumer.start(onJob);
      } else if (message.type === 'expect') {
        expect = message.expect;
        if (handled >= expect) send({ type: 'reached', handled });
      } else if (message.type === 'stop') {
        await consumer.stop();
        const maxRssKb = process.resourceUsage().maxRSS;
        process.send!({ type: 'stopped', handled, latenciesMs, maxRssKb } satisfies FromWorker, () =>
          process.exit(0),
        );
      }
    } catch (error) {
      send({ type: 'error', message: String((error as Error)?.stack ?? error) });
    }
  });
  announceReady(() => handled, 1000);
}

runWorker(main);
