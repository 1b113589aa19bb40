/**
 * Several processes on one Postgres and one Redis (docs/architecture.md, "More than one process"):
 * two real servers on one schema, real y-websocket clients on each, real Redis between them.
 * Skipped, and said so, when REDIS_URL or DATABASE_URL is not set (CI sets both).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, listAnnotations } from '../../docs-model/index.ts';
import { configFromEnv, ConfigError } from '../../server/config.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { waitFor } from '../../tools/databases.ts';
import { jsonClient, linkedSession } from '../../tools/api.ts';
import { openSse } from '../helpers/sse.ts';
import { Redis } from 'ioredis';

const config = suite('redis fan-out: configuration');

config('REDIS_URL without DATABASE_URL stops the process with a message naming both', () => {
  try {
    configFromEnv({ REDIS_URL: 'redis://127.0.0.1:6379' });
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, /REDIS_URL needs DATABASE_URL/);
  }
});

config.run();

if (process.env.DATABASE_URL) {
  const unreachable = suite('redis fan-out: Redis down');
  unreachable('a process whose Redis is unreachable still serves its own clients, and says so on /health', async () => {
    const storage = await createTestStorage('postgres');
    // Port 1: nothing listens there, so every connection attempt is refused.
    const server = await startTestServer(storage, { redisUrl: 'redis://127.0.0.1:1' });
    const clients: TestClient[] = [];
    try {
      const { session } = await linkedSession(jsonClient(server.url, server.adminToken));
      const name = `session:${session.id}`;
      for (let i = 0; i < 2; i++) {
        const client = connectClient(server.url, name, { params: { token: server.adminToken } });
        clients.push(client);
        await synced(client.provider);
      }
      addAnnotation(clients[0]!.doc, { id: 'alone', frame: 0, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
      await waitFor(() => listAnnotations(clients[1]!.doc).some((a) => a.id === 'alone'));
      const health = await jsonClient(server.url).get<{ ok: boolean; redis?: { connected: boolean } }>('/health');
      assert.equal(health.body.redis, { connected: false });
    } finally {
      for (const client of clients) client.destroy();
      await server.stop();
      await storage.cleanup();
    }
  });
  unreachable.run();
}

const redisUrl = process.env.REDIS_URL;
if (!redisUrl || !process.env.DATABASE_URL) {
  process.stderr.write('redis fan-out tests skipped: they need REDIS_URL and DATABASE_URL\n');
} else {
  const test = suite<{ storage: TestStorage; a: TestServer; b: TestServer; clients: TestClient[] }>('redis fan-out');

  const start = async (storage: TestStorage, overrides: Parameters<typeof startTestServer>[1] = {}) => {
    const server = await startTestServer(storage, { redisUrl, ...overrides });
    await server.server.fanout!.ready;
    return server;
  };

  test.before(async (ctx) => {
    ctx.storage = await createTestStorage('postgres');
    ctx.a = await start(ctx.storage);
    ctx.b = await start(ctx.storage);
    ctx.clients = [];
  });

  test.after.each((ctx) => {
    for (const client of ctx.clients) client.destroy();
    ctx.clients = [];
  });

  test.after(async (ctx) => {
    await ctx.a.stop();
    await ctx.b.stop();
    await ctx.storage.cleanup();
  });

  const join = async (ctx: { clients: TestClient[] }, server: TestServer, name: string) => {
    const client = connectClient(server.url, name, { params: { token: server.adminToken } });
    ctx.clients.push(client);
    await synced(client.provider);
    return client;
  };

  const newSession = async (server: TestServer) => (await linkedSession(jsonClient(server.url, server.adminToken))).session;
  const ids = (doc: Y.Doc) => listAnnotations(doc).map((a) => a.id).sort();

  test('an edit on one process reaches a client of the other, both ways', async (ctx) => {
    const name = `session:${(await newSession(ctx.a)).id}`;
    const stored = async () => {
      await ctx.a.server.log.flush();
      await ctx.b.server.log.flush();
      const rows = await ctx.a.server.db.knex('yjs_updates').where({ doc_name: name }).count<Array<{ count: string }>>({ count: '*' });
      return Number(rows[0]!.count);
    };
    const before = await stored();
    const onA = await join(ctx, ctx.a, name);
    const onB = await join(ctx, ctx.b, name);
    addAnnotation(onA.doc, { id: 'from-a', frame: 0, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
    await waitFor(() => ids(onB.doc).includes('from-a'), { message: 'the edit on A never reached B' });
    addAnnotation(onB.doc, { id: 'from-b', frame: 1, bbox: [2, 2, 5, 5], label: 'car' }, { by: 'bob' });
    await waitFor(() => ids(onA.doc).includes('from-b'), { message: 'the edit on B never reached A' });
    assert.equal(ids(onA.doc), ids(onB.doc));
    // Each update is stored by both processes that hold the document: either may die before its commit.
    assert.is((await stored()) - before, 4);
  });

  test('a client joining another process gets edits the first holds but has not committed yet', async (ctx) => {
    // This process commits only on close: its edit is in its memory alone when B loads the session.
    const slow = await start(ctx.storage, { commitIntervalMs: 600_000 });
    try {
      const name = `session:${(await newSession(ctx.a)).id}`;
      const onSlow = await join(ctx, slow, name);
      addAnnotation(onSlow.doc, { id: 'uncommitted', frame: 0, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
      await waitFor(() => slow.server.log.pending(name) > 0);
      const onB = await join(ctx, ctx.b, name);
      // Already in the first sync: B's load waited for the other process's answer.
      assert.ok(ids(onB.doc).includes('uncommitted'), 'B synced its client without what the other process held');
      // B stored it too: were the slow process to die now, the database would still have the edit.
      await ctx.b.server.log.flush();
      assert.ok(slow.server.log.pending(name) > 0, 'the slow process has still not committed');
      const stored = await ctx.a.server.store.loadMerged(name);
      const fromDatabase = new Y.Doc();
      Y.applyUpdate(fromDatabase, stored.update!);
      assert.ok(ids(fromDatabase).includes('uncommitted'));
    } finally {
      await slow.stop();
    }
  });

  test("a REST read on a process that loads the session sees another process's uncommitted edits", async (ctx) => {
    const slow = await start(ctx.storage, { commitIntervalMs: 600_000 });
    try {
      const session = await newSession(ctx.a);
      const onSlow = await join(ctx, slow, `session:${session.id}`);
      addAnnotation(onSlow.doc, { id: 'held-elsewhere', frame: 2, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
      await waitFor(() => slow.server.log.pending(`session:${session.id}`) > 0);
      assert.not.ok(ctx.b.server.registry.get(`session:${session.id}`), 'B has not loaded the session yet');
      const read = await jsonClient(ctx.b.url, ctx.b.adminToken).get<{ items: Array<{ id: string }> }>(`/api/sessions/${session.id}/annotations`);
      assert.is(read.status, 200, read.text);
      assert.equal(read.body.items.map((a) => a.id), ['held-elsewhere']);
    } finally {
      await slow.stop();
    }
  });

  test('a load does not wait for ever on a subscriber that never answers', async (ctx) => {
    const session = await newSession(ctx.a);
    const name = `session:${session.id}`;
    // Something on the channel that is not an annosync process: PUBLISH counts it, it never answers.
    const silent = new Redis(redisUrl);
    try {
      await silent.subscribe(`annosync:${ctx.storage.config.databaseSchema}:doc:${name}`);
      // Without the answer timeout (500 ms) the load would wait for ever and `synced` fail after 15 s.
      const onB = await join(ctx, ctx.b, name);
      assert.ok(onB.provider.synced);
    } finally {
      silent.disconnect();
    }
  });

  test('a REST write on one process reaches sockets on the other', async (ctx) => {
    const session = await newSession(ctx.a);
    const onB = await join(ctx, ctx.b, `session:${session.id}`);
    const res = await jsonClient(ctx.a.url, ctx.a.adminToken).post(`/api/sessions/${session.id}/annotations`, {
      id: 'rest-on-a',
      frame: 3,
      bbox: [1, 1, 5, 5],
      label: 'car',
    });
    assert.is(res.status, 201, res.text);
    await waitFor(() => ids(onB.doc).includes('rest-on-a'), { message: 'the REST write on A never reached B' });
  });

  test('presence crosses processes, reaches later joiners, and leaves with its client', async (ctx) => {
    const name = `session:${(await newSession(ctx.a)).id}`;
    const onA = await join(ctx, ctx.a, name);
    const onB = await join(ctx, ctx.b, name);
    onA.provider.awareness.setLocalStateField('user', { name: 'ada' });
    const adaId = onA.doc.clientID;
    const seesAda = (client: TestClient) => (client.provider.awareness.getStates().get(adaId) as { user?: { name?: string } } | undefined)?.user?.name === 'ada';
    await waitFor(() => seesAda(onB), { message: "ada's presence never reached B" });
    const later = await join(ctx, ctx.b, name);
    await waitFor(() => seesAda(later), { message: 'a later joiner on B does not see ada' });
    onA.destroy();
    await waitFor(() => !onB.provider.awareness.getStates().has(adaId), { message: "ada's presence stayed on B after she left" });
  });

  test('a process that lost Redis catches up on what was published meanwhile', async (ctx) => {
    const name = `session:${(await newSession(ctx.a)).id}`;
    const onA = await join(ctx, ctx.a, name);
    const onB = await join(ctx, ctx.b, name);
    const fanout = ctx.b.server.fanout!;
    // B stops hearing anything; A's next edit is published to nobody on B's side.
    fanout.subscriber.disconnect();
    await waitFor(() => !fanout.connected());
    addAnnotation(onA.doc, { id: 'while-b-was-away', frame: 0, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
    await ctx.a.server.log.flush();
    const caughtUp = fanout.nextCatchUp();
    await fanout.subscriber.connect();
    await caughtUp;
    await waitFor(() => ids(onB.doc).includes('while-b-was-away'), { message: 'B never caught up' });
    // And it hears live edits again.
    addAnnotation(onA.doc, { id: 'after-reconnect', frame: 1, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
    await waitFor(() => ids(onB.doc).includes('after-reconnect'), { message: 'B stopped hearing A after the reconnect' });
  });

  test("a test run's progress posted to one process streams from the other's event feed", async (ctx) => {
    const onA = jsonClient(ctx.a.url, ctx.a.adminToken);
    const { project, video, session } = await linkedSession(onA);
    const created = await onA.post<{ id: string }>(`/api/projects/${project.id}/test-runs`, {
      videoId: video.id,
      sessionId: session.id,
      model: { name: 'yolo', version: '8n' },
    });
    assert.is(created.status, 201, created.text);
    const runId = created.body.id;
    const stream = await openSse(`${ctx.b.url}/api/test-runs/${runId}/events`, ctx.b.adminToken);
    try {
      assert.is(stream.status, 200);
      await stream.next(); // the state when the stream opened
      const posted = await onA.post(`/api/test-runs/${runId}/progress`, { processedFrames: 40, totalFrames: 100 });
      assert.is(posted.status, 200, posted.text);
      type Data = { type: string; run: { processedFrames: number } };
      // Typed as on the process that made the change: the first progress starts the run.
      assert.equal(await stream.next().then((e) => [(e.data as Data).type, (e.data as Data).run.processedFrames]), ['status', 40]);
      assert.is((await onA.post(`/api/test-runs/${runId}/progress`, { processedFrames: 60, totalFrames: 100 })).status, 200);
      assert.equal(await stream.next().then((e) => [(e.data as Data).type, (e.data as Data).run.processedFrames]), ['progress', 60]);
    } finally {
      stream.close();
    }
  });

  test('/health and /metrics say whether Redis is connected, and count what crossed it', async (ctx) => {
    const res = await jsonClient(ctx.a.url).get<{ redis?: { connected: boolean } }>('/health');
    assert.equal(res.body.redis, { connected: true });
    const metrics = await (await fetch(`${ctx.b.url}/metrics`)).text();
    assert.match(metrics, /^annosync_redis_connected 1$/m);
    const received = /^annosync_redis_messages_total\{direction="received"\} (\d+)$/m.exec(metrics);
    assert.ok(received && Number(received[1]) > 0, 'B counted the messages it received');
    assert.match(metrics, /^annosync_redis_catchups_total [1-9]/m);
  });

  test.run();
}
