/**
 * pgsched quickstart: `npm run example`.
 * Uses DATABASE_URL when set, otherwise starts a throwaway embedded PostgreSQL (docs/embedded-postgres.md).
 */
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../src/embedded/index.js';
import { Pgsched } from '../src/index.js';

type Jobs = {
  'send-email': { payload: { to: string; subject: string }; result: { sent: boolean } };
};

const server = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
const url = process.env.DATABASE_URL ?? server!.url;
const sql = postgres(url, { onnotice: () => {} });
const pgsched = new Pgsched<Jobs>({ sql });
await pgsched.migrate();
await sql`create table if not exists quickstart_users (id serial primary key, email text not null)`;

pgsched.define(
  'send-email',
  async (payload, ctx) => {
    ctx.log.info({ to: payload.to }, `sending "${payload.subject}" (attempt ${ctx.job.attempt})`);
    return { sent: true };
  },
  { maxAttempts: 5, timeout: '30s', backoff: { type: 'exponential', base: '1s', max: '1h' } },
);

// The job commits (and its worker wakes up) only if the user row commits.
const welcomeId = await sql.begin(async (tx) => {
  const [user] = await tx`insert into quickstart_users (email) values ('ada@example.com') returning id`;
  return pgsched.enqueue(
    'send-email',
    { to: 'ada@example.com', subject: 'Welcome!' },
    { tx, key: `welcome:${user!.id}` },
  );
});
const digestIds = await pgsched.enqueueMany('send-email', [
  { to: 'grace@example.com', subject: 'Digest' },
  { to: 'alan@example.com', subject: 'Digest' },
]);

await pgsched.start({ concurrency: 5 });
const ids = [welcomeId, ...digestIds];
while ((await Promise.all(ids.map((id) => pgsched.getJob(id)))).some((job) => job?.state !== 'completed')) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const welcome = await pgsched.getJob(welcomeId);
console.log(
  `quickstart: ${ids.length} jobs completed; welcome job ${welcome!.id} result ${JSON.stringify(welcome!.result)}`,
);

await pgsched.stop();
await sql.end();
await server?.destroy();
