import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { newSessionDoc } from '../../tools/api.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { waitFor } from '../../tools/databases.ts';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';

const test = suite<{ storage: TestStorage; app: TestServer; clients: TestClient[] }>('health and metrics');

test.before(async (ctx) => {
  ctx.storage = await createTestStorage('pglite');
  ctx.app = await startTestServer(ctx.storage);
  ctx.clients = [];
});

test.after(async (ctx) => {
  for (const client of ctx.clients) client.destroy();
  await ctx.app.stop();
  await ctx.storage.cleanup();
});

test('GET /health answers with the database state and the counts, without auth', async (ctx) => {
  const response = await fetch(`${ctx.app.url}/health`);
  assert.is(response.status, 200);
  const body = (await response.json()) as { ok: boolean; database: { kind: string; reachable: boolean }; documents: number };
  assert.is(body.ok, true);
  assert.equal(body.database, { kind: 'pglite', reachable: true });
  assert.type(body.documents, 'number');
});

test('GET /metrics counts connections, updates in and out, and commits', async (ctx) => {
  const name = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
  const a = connectClient(ctx.app.url, name, { params: { token: ctx.app.adminToken } });
  const b = connectClient(ctx.app.url, name, { params: { token: ctx.app.adminToken } });
  ctx.clients.push(a, b);
  await Promise.all([synced(a.provider), synced(b.provider)]);
  a.doc.getMap('probe').set('k', 1);
  await waitFor(() => b.doc.getMap('probe').get('k') === 1, { message: 'the update went through the server' });
  await ctx.app.server.log.flush();
  const text = await (await fetch(`${ctx.app.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.is(value('annosync_connections'), 2);
  assert.ok(value('annosync_documents_loaded') >= 1);
  assert.ok(value('annosync_updates_in_total') >= 1);
  assert.ok(value('annosync_updates_out_total') >= 1);
  assert.ok(value('annosync_commit_batch_rows_count') >= 1);
});

test('an unknown route answers 404 in the error shape', async (ctx) => {
  const response = await fetch(`${ctx.app.url}/nope`);
  assert.is(response.status, 404);
  const body = (await response.json()) as { error: { code: string } };
  assert.is(body.error.code, 'not_found');
});

test.run();
