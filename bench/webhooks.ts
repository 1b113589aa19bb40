/**
 * Webhook delivery throughput: N events (default 1 000) appended to the outbox, delivered by the
 * dispatcher to a local receiver that checks every signature; prints the time from the first
 * append to the last delivery, on PGlite and (with --postgres and DATABASE_URL) on Postgres.
 *
 *   npx tsx bench/webhooks.ts [--events 1000] [--postgres]
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openDatabase, memoryDataDir } from '../persistence/database.ts';
import { silentLogger } from '../shared/logger.ts';
import { createSecretBox } from '../persistence/secret-box.ts';
import { createWebhookRepository } from '../persistence/repositories/webhooks.ts';
import { createEventRepository } from '../persistence/repositories/events.ts';
import { createDeliveryRepository } from '../persistence/repositories/webhook-deliveries.ts';
import { createWebhookDispatcher, defaultDispatcherConfig } from '../server/followers/webhook-dispatcher.ts';

const args = process.argv.slice(2);
const count = Number(args[args.indexOf('--events') + 1] ?? 1000) || 1000;
const postgres = args.includes('--postgres');

async function run(kind: 'pglite' | 'postgres'): Promise<void> {
  const schema = `bench_webhooks_${process.pid}`;
  const db = await openDatabase(
    kind === 'postgres' ? { databaseUrl: process.env.DATABASE_URL!, schema } : { dataDir: memoryDataDir },
  );
  let received = 0;
  let bad = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const expected = 'sha256=' + createHmac('sha256', 'bench-secret').update(body).digest('hex');
      if (req.headers['x-annosync-signature-256'] !== expected) bad++;
      res.writeHead(204).end();
      if (++received === count) done();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    const knex = db.knex;
    await knex('projects').insert({ id: 'p1', name: 'P', description: '', labels: '[]', criteria: '{}' });
    const box = createSecretBox('b'.repeat(32), 'webhook-secrets');
    const hooks = createWebhookRepository({ knex, box });
    const events = createEventRepository({ knex });
    const deliveries = createDeliveryRepository({ knex, box });
    await hooks.create({ id: 'h1', projectId: 'p1', url, events: ['test_run.completed'], secret: 'bench-secret', createdBy: 'bench' });
    const dispatcher = createWebhookDispatcher({
      deliveries,
      hooks,
      logger: silentLogger,
      config: { ...defaultDispatcherConfig, allowPrivate: true },
    });
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      await events.append({ projectId: 'p1', type: 'test_run.completed', actor: 'bench', data: { i } });
    }
    const appended = performance.now() - t0;
    const t1 = performance.now();
    dispatcher.start();
    await all;
    const delivered = performance.now() - t1;
    await dispatcher.stop();
    console.log(
      `${kind}: ${count} events queued (one transaction each) in ${appended.toFixed(0)} ms;` +
        ` all ${count} delivered in ${delivered.toFixed(0)} ms (goal < 5000 ms); bad signatures: ${bad}`,
    );
  } finally {
    server.close();
    if (kind === 'postgres') await db.knex.raw('drop schema if exists ?? cascade', [schema]);
    await db.close();
  }
}

await run('pglite');
if (postgres) {
  if (!process.env.DATABASE_URL) console.log('postgres: skipped, DATABASE_URL is not set');
  else await run('postgres');
}
