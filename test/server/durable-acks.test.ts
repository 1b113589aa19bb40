/**
 * Durable acknowledgements (`?acks=1`, docs-model/durable-acks.ts): "saved" must mean stored.
 *
 * A tracker attached to an open connection had not seen the initial sync's step 2, so the ack for
 * that step 2 was credited to the next edit: "saved" while the edit was still only in memory (a
 * CI run lost it to a SIGKILL, test/server/restart.test.ts). The tracker now tells the server to
 * count from here, and waits for the server's count-0 answer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import pg from 'pg';
import * as encoding from 'lib0/encoding';
import { addAnnotation, listAnnotations, setLabel } from '../../docs-model/index.ts';
import { trackDurableAcks } from '../../docs-model/durable-acks.ts';
import { connectClient, rawSocket, synced, type TestClient } from '../helpers/clients.ts';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../helpers/server.ts';
import { waitFor } from '../helpers/databases.ts';
import { newSessionDoc } from '../helpers/api.ts';
import { MessageType, SyncMessageType } from '../../server/wire.ts';

const ACK = MessageType.durableAck;

/** A raw update message carrying one new map entry. */
function updateMessage(doc: Y.Doc, key: string): Uint8Array {
  let update: Uint8Array | null = null;
  const grab = (u: Uint8Array) => (update = u);
  doc.on('update', grab);
  doc.getMap('scratch').set(key, key);
  doc.off('update', grab);
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, SyncMessageType.update);
  encoding.writeVarUint8Array(encoder, update!);
  return encoding.toUint8Array(encoder);
}

/** Settles `work` on a server that commits only when told: REST writes answer after their commit. */
async function committing<T>(app: TestServer, work: Promise<T>): Promise<T> {
  let settled = false;
  const done = work.finally(() => (settled = true));
  await waitFor(async () => {
    await app.server.log.flush();
    return settled;
  }, { timeoutMs: 15_000 });
  return done;
}

{
  const test = suite<{ storage: TestStorage; app: TestServer }>('durable acks: the count-from-here reset');
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage('pglite');
    ctx.app = await startTestServer(ctx.storage);
  });
  test.after(async (ctx) => {
    await ctx.app.stop();
    await ctx.storage.cleanup();
  });

  test('after "count from here" the server answers 0, then counts update messages from 1 again', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const ws = await rawSocket(ctx.app.url, docName, `?token=${ctx.app.adminToken}&acks=1`);
    const acks: number[] = [];
    ws.on('message', (data: Buffer) => {
      if (data[0] === ACK) acks.push(data[1]!);
    });
    const doc = new Y.Doc();
    try {
      ws.send(updateMessage(doc, 'a'));
      ws.send(updateMessage(doc, 'b'));
      await waitFor(() => acks.includes(2));
      ws.send(new Uint8Array([ACK, 0]));
      ws.send(updateMessage(doc, 'c'));
      await waitFor(() => acks.length >= 2 && acks[acks.length - 1] === 1);
      const afterReset = acks.slice(acks.indexOf(0));
      assert.equal(afterReset, [0, 1], `acks: ${acks.join(',')}`);
    } finally {
      ws.close();
      doc.destroy();
    }
  });

  test('a reset with a count other than 0 closes the socket with 1007', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const ws = await rawSocket(ctx.app.url, docName, `?token=${ctx.app.adminToken}&acks=1`);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(new Uint8Array([ACK, 5]));
    assert.is(await closed, 1007);
  });

  test.run();
}

if (!process.env.DATABASE_URL) {
  process.stderr.write('durable acks under a held commit skipped: it needs DATABASE_URL (a table lock from a second connection)\n');
} else {
  const test = suite<{ storage: TestStorage; app: TestServer; clients: TestClient[] }>('durable acks (postgres)');
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage('postgres');
    // Commits only when the test flushes, or at once for an update of 256 KiB and more.
    ctx.app = await startTestServer(ctx.storage, { commitIntervalMs: 600_000 });
    ctx.clients = [];
  });
  test.after(async (ctx) => {
    for (const client of ctx.clients) client.destroy();
    await ctx.app.stop();
    await ctx.storage.cleanup();
  });

  test('a tracker attached after the first sync says "saved" only once the last edit is in the database', async (ctx) => {
    const { docName: name } = await committing(ctx.app, newSessionDoc(ctx.app.url, ctx.app.adminToken));
    const lock = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await lock.connect();
    try {
      // Hold every commit until released: the initial sync's step 2 is appended, but its ack waits.
      await lock.query('begin');
      await lock.query(`lock table "${ctx.storage.config.databaseSchema}".yjs_updates in exclusive mode`);
      // Content made offline, large enough (> 256 KiB) that its commit starts at once (and blocks).
      const doc = new Y.Doc();
      setLabel(doc, 'car', {});
      for (let i = 0; i < 1500; i++) addAnnotation(doc, { frame: i, bbox: [1, 1, 4, 4], label: 'car', attributes: { note: 'x'.repeat(200) } }, 'alice');
      const writer = connectClient(ctx.app.url, name, { doc, params: { token: ctx.app.adminToken, acks: '1' } });
      ctx.clients.push(writer);
      await synced(writer.provider);
      await waitFor(() => ctx.app.server.log.pending(name) > 0, { message: 'the step 2 reached the update log' });

      const acks = trackDurableAcks(writer.provider as unknown as Parameters<typeof trackDurableAcks>[0]);
      const pendingAtSaved: number[] = [];
      acks.on('saved', () => pendingAtSaved.push(ctx.app.server.log.pending(name)));
      addAnnotation(writer.doc, { id: 'last', frame: 0, bbox: [2, 2, 4, 4], label: 'car' }, 'alice');
      assert.is(acks.unsavedCount, 1);
      const before = ctx.app.server.log.pending(name);
      await waitFor(() => ctx.app.server.log.pending(name) === before + 1, { message: 'the edit reached the update log' });

      // Release: the step 2 commits (and is acked, or not), the edit stays queued.
      await lock.query('commit');
      await waitFor(() => ctx.app.server.log.pending(name) === 1, { message: 'only the edit is left uncommitted' });
      // A barrier on the writer's socket: whatever the server sent it before this edit has arrived.
      const other = connectClient(ctx.app.url, name, { params: { token: ctx.app.adminToken } });
      ctx.clients.push(other);
      await synced(other.provider);
      addAnnotation(other.doc, { id: 'barrier', frame: 1, bbox: [3, 3, 4, 4], label: 'car' }, 'bob');
      await waitFor(() => listAnnotations(writer.doc).some((a) => a.id === 'barrier'));
      assert.is(acks.unsavedCount, 1, 'the edit is not stored yet, so it is not saved');

      await ctx.app.server.log.flush();
      await waitFor(() => acks.unsavedCount === 0, { message: 'saved once committed' });
      assert.ok(pendingAtSaved.length > 0 && pendingAtSaved.every((n) => n === 0), `pending rows when "saved" fired: ${pendingAtSaved.join(',')}`);
      acks.destroy();
    } finally {
      await lock.query('rollback').catch(() => undefined);
      await lock.end();
    }
  });

  test.run();
}
