/**
 * Joining a cold document: the sync endpoint answers a joiner from the stored state before the
 * document has finished loading (DocRegistry.acquireForSync), and holds everything else the
 * joiner sends until it has. Real stock clients over real sockets, on PGlite and Postgres.
 *
 * A `prepare` listener holding the load open (the Redis fan-out's hook, docs/architecture.md,
 * "Who hears a change") stands for a slow load, so each test knows its clients act during it.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, listAnnotations, setLabel, updateAnnotation } from '../../docs-model/index.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import { startTestServer, type TestServer } from '../../tools/server.ts';
import { withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { jsonClient } from '../../tools/http.ts';
import { newSessionDoc } from '../../tools/api.ts';
import * as decoding from 'lib0/decoding';
import { MessageType, SyncMessageType, parseDocName } from '../../docs-model/protocol.ts';
import { defaultLimits } from '../../server/config.ts';
import { LiveDocument } from '../../server/documents/live-document.ts';
import { encodeSyncMessage } from '../../server/documents/sync-messages.ts';

const annotationsOf = (doc: Y.Doc) => doc.getMap('annotations').toJSON();

/** Resolves `open()` releases the load of `name` held in its `prepare` step. */
function holdLoad(app: TestServer, name: string): { held: Promise<void>; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let reached!: () => void;
  const held = new Promise<void>((resolve) => (reached = resolve));
  const listener = (doc: { name: string }, waitFor: (work: Promise<void>) => void) => {
    if (doc.name !== name) return;
    app.server.registry.off('prepare', listener);
    reached();
    waitFor(gate);
  };
  app.server.registry.on('prepare', listener);
  return { held, open };
}

