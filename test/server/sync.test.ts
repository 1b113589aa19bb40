/**
 * The sync core end to end: real `WebsocketProvider` clients over real sockets against the real
 * server, on PGlite and (when DATABASE_URL is set) Postgres.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, getAnnotation, listAnnotations, setLabel, updateAnnotation } from '../../docs-model/index.ts';
import { startTestServer, type TestServer } from '../../tools/server.ts';
import { joinSynced, withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { newSessionDoc } from '../../tools/api.ts';


/** The document content as plain JSON, for equality between replicas. */
const content = (doc: Y.Doc) => ({
  labels: doc.getMap('labels').toJSON(),
  annotations: doc.getMap('annotations').toJSON(),
});

for (const kind of databaseKinds()) {
  const test = suite<SocketSuiteContext>(`sync (${kind})`);

  // One server for the suite (documents are named per test); idle documents unload at once, so
  // every test also exercises unloading and reloading.
  withServerAndClients(test, kind, (storage) => startTestServer(storage, { limits: { idleUnloadMs: 0 } }));

  /** A session created over REST, as every session document must be. */
  const sessionName = async (ctx: { app: TestServer }) => (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;

  test('three clients editing one session concurrently converge to identical content', async (ctx) => {
    const name = await sessionName(ctx);
    const [a, b, c] = await Promise.all([joinSynced(ctx, name), joinSynced(ctx, name), joinSynced(ctx, name)]);
    setLabel(a!.doc, 'car', { color: '#f00' });
    await waitFor(() => b!.doc.getMap('labels').has('car') && c!.doc.getMap('labels').has('car'));
    for (let i = 0; i < 20; i++) {
      for (const [index, client] of [a!, b!, c!].entries()) {
        addAnnotation(client.doc, { id: `a${index}-${i}`, frame: i, bbox: [i, i, 10, 10], label: 'car' }, { by: `user${index}` });
      }
    }
    await waitFor(() => [a!, b!, c!].every((client) => client.doc.getMap('annotations').size === 60), {
      message: 'all 60 annotations reach every client',
    });
    assert.equal(content(b!.doc), content(a!.doc));
    assert.equal(content(c!.doc), content(a!.doc));
    const stored = await ctx.app.server.registry.read(
      { name, kind: 'session', id: name.slice(8) },
      (ydoc) => listAnnotations(ydoc).length,
    );
    assert.is(stored, 60);
  });

  test('two fields of one annotation edited while both clients are offline both survive', async (ctx) => {
    const name = await sessionName(ctx);
    const a = await joinSynced(ctx, name);
    const b = await joinSynced(ctx, name);
    setLabel(a.doc, 'car', {});
    setLabel(a.doc, 'truck', {});
    const created = addAnnotation(a.doc, { frame: 0, bbox: [0, 0, 10, 10], label: 'car' }, { by: 'alice' });
    await waitFor(() => getAnnotation(b.doc, created.id) !== null);
    a.provider.disconnect();
    b.provider.disconnect();
    updateAnnotation(a.doc, created.id, { bbox: [5, 5, 20, 20] }, { by: 'alice' });
    updateAnnotation(b.doc, created.id, { label: 'truck' }, { by: 'bob' });
    a.provider.connect();
    b.provider.connect();
    await waitFor(() => {
      const fromA = getAnnotation(a.doc, created.id);
      const fromB = getAnnotation(b.doc, created.id);
      return fromA?.label === 'truck' && fromB?.bbox[0] === 5;
    }, { message: 'both edits reach both clients' });
    const merged = getAnnotation(a.doc, created.id)!;
    assert.equal(merged.bbox, [5, 5, 20, 20]);
    assert.is(merged.label, 'truck');
  });

  test('awareness reaches the others and disappears when its client disconnects', async (ctx) => {
    const name = await sessionName(ctx);
    const a = await joinSynced(ctx, name);
    const b = await joinSynced(ctx, name);
    a.provider.awareness.setLocalStateField('user', { name: 'alice', frame: 12 });
    await waitFor(() => (b.provider.awareness.getStates().get(a.doc.clientID) as { user?: { frame: number } } | undefined)?.user?.frame === 12);
    const late = await joinSynced(ctx, name);
    await waitFor(() => late.provider.awareness.getStates().has(a.doc.clientID), { message: 'a late joiner sees present states' });
    a.provider.disconnect();
    await waitFor(() => !b.provider.awareness.getStates().has(a.doc.clientID), { message: 'the state leaves with its client' });
    await waitFor(() => !late.provider.awareness.getStates().has(a.doc.clientID));
  });

  test("an offline client's edits reach the others and the database when it reconnects", async (ctx) => {
    const name = await sessionName(ctx);
    const a = await joinSynced(ctx, name);
    const b = await joinSynced(ctx, name);
    setLabel(a.doc, 'person', {});
    await waitFor(() => b.doc.getMap('labels').has('person'));
    b.provider.disconnect();
    const offline = addAnnotation(b.doc, { frame: 4, bbox: [1, 2, 3, 4], label: 'person' }, { by: 'bob' });
    const meanwhile = addAnnotation(a.doc, { frame: 5, bbox: [1, 2, 3, 4], label: 'person' }, { by: 'alice' });
    b.provider.connect();
    await waitFor(() => getAnnotation(a.doc, offline.id) !== null && getAnnotation(b.doc, meanwhile.id) !== null);
    await ctx.app.server.log.flush();
    const updates = await ctx.app.server.store.load(name);
    const fromDatabase = new Y.Doc();
    for (const update of updates) Y.applyUpdate(fromDatabase, update);
    assert.ok(getAnnotation(fromDatabase, offline.id), 'the offline edit is in the database');
    assert.ok(getAnnotation(fromDatabase, meanwhile.id));
  });

  test('after compaction a fresh load equals the live document and the log is short', async (ctx) => {
    const name = await sessionName(ctx);
    const a = await joinSynced(ctx, name);
    setLabel(a.doc, 'car', {});
    for (let i = 0; i < 50; i++) addAnnotation(a.doc, { frame: i, bbox: [0, 0, 5, 5], label: 'car' }, { by: 'alice' });
    const live = ctx.app.server.registry.get(name)!;
    await waitFor(() => live.ydoc.getMap('annotations').size === 50);
    await ctx.app.server.log.flush();
    // On PGlite a commit's updates of one document are one row (persistence/log-rows.ts).
    const rows = await ctx.app.server.store.logLength(name);
    assert.ok(rows >= 1);
    const { mergedRows } = await ctx.app.server.store.compact(name);
    assert.is(mergedRows, rows);
    assert.is(await ctx.app.server.store.logLength(name), 0);
    const fresh = new Y.Doc();
    for (const update of await ctx.app.server.store.load(name)) Y.applyUpdate(fresh, update);
    assert.equal(content(fresh), content(live.ydoc));
  });

  test('two simultaneous first connections to one document load it once', async (ctx) => {
    const name = await sessionName(ctx);
    const before = ctx.app.server.registry.loads;
    await Promise.all([joinSynced(ctx, name), joinSynced(ctx, name), joinSynced(ctx, name)]);
    assert.is(ctx.app.server.registry.loads - before, 1);
  });

  test("a socket opened right after its session was created reads no session row: the create filled auth's cache", async (ctx) => {
    const name = await sessionName(ctx);
    const sessionQueries: string[] = [];
    const onQuery = (q: { sql: string }) => {
      if (/from "sessions"/.test(q.sql)) sessionQueries.push(q.sql);
    };
    ctx.app.server.db.knex.on('query', onQuery);
    try {
      await joinSynced(ctx, name);
    } finally {
      ctx.app.server.db.knex.off('query', onQuery);
    }
    assert.equal(sessionQueries, []);
  });

  test('an idle document leaves memory once its updates are committed, and loads again with its content', async (ctx) => {
    const name = await sessionName(ctx);
    const a = await joinSynced(ctx, name);
    setLabel(a.doc, 'car', {});
    addAnnotation(a.doc, { id: 'kept', frame: 0, bbox: [0, 0, 5, 5], label: 'car' }, { by: 'alice' });
    await waitFor(() => ctx.app.server.registry.get(name)?.ydoc.getMap('annotations').has('kept'));
    a.destroy();
    ctx.clients = [];
    await waitFor(() => ctx.app.server.registry.get(name) === undefined, { message: 'the document is unloaded' });
    const b = await joinSynced(ctx, name);
    assert.ok(getAnnotation(b.doc, 'kept'));
  });

  test.run();
}
