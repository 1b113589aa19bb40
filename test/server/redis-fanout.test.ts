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
import { connectClient, rawSocket, synced, type TestClient } from '../../tools/clients.ts';
import { createTestStorage, startChildServer, startTestServer, testTokens, type TestServer } from '../../tools/server.ts';
import { redisPairSuite } from '../helpers/redis-pair.ts';
import { waitFor } from '../../tools/databases.ts';
import { jsonClient, linkedSession } from '../../tools/api.ts';
import { openSse } from '../helpers/sse.ts';
import { Redis } from 'ioredis';
import * as encoding from 'lib0/encoding';
import { MessageType, SyncMessageType } from '../../docs-model/protocol.ts';

/** A y-websocket update message carrying one new entry of `doc`. */
function rawUpdateMessage(doc: Y.Doc): Uint8Array {
  let update: Uint8Array | null = null;
  const grab = (u: Uint8Array) => (update = u);
  doc.on('update', grab);
  doc.getMap('scratch').set('edit', doc.clientID);
  doc.off('update', grab);
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, SyncMessageType.update);
  encoding.writeVarUint8Array(encoder, update!);
  return encoding.toUint8Array(encoder);
}

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

const pair = redisPairSuite('redis fan-out', 'redis fan-out tests');
if (pair) {
  const { test, redisUrl, start, join, newSession } = pair;
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
    // Each update is stored once, by the process its client is connected to; the other waits for
    // that process's "stored" notice instead of storing it too.
    await waitFor(() => ctx.a.server.fanout!.pendingStores() === 0 && ctx.b.server.fanout!.pendingStores() === 0, {
      message: 'a "stored" notice never came',
    });
    assert.is((await stored()) - before, 2);
  });

  /** The rows of `name` in the update log, by the process whose key they carry (`<process id>:<seq>`). */
  const rowsByWriter = async (server: TestServer, name: string): Promise<Map<string, number>> => {
    const rows: Array<{ update_key: string | null }> = await server.server.db.knex('yjs_updates').select('update_key').where({ doc_name: name });
    const counts = new Map<string, number>();
    for (const row of rows) {
      const writer = row.update_key === null ? 'unkeyed' : row.update_key.slice(0, row.update_key.lastIndexOf(':'));
      counts.set(writer, (counts.get(writer) ?? 0) + 1);
    }
    return counts;
  };

  test('three processes holding a session store each of its edits once, whichever process received it', async (ctx) => {
    const c = await start(ctx.storage);
    try {
      const servers = [ctx.a, ctx.b, c];
      const name = `session:${(await newSession(ctx.a)).id}`;
      const before = await rowsByWriter(ctx.a, name);
      const clients = [];
      for (const server of servers) clients.push(await join(ctx, server, name));
      const edits = 9;
      for (let i = 0; i < edits; i++) {
        addAnnotation(clients[i % 3]!.doc, { id: `edit-${i}`, frame: i, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
      }
      const all = Array.from({ length: edits }, (_, i) => `edit-${i}`).sort();
      for (const client of clients) await waitFor(() => ids(client.doc).join() === all.join(), { message: 'an edit never reached every process' });
      for (const server of servers) await server.server.log.flush();
      await waitFor(() => servers.every((server) => server.server.fanout!.pendingStores() === 0), { message: 'a "stored" notice never came' });
      for (const server of servers) await server.server.log.flush();
      const after = await rowsByWriter(ctx.a, name);
      // Exactly one row per edit, each written by the process its client was connected to.
      for (const server of servers) {
        const writer = server.server.fanout!.processId;
        assert.is((after.get(writer) ?? 0) - (before.get(writer) ?? 0), edits / 3, `rows written by one process for its clients' edits`);
      }
      const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n, 0);
      assert.is(total(after) - total(before), edits, 'rows for the edits, all processes together');
      const storedInPlace = await Promise.all(servers.map(async (server) => /^annosync_redis_stored_in_place_total (\d+)$/m.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]));
      assert.equal(storedInPlace, ['0', '0', '0'], 'no process stored an edit in the place of another');
    } finally {
      await c.stop();
    }
  });

  test('an edit whose process is killed before its commit is stored by another process, and loads after a restart of all', async (ctx) => {
    // The survivor waits 300 ms for a notice; the victim commits only after 1 s, so it dies first.
    const survivor = await start(ctx.storage, { redisStoreAfterMs: 300 });
    const victim = await startChildServer({ ...ctx.storage.env, REDIS_URL: redisUrl, COMMIT_INTERVAL_MS: '1000' });
    let survivorStopped = false;
    try {
      await waitFor(async () => ((await (await fetch(`${victim.url}/health`)).json()) as { redis?: { connected: boolean } }).redis?.connected === true, {
        message: 'the child server never connected to Redis',
      });
      const session = await newSession(survivor);
      const name = `session:${session.id}`;
      const token = await testTokens.sign({ sub: 'test-admin', name: 'Test Admin', admin: true });
      const onVictim = connectClient(victim.url, name, { params: { token } });
      ctx.clients.push(onVictim);
      await synced(onVictim.provider);
      const onSurvivor = await join(ctx, survivor, name);
      addAnnotation(onVictim.doc, { id: 'sent-then-killed', frame: 0, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
      await waitFor(() => ids(onSurvivor.doc).includes('sent-then-killed'), { message: 'the edit never reached the survivor' });
      victim.process.kill('SIGKILL');
      await victim.exited;
      const inDatabase = async () => {
        const stored = await survivor.server.store.loadMerged(name);
        const doc = new Y.Doc();
        if (stored.update) Y.applyUpdate(doc, stored.update);
        return ids(doc).includes('sent-then-killed');
      };
      assert.not.ok(await inDatabase(), 'the killed process had committed the edit already: nothing left to store in its place');
      await waitFor(inDatabase, { message: 'no surviving process stored the edit of the killed one' });
      assert.is(survivor.server.fanout!.pendingStores(), 0);
      await survivor.stop();
      survivorStopped = true;
      // Every process that held the session is gone: a fresh one loads it from the database alone.
      const fresh = await startTestServer(ctx.storage);
      try {
        const read = await jsonClient(fresh.url, fresh.adminToken).get<{ items: Array<{ id: string }> }>(`/api/sessions/${session.id}/annotations`);
        assert.is(read.status, 200, read.text);
        assert.equal(read.body.items.map((a) => a.id), ['sent-then-killed']);
      } finally {
        await fresh.stop();
      }
    } finally {
      if (victim.process.exitCode === null && victim.process.signalCode === null) victim.process.kill('SIGKILL');
      if (!survivorStopped) await survivor.stop();
    }
  });

  test("a durable ack on one process waits until what it holds from another process that has not committed yet is stored", async (ctx) => {
    // The slow process commits only on close, so its notice never comes: B stores its edit in its place after 1 s.
    const slow = await start(ctx.storage, { commitIntervalMs: 600_000 });
    const b = await start(ctx.storage, { redisStoreAfterMs: 1000 });
    const raw = new Y.Doc();
    try {
      const name = `session:${(await newSession(ctx.a)).id}`;
      const ws = await rawSocket(b.url, name, `?token=${b.adminToken}&acks=1`);
      const acks: number[] = [];
      ws.on('message', (data: Buffer) => {
        if (data[0] === MessageType.durableAck) acks.push(data[1]!);
      });
      try {
        await waitFor(() => b.server.registry.get(name));
        const onSlow = await join(ctx, slow, name);
        addAnnotation(onSlow.doc, { id: 'only-in-memory', frame: 0, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'ada' });
        await waitFor(() => b.server.fanout!.pendingStores() > 0, { message: 'B never received the edit' });
        // The client on B edits a document that holds the slow process's uncommitted edit: "saved"
        // must mean that edit is stored too (the client's may build on it).
        ws.send(rawUpdateMessage(raw));
        await waitFor(() => acks.includes(1), { message: 'no durable ack' });
        assert.ok(slow.server.log.pending(name) > 0, 'the slow process has still not committed');
        const stored = await b.server.store.loadMerged(name);
        const fromDatabase = new Y.Doc();
        Y.applyUpdate(fromDatabase, stored.update!);
        assert.ok(ids(fromDatabase).includes('only-in-memory'), 'acknowledged while an edit it builds on was only in memory');
      } finally {
        ws.close();
      }
    } finally {
      raw.destroy();
      await b.stop();
      await slow.stop();
    }
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