for (const kind of databaseKinds()) {
  const test = suite<SocketSuiteContext>(`cold join (${kind})`);

  withServerAndClients(test, kind, (storage) => startTestServer(storage, { limits: { idleUnloadMs: 0 } }));

  const connect = (ctx: { app: TestServer; clients: TestClient[] }, name: string, doc?: Y.Doc) => {
    const client = connectClient(ctx.app.url, name, { params: { token: ctx.app.adminToken }, ...(doc ? { doc } : {}) });
    ctx.clients.push(client);
    return client;
  };

  /** A session of `count` annotations, written by a client, then unloaded and compacted. */
  const coldSession = async (ctx: { app: TestServer; clients: TestClient[] }, count: number) => {
    const { docName: name, sessionId } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const writer = connect(ctx, name);
    await synced(writer.provider);
    for (let i = 0; i < count; i++) addAnnotation(writer.doc, { id: `a${i}`, frame: i % 50, bbox: [i, i, 10, 10], label: 'car' }, { by: 'writer' });
    const { registry, store } = ctx.app.server;
    await waitFor(() => (registry.get(name)?.ydoc.getMap('annotations').size ?? 0) === count, { message: 'the writer reaches the server' });
    const written = annotationsOf(writer.doc);
    writer.destroy();
    await waitFor(() => registry.get(name) === undefined, { message: 'the session unloads' });
    await registry.settled();
    await store.compact(name);
    assert.is(await store.logLength(name), 0, 'compacted: the snapshot alone holds the session');
    return { name, sessionId, written };
  };

  test('a stock client joining a cold compacted session is synced before the load ends, with exactly the stored annotations', async (ctx) => {
    const { name, written } = await coldSession(ctx, 120);
    const hold = holdLoad(ctx.app, name);
    const joiner = connect(ctx, name);
    await hold.held;
    await synced(joiner.provider);
    assert.is(ctx.app.server.registry.get(name), undefined, 'still loading when the joiner synced');
    assert.equal(annotationsOf(joiner.doc), written);
    hold.open();
    await waitFor(() => ctx.app.server.registry.get(name) !== undefined);
    const onServer = await ctx.app.server.registry.read(parseDocName(name)!, (ydoc) => listAnnotations(ydoc).length);
    assert.is(onServer, 120);
  });

  test('edits made during the cold load, by another client and over REST, reach the joiner and are stored', async (ctx) => {
    const { name, sessionId } = await coldSession(ctx, 60);
    const hold = holdLoad(ctx.app, name);
    const joiner = connect(ctx, name);
    const editor = connect(ctx, name);
    await hold.held;
    await Promise.all([synced(joiner.provider), synced(editor.provider)]);
    updateAnnotation(editor.doc, 'a7', { label: 'bike' }, { by: 'editor' });
    addAnnotation(editor.doc, { id: 'during-load', frame: 3, bbox: [1, 2, 3, 4], label: 'car' }, { by: 'editor' });
    const rest = jsonClient(ctx.app.url, ctx.app.adminToken).post(`/api/sessions/${sessionId}/annotations`, {
      id: 'over-rest',
      frame: 4,
      bbox: [5, 6, 7, 8],
      label: 'car',
    });
    assert.is(ctx.app.server.registry.get(name), undefined, 'the edits were made while the session loaded');
    hold.open();
    assert.is((await rest).status, 201);
    const annotations = joiner.doc.getMap('annotations');
    await waitFor(() => annotations.has('during-load') && annotations.has('over-rest') && (annotations.get('a7') as Y.Map<unknown>).get('label') === 'bike', {
      message: 'the joiner receives the edits made during the load',
    });
    assert.is(annotations.size, 62);
    await waitFor(() => annotations.size === editor.doc.getMap('annotations').size);
    assert.equal(annotationsOf(editor.doc), annotationsOf(joiner.doc));
    const onServer = await ctx.app.server.registry.read(parseDocName(name)!, (ydoc) => ydoc.getMap('annotations').toJSON());
    assert.equal(onServer, annotationsOf(joiner.doc));
  });

  test("a joiner's offline edits (a non-empty state vector) merge with the cold session both ways", async (ctx) => {
    const { name, sessionId } = await coldSession(ctx, 40);
    // A replica that synced once, went offline, and edited: its state vector is not empty.
    const offline = new Y.Doc();
    const first = connect(ctx, name, offline);
    await synced(first.provider);
    first.provider.disconnect();
    await waitFor(() => ctx.app.server.registry.get(name) === undefined, { message: 'the session unloads' });
    addAnnotation(offline, { id: 'offline', frame: 9, bbox: [9, 9, 9, 9], label: 'car' }, { by: 'offline' });
    updateAnnotation(offline, 'a1', { label: 'person' }, { by: 'offline' });
    // Meanwhile the session moved on without it.
    const moved = await jsonClient(ctx.app.url, ctx.app.adminToken).post(`/api/sessions/${sessionId}/annotations`, {
      id: 'while-offline',
      frame: 1,
      bbox: [1, 1, 1, 1],
      label: 'car',
    });
    assert.is(moved.status, 201);
    await waitFor(() => ctx.app.server.registry.get(name) === undefined, { message: 'the session unloads again' });
    await ctx.app.server.registry.settled();
    await ctx.app.server.store.compact(name);

    const hold = holdLoad(ctx.app, name);
    const watcher = connect(ctx, name);
    first.provider.connect();
    await hold.held;
    await synced(first.provider);
    await synced(watcher.provider);
    assert.ok(offline.getMap('annotations').has('while-offline'), 'the offline replica got what it missed');
    hold.open();
    const seen = watcher.doc.getMap('annotations');
    await waitFor(() => seen.has('offline') && (seen.get('a1') as Y.Map<unknown>).get('label') === 'person', {
      message: 'the offline edits reach the other client',
    });
    assert.is(seen.size, 42);
    assert.equal(annotationsOf(offline), annotationsOf(watcher.doc));
    const onServer = await ctx.app.server.registry.read(parseDocName(name)!, (ydoc) => ydoc.getMap('annotations').toJSON());
    assert.equal(onServer, annotationsOf(watcher.doc));
  });

  test('a document holding a stored state answers sync step 1 from it, for an empty and for a partial state vector', (ctx) => {
    const source = new Y.Doc();
    setLabel(source, 'car', {});
    setLabel(source, 'bike', {});
    for (let i = 0; i < 30; i++) addAnnotation(source, { id: `a${i}`, frame: i, bbox: [i, i, 5, 5], label: 'car' }, { by: 'source' });
    const partial = new Y.Doc();
    Y.applyUpdate(partial, Y.encodeStateAsUpdate(source));
    updateAnnotation(source, 'a3', { label: 'bike' }, { by: 'source' });
    addAnnotation(source, { id: 'late', frame: 1, bbox: [1, 1, 1, 1], label: 'car' }, { by: 'source' });

    const stored = Y.encodeStateAsUpdate(source);
    const doc = new LiveDocument(parseDocName('session:stored-only')!, { log: ctx.app.server.log, limits: defaultLimits, stored });
    assert.not.ok(doc.integrated);
    const parts = doc.syncStep2PartsFor(Y.encodeStateVector(new Y.Doc()));
    assert.is(parts.body, stored, 'an empty joiner is sent the stored bytes themselves, not a copy');
    assert.equal(Buffer.concat([Uint8Array.from(parts.head), parts.body]), Buffer.from(encodeSyncMessage(SyncMessageType.step2, stored)), 'after the step 2 prefix');
    assert.equal(doc.syncStep2PartsFor(Y.encodeStateVector(partial)).head, [], 'a partial joiner gets its diff as one message');
    const fromEmpty = new Y.Doc();
    Y.applyUpdate(fromEmpty, step2Update(doc.syncStep2For(Y.encodeStateVector(new Y.Doc()))));
    assert.equal(annotationsOf(fromEmpty), annotationsOf(source));
    const missing = step2Update(doc.syncStep2For(Y.encodeStateVector(partial)));
    assert.ok(missing.byteLength < Y.encodeStateAsUpdate(source).byteLength, 'only what the partial replica lacks');
    Y.applyUpdate(partial, missing);
    assert.equal(annotationsOf(partial), annotationsOf(source));
    assert.is(doc.ydoc.getMap('annotations').size, 0, 'nothing integrated yet');

    doc.integrate();
    assert.ok(doc.integrated);
    assert.equal(annotationsOf(doc.ydoc), annotationsOf(source));
    doc.destroy();
  });

  test.run();
}

/** The update a sync step 2 message carries, read as a stock client reads it. */
function step2Update(message: Uint8Array): Uint8Array {
  const decoder = decoding.createDecoder(message);
  assert.is(decoding.readVarUint(decoder), MessageType.sync);
  assert.is(decoding.readVarUint(decoder), SyncMessageType.step2);
  return decoding.readVarUint8Array(decoder);
}
