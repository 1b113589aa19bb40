/**
 * Large server writes go a step per transaction (DocRegistry.transactInSteps,
 * docs/architecture.md "Large writes"): meanwhile the document is the change's alone, and the
 * change leaves as ONE update. Real stock clients over real sockets and real HTTP, on PGlite and
 * Postgres; a `betweenSteps` hook holds a change open so each test knows it acts during one.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { addAnnotation, listAnnotations, planAddAnnotations, setLabel, WRITE_STEP_ITEMS, type AnnotationInput } from '../../docs-model/index.ts';
import { parseDocName } from '../../docs-model/protocol.ts';
import { connectClient, nextClose, synced, type TestClient } from '../../tools/clients.ts';
import { startTestServer, type TestServer } from '../../tools/server.ts';
import { withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { jsonClient } from '../../tools/http.ts';
import { newSessionDoc } from '../../tools/api.ts';
import type { Connection } from '../../server/sync/connection.ts';
import { defaultLimits } from '../../server/config.ts';
import { LiveDocument } from '../../server/documents/live-document.ts';
import { runInSteps } from '../../server/documents/staged-change.ts';
import { serverOrigin } from '../../server/documents/origins.ts';

const COUNT = WRITE_STEP_ITEMS * 5 + 7;
const boxes = (prefix: string, count = COUNT): AnnotationInput[] =>
  Array.from({ length: count }, (_, k) => ({ id: `${prefix}${k}`, frame: k % 50, bbox: [k % 500, 10, 20, 30], label: 'car' }));

/** Holds the next staged change before its second step until `open()`; `held` resolves once it waits there. */
interface Gate {
  arm(): { held: Promise<void>; open(): void };
  between(): Promise<void>;
}
function stepGate(): Gate {
  let armed: { reached: () => void; gate: Promise<void> } | null = null;
  return {
    arm() {
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let reached!: () => void;
      const held = new Promise<void>((resolve) => (reached = resolve));
      armed = { reached, gate };
      return { held, open };
    },
    async between() {
      const current = armed;
      if (!current) return new Promise((resolve) => setImmediate(resolve));
      armed = null;
      current.reached();
      await current.gate;
    },
  };
}

