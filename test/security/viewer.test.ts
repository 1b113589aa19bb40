/**
 * Viewers sync read-only: the server never applies their document updates. Their reply
 * to sync step 1 is dropped quietly, an update is answered once with the y-protocols
 * permission-denied message, and their awareness still reaches the others.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import type { WebsocketProvider } from 'y-websocket';
import { addAnnotation, getAnnotation, setLabel } from '../../docs-model/index.ts';
import { connectClient, synced, type TestClient } from '../../tools/clients.ts';
import type { TestServer } from '../../tools/server.ts';
import { withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { newSessionDoc } from '../../tools/api.ts';
import { alive, isPermissionDenied, openSocket, syncMessage, updateOfSize } from '../helpers/security.ts';

/** Counts the permission-denied messages a stock provider receives (instead of its console.warn). */
function countDenials(provider: WebsocketProvider): { reasons: string[] } {
  const seen = { reasons: [] as string[] };
  provider.messageHandlers[2] = (_encoder, decoder) => {
    if (decoding.readVarUint(decoder) === 0) seen.reasons.push(decoding.readVarString(decoder));
  };
  return seen;
}

/** The document as a fresh load from the database sees it. */
async function stored(app: TestServer, docName: string): Promise<Y.Doc> {
  await app.server.log.flush();
  const doc = new Y.Doc();
  for (const update of await app.server.store.load(docName)) Y.applyUpdate(doc, update);
  return doc;
}

for (const kind of databaseKinds()) {
  const test = suite<SocketSuiteContext>(`viewers are read-only (${kind})`);

  withServerAndClients(test, kind);

  const setup = async (ctx: { app: TestServer; clients: TestClient[] }, viewerDoc?: Y.Doc) => {
    const { docName, projectId } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const annotatorToken = await ctx.app.token({ sub: 'anna', projects: { [projectId]: 'annotator' } });
    const viewerToken = await ctx.app.token({ sub: 'vera', projects: { [projectId]: 'viewer' } });
    const annotator = connectClient(ctx.app.url, docName, { params: { token: annotatorToken } });
    const viewer = connectClient(ctx.app.url, docName, { params: { token: viewerToken }, connect: false, ...(viewerDoc ? { doc: viewerDoc } : {}) });
    ctx.clients.push(annotator, viewer);
    const denials = countDenials(viewer.provider);
    viewer.provider.connect();
    await Promise.all([synced(annotator.provider), synced(viewer.provider)]);
    return { docName, annotator, viewer, denials, viewerToken };
  };

  test("a viewer's edit reaches neither another client nor the database, and the viewer is told once", async (ctx) => {
    const { docName, annotator, viewer, denials } = await setup(ctx);
    setLabel(annotator.doc, 'car', {});
    await waitFor(() => viewer.doc.getMap('labels').has('car'), { message: "the annotator's label reaches the viewer" });

    const forged = addAnnotation(viewer.doc, { frame: 0, bbox: [1, 2, 3, 4], label: 'car' }, { by: 'vera' });
    await waitFor(() => denials.reasons.length === 1, { message: 'the viewer is told permission denied' });
    assert.match(denials.reasons[0]!, /read-only/);

    // The server has processed the viewer's update (it answered it); an annotator edit made after
    // that reaches the viewer, while the viewer's own never reached the annotator.
    const real = addAnnotation(annotator.doc, { frame: 1, bbox: [5, 5, 5, 5], label: 'car' }, { by: 'anna' });
    await waitFor(() => getAnnotation(viewer.doc, real.id) !== null, { message: "the annotator's edit reaches the viewer" });
    assert.is(getAnnotation(annotator.doc, forged.id), null, "the viewer's annotation reached the annotator");
    const live = ctx.app.server.registry.get(docName);
    assert.ok(live, 'the document is loaded');
    assert.is(getAnnotation(live.ydoc, forged.id), null, "the viewer's annotation is in the server's document");

    const fromDb = await stored(ctx.app, docName);
    assert.ok(getAnnotation(fromDb, real.id), "the annotator's edit is in the database (control)");
    assert.is(getAnnotation(fromDb, forged.id), null, "the viewer's annotation is in the database");

    // A newcomer loads the server's state: it has the real edit and not the viewer's.
    const late = connectClient(ctx.app.url, docName, { params: { token: ctx.app.adminToken } });
    ctx.clients.push(late);
    await synced(late.provider);
    assert.ok(getAnnotation(late.doc, real.id));
    assert.is(getAnnotation(late.doc, forged.id), null);
  });

  test("a viewer's offline content offered in its sync step 2 is dropped without a denial", async (ctx) => {
    const offline = new Y.Doc();
    setLabel(offline, 'car', {});
    const forged = addAnnotation(offline, { frame: 3, bbox: [1, 1, 1, 1], label: 'car' }, { by: 'vera' });
    const { docName, annotator, viewer, denials } = await setup(ctx, offline);
    // The viewer's awareness crosses (so the server has read everything the viewer sent before it).
    viewer.provider.awareness.setLocalStateField('user', { name: 'Vera' });
    await waitFor(() => [...annotator.provider.awareness.getStates().values()].some((s) => (s as { user?: { name?: string } }).user?.name === 'Vera'), {
      message: "the viewer's awareness reaches the annotator",
    });
    assert.is(getAnnotation(annotator.doc, forged.id), null);
    assert.is(getAnnotation(ctx.app.server.registry.get(docName)!.ydoc, forged.id), null);
    assert.is(denials.reasons.length, 0, 'a sync step 2 is not an edit: no denial');
    assert.is(getAnnotation(await stored(ctx.app, docName), forged.id), null);
  });

  test('a viewer sending many updates gets exactly one permission-denied message and stays connected', async (ctx) => {
    const { docName, viewerToken } = await setup(ctx);
    const s = openSocket(ctx.app.url, docName, { token: viewerToken });
    await s.opened;
    const keys: string[] = [];
    s.ws.send(syncMessage(1, updateOfSize(80).update)); // a sync step 2: dropped quietly
    for (let i = 0; i < 5; i++) {
      const { update, key } = updateOfSize(80 + i);
      keys.push(key);
      s.ws.send(syncMessage(2, update));
    }
    assert.ok(await alive(s), 'the viewer stays connected');
    assert.is(s.messages.filter(isPermissionDenied).length, 1);
    const live = ctx.app.server.registry.get(docName)!;
    assert.ok(keys.every((key) => !live.ydoc.getMap('probe').has(key)));
    const fromDb = await stored(ctx.app, docName);
    assert.ok(keys.every((key) => !fromDb.getMap('probe').has(key)));
    s.ws.close();
  });

  test.run();
}