for (const kind of databaseKinds()) {
  const test = suite<SocketSuiteContext & { gate: Gate }>(`staged writes (${kind})`);

  withServerAndClients(test, kind, (storage, ctx) => {
    ctx.gate = stepGate();
    return startTestServer(storage, {}, { betweenSteps: () => ctx.gate.between() });
  });

  const connect = (ctx: { app: TestServer; clients: TestClient[] }, name: string) => {
    const client = connectClient(ctx.app.url, name, { params: { token: ctx.app.adminToken } });
    ctx.clients.push(client);
    return client;
  };

  /**
   * A synced peer of `name`; `received` waits until it holds what `until` says, checks that the
   * change came as one update and was stored as one log row, and gives the state the peer had
   * before plus that one update.
   */
  const watchOneChange = async (ctx: SocketSuiteContext, name: string) => {
    const peer = connect(ctx, name);
    await synced(peer.provider);
    const before = Y.encodeStateAsUpdate(peer.doc);
    const updates: Uint8Array[] = [];
    peer.doc.on('update', (update: Uint8Array, origin: unknown) => origin === peer.provider && updates.push(update));
    const rowsBefore = await ctx.app.server.store.logLength(name);
    return {
      async received(until: (doc: Y.Doc) => boolean, what: string): Promise<Y.Doc> {
        await waitFor(() => until(peer.doc), { message: `the peer receives ${what}` });
        assert.is(updates.length, 1, 'one update, not one per step');
        assert.is(await ctx.app.server.store.logLength(name), rowsBefore + 1, 'one log row');
        const alone = new Y.Doc();
        Y.applyUpdate(alone, before);
        Y.applyUpdate(alone, updates[0]!);
        return alone;
      },
    };
  };

  test('a bulk create reaches a peer as one update and is stored as one log row', async (ctx) => {
    const { docName: name, sessionId } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const watch = await watchOneChange(ctx, name);
    const res = await jsonClient(ctx.app.url, ctx.app.adminToken).post(`/api/sessions/${sessionId}/annotations`, boxes('b'));
    assert.is(res.status, 201);
    const alone = await watch.received((doc) => doc.getMap('annotations').size === COUNT, 'the bulk create');
    assert.is(alone.getMap('annotations').size, COUNT, 'the state before and that one update hold every annotation');
  });

  test('a large change that deletes (an import replacing the content) also reaches a peer as one update and one log row', async (ctx) => {
    const { docName: name, sessionId } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const api = jsonClient(ctx.app.url, ctx.app.adminToken);
    assert.is((await api.post(`/api/sessions/${sessionId}/annotations`, boxes('a'))).status, 201);
    const exported = await api.get(`/api/sessions/${sessionId}/export?format=json`);
    assert.is(exported.status, 200);
    assert.is((await api.post(`/api/sessions/${sessionId}/annotations`, boxes('b'))).status, 201);
    const watch = await watchOneChange(ctx, name);
    const imported = await api.request<{ deleted: number }>('POST', `/api/sessions/${sessionId}/import?format=json&mode=replace`, exported.body);
    assert.is(imported.status, 200, imported.text);
    assert.is(imported.body.deleted, COUNT, 'the b boxes go');
    const alone = await watch.received((doc) => doc.getMap('annotations').size === COUNT && doc.getMap('annotations').has('a0'), 'the import');
    assert.equal(listAnnotations(alone).map((a) => a.id).sort(), boxes('a').map((b) => b.id).sort(), 'the state before and that one update hold the a boxes alone');
  });

  // Through the server, a staged change holds its document alone and always chains; a write of the
  // document's own client in between (which that hold rules out) is what makes it merge instead.
  for (const between of [false, true]) {
    test(`a change whose steps ${between ? 'do not chain (its client wrote in between) is merged once' : 'chain is joined, never merged'}, and what is told brings a copy where the document is`, async (ctx) => {
      const told: Uint8Array[] = [];
      const doc = new LiveDocument(parseDocName(`session:chain-${between}-${kind}`)!, {
        log: ctx.app.server.log,
        limits: defaultLimits,
        events: { emit: (name: string, args: unknown[]) => void (name === 'change' && told.push(args[1] as Uint8Array)) },
      });
      setLabel(doc.ydoc, 'car', {});
      const before = Y.encodeStateAsUpdate(doc.ydoc);
      told.length = 0;
      let merges = 0;
      let k = 0;
      await runInSteps(doc, serverOrigin('test'), () => planAddAnnotations(doc.ydoc, boxes('c', WRITE_STEP_ITEMS * 3), { by: 'ada' }), {
        mergeUpdates: (updates) => (merges++, Promise.resolve(Y.mergeUpdates(updates))),
        betweenSteps: async () => void (between && doc.ydoc.transact(() => doc.ydoc.getMap('meta').set('between', k++), serverOrigin('other'))),
        halfWritten: async () => undefined,
      });
      assert.is(merges, between ? 1 : 0);
      const copy = new Y.Doc();
      for (const update of [before, ...told]) Y.applyUpdate(copy, update);
      assert.equal(Y.encodeStateAsUpdate(copy), Y.encodeStateAsUpdate(doc.ydoc));
      assert.is(listAnnotations(copy).length, WRITE_STEP_ITEMS * 3);
      await doc.lastCommit;
      doc.destroy();
    });
  }

  test('while a large change is written, readers, writers and joiners wait, then see all of it', async (ctx) => {
    const { docName: name, sessionId } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const api = jsonClient(ctx.app.url, ctx.app.adminToken);
    const editor = connect(ctx, name);
    await synced(editor.provider);
    const hold = ctx.gate.arm();
    const bulk = api.post(`/api/sessions/${sessionId}/annotations`, boxes('s'));
    await hold.held;
    // A failed assertion must not leave the change (and with it the server's shutdown) waiting.
    try {
      const doc = ctx.app.server.registry.get(name)!;
      assert.ok(doc.busy, 'the change holds the document');
      const inServer = doc.ydoc.getMap('annotations').size;
      assert.ok(inServer > 0 && inServer < COUNT, `the first step is written, not the rest (${inServer})`);

      const read = api.get<{ items: unknown[] }>(`/api/sessions/${sessionId}/annotations?limit=1000&frame=0`);
      const rest = api.post(`/api/sessions/${sessionId}/annotations`, { id: 'rest-during', frame: 1, bbox: [1, 1, 5, 5], label: 'car' });
      addAnnotation(editor.doc, { id: 'socket-during', frame: 2, bbox: [2, 2, 5, 5], label: 'car' }, { by: 'editor' });
      const joiner = connect(ctx, name);
      const connections = () => [...doc.peers] as unknown as Connection[];
      await waitFor(() => connections().length === 2 && connections().every((c) => c.queued > 0), {
        message: "the editor's update and the joiner's sync step 1 wait at the server",
      });
      assert.is(doc.ydoc.getMap('annotations').has('socket-during'), false, 'the editor’s update is not applied during the change');
      assert.is(joiner.provider.synced, false, 'the joiner is not answered during the change');

      hold.open();
      assert.is((await bulk).status, 201);
      assert.is((await rest).status, 201);
      const page = await read;
      assert.is(page.status, 200);
      assert.is(page.body.items.length, boxes('s').filter((b) => b.frame === 0).length, 'the read saw the whole change');
      await synced(joiner.provider);
      const first = joiner.doc.getMap('annotations');
      await waitFor(() => first.has('socket-during') && first.has('rest-during'), { message: 'the joiner gets the edits made during the change' });
      assert.ok(boxes('s').every((b) => first.has(b.id!)), 'the joiner has the whole change');
      await waitFor(() => editor.doc.getMap('annotations').size === COUNT + 2, { message: 'the editor gets the change and the REST edit' });
      const onServer = await ctx.app.server.registry.read(parseDocName(name)!, (ydoc) => listAnnotations(ydoc).length);
      assert.is(onServer, COUNT + 2);
    } finally {
      hold.open();
    }
  });

  test('a release whose freeze waited while a large change took the document holds all of that change, not its first steps', async (ctx) => {
    const { docName: name, sessionId } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const api = jsonClient(ctx.app.url, ctx.app.adminToken);
    const { registry, services } = ctx.app.server;
    const session = (await services.repos.sessions.get(sessionId))!;
    const doc = await registry.acquireIdle(parseDocName(name)!);
    registry.release(doc);
    // The freeze waits for the document's latest commit; that wait is held open here, so that the
    // large change starts inside it, as a commit in flight would let it.
    let commitDone!: () => void;
    const commitWait = new Promise<void>((resolve) => (commitDone = resolve));
    Object.defineProperty(doc, 'lastCommit', { configurable: true, get: () => commitWait });
    const hold = ctx.gate.arm();
    try {
      const frozen = services.releases.freeze(session);
      const bulk = api.post(`/api/sessions/${sessionId}/annotations`, boxes('r'));
      await hold.held;
      assert.ok(doc.busy, 'the change holds the document, its first step written');
      delete (doc as unknown as { lastCommit?: unknown }).lastCommit;
      commitDone();
      hold.open();
      assert.is((await bulk).status, 201);
      const { content } = await frozen;
      assert.is(content.annotations.length, COUNT, 'the whole change, read once it ended');
    } finally {
      delete (doc as unknown as { lastCommit?: unknown }).lastCommit;
      commitDone();
      hold.open();
    }
  });

  test('a large change that fails midway is dropped whole: nothing of it stored, its peers resync with what was', async (ctx) => {
    const { docName: name } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const peer = connect(ctx, name);
    await synced(peer.provider);
    addAnnotation(peer.doc, { id: 'kept', frame: 0, bbox: [1, 1, 5, 5], label: 'car' }, { by: 'peer' });
    const { registry } = ctx.app.server;
    await waitFor(() => registry.get(name)?.ydoc.getMap('annotations').has('kept') === true, { message: 'the peer’s edit reaches the server' });
    const before = registry.get(name)!;
    const closed = nextClose(peer.provider);
    const failing = registry.transactInSteps(parseDocName(name)!, 'test', (ydoc) => ({
      steps: () => [
        () => void ydoc.getMap('annotations').set('half', new Y.Map()),
        () => {
          throw new Error('a bug in the second step');
        },
      ],
      result: () => null,
    }));
    const failure = await failing.then(() => null, (err: unknown) => err);
    assert.match(String(failure), /a bug in the second step/);
    assert.is((await closed).code, 1011, 'the peer is closed, to reconnect to a fresh load');
    assert.ok(before.destroyed, 'the half-written document left memory');
    await synced(peer.provider);
    const reloaded = await registry.read(parseDocName(name)!, (ydoc) => [...ydoc.getMap('annotations').keys()]);
    assert.equal(reloaded, ['kept'], 'the fresh load has what was stored before, and nothing of the failed change');
    assert.is(peer.doc.getMap('annotations').has('half'), false, 'the peer never received any of it');
  });

  // Last: it closes the registry.
  test('a large change the server shuts down under is refused, never answered as made', async (ctx) => {
    const { docName: name } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const { registry } = ctx.app.server;
    const hold = ctx.gate.arm();
    const change = registry.transactInSteps(parseDocName(name)!, 'test', (ydoc) => ({
      steps: () => [() => void ydoc.getMap('annotations').set('x1', new Y.Map()), () => void ydoc.getMap('annotations').set('x2', new Y.Map())],
      result: () => 'made',
    }));
    const outcome = change.then(
      (result) => result,
      (err: unknown) => err,
    );
    await hold.held;
    await registry.close();
    hold.open();
    const result = await outcome;
    assert.instance(result, Error);
    assert.match((result as Error).message, /left memory before the change was made/);
  });

  test.run();
}
