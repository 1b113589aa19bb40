/**
 * Every socket limit at the limit and one past it, with its close code: frame size and
 * decoded update size (1009), awareness state size, depth and ownership (1008), message rate
 * (1008), connections per document and per user (1013), documents in memory (1013, idle ones
 * unloaded first). Small limits are configured per suite through `startTestServer`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { waitFor } from '../../tools/databases.ts';
import { jsonClient, newSessionDoc } from '../../tools/api.ts';
import { alive, awarenessMessage, openSocket, probeMessage, syncMessage, updateOfSize, type RecordedSocket } from '../helpers/security.ts';
import type { Limits } from '../../server/config.ts';

interface Ctx {
  storage: TestStorage;
  app: TestServer;
  sockets: RecordedSocket[];
}

/** A suite with its own server and limits; every socket a test opens is closed after it. */
function limitSuite(name: string, limits: Partial<Limits>) {
  const test = suite<Ctx>(name);
  test.before(async (ctx) => {
    ctx.storage = await createTestStorage('pglite');
    ctx.app = await startTestServer(ctx.storage, { limits });
    ctx.sockets = [];
  });
  test.after.each((ctx) => {
    for (const s of ctx.sockets) s.ws.terminate();
    ctx.sockets = [];
  });
  test.after(async (ctx) => {
    await ctx.app.stop();
    await ctx.storage.cleanup();
  });
  return test;
}

async function connect(ctx: Ctx, docName: string, token: string): Promise<RecordedSocket> {
  const s = openSocket(ctx.app.url, docName, { token });
  ctx.sockets.push(s);
  await s.opened;
  return s;
}

/** Client ids (and their JSON) in the awareness messages a socket received. */
function awarenessSeen(s: RecordedSocket): Map<number, string> {
  const seen = new Map<number, string>();
  for (const m of s.messages) {
    if (m[0] !== 1) continue;
    const outer = decoding.createDecoder(m);
    decoding.readVarUint(outer);
    const inner = decoding.createDecoder(decoding.readVarUint8Array(outer));
    const count = decoding.readVarUint(inner);
    for (let i = 0; i < count; i++) {
      const clientId = decoding.readVarUint(inner);
      decoding.readVarUint(inner);
      seen.set(clientId, decoding.readVarString(inner));
    }
  }
  return seen;
}

const docOf = (name: string) => ({ name, kind: 'session' as const, id: name.slice('session:'.length) });

// ---- sizes -----------------------------------------------------------------------------------

{
  const test = limitSuite('limits: frame, update and awareness sizes', {
    maxMessageBytes: 4096,
    maxUpdateBytes: 2048,
    maxAwarenessBytes: 200,
    maxAwarenessDepth: 4,
  });

  test('a frame of exactly maxMessageBytes is read; one byte more closes with 1009', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const s = await connect(ctx, docName, ctx.app.adminToken);
    // A query-awareness message (type 3) padded to the limit: the server reads the type only.
    const atLimit = new Uint8Array(4096);
    atLimit[0] = 3;
    s.ws.send(atLimit);
    assert.ok(await alive(s), 'a frame at the limit is accepted');
    s.ws.send(new Uint8Array(4097).fill(0).map((_, i) => (i === 0 ? 3 : 0)));
    assert.is((await s.closed).code, 1009);
  });

  test('an update of exactly maxUpdateBytes is applied; one byte more closes with 1009 and is not applied', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const s = await connect(ctx, docName, ctx.app.adminToken);
    const atLimit = updateOfSize(2048);
    s.ws.send(syncMessage(2, atLimit.update));
    assert.ok(await alive(s));
    assert.ok(await ctx.app.server.registry.read(docOf(docName), (ydoc) => ydoc.getMap('probe').has(atLimit.key)), 'applied at the limit');
    const past = updateOfSize(2049);
    s.ws.send(syncMessage(2, past.update));
    assert.is((await s.closed).code, 1009);
    assert.not.ok(await ctx.app.server.registry.read(docOf(docName), (ydoc) => ydoc.getMap('probe').has(past.key)), 'not applied past the limit');
  });

  test('a sync step 2 larger than maxUpdateBytes closes with 1009 too', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const s = await connect(ctx, docName, ctx.app.adminToken);
    s.ws.send(syncMessage(1, updateOfSize(2049).update));
    assert.is((await s.closed).code, 1009);
  });

  test('updates waiting for missing dependencies past maxUpdateBytes close with 1008, and do not poison the document for others', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const hostile = await connect(ctx, docName, await ctx.app.token({ sub: 'mallory', admin: true }));
    const honest = await connect(ctx, docName, await ctx.app.token({ sub: 'anna', admin: true }));
    // One client's consecutive updates, sent without the first: none can be integrated.
    const source = new Y.Doc();
    source.clientID = 4242;
    const updates: Uint8Array[] = [];
    source.on('update', (u: Uint8Array) => updates.push(u));
    for (let i = 0; i < 8; i++) source.getMap('probe').set(`p${i}`, 'y'.repeat(500));
    for (const update of updates.slice(1)) hostile.ws.send(syncMessage(2, update));
    assert.is((await hostile.closed).code, 1008);
    // An honest client's complete update is still applied afterwards.
    const ok = updateOfSize(300);
    honest.ws.send(syncMessage(2, ok.update));
    assert.ok(await alive(honest), 'the honest client stays connected');
    assert.ok(await ctx.app.server.registry.read(docOf(docName), (ydoc) => ydoc.getMap('probe').has(ok.key)));
  });

  test('an awareness state of exactly maxAwarenessBytes is forwarded; one byte more closes with 1008', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const observer = await connect(ctx, docName, ctx.app.adminToken);
    const s = await connect(ctx, docName, ctx.app.adminToken);
    const state = (length: number) => `{"p":"${'x'.repeat(length - 8)}"}`;
    assert.is(state(200).length, 200);
    s.ws.send(awarenessMessage([[501, 1, state(200)]]));
    await waitFor(() => awarenessSeen(observer).get(501) === state(200), { message: 'the state at the limit reaches the observer' });
    s.ws.send(awarenessMessage([[501, 2, state(201)]]));
    assert.is((await s.closed).code, 1008);
    assert.ok(await alive(observer), 'the observer is unaffected');
  });

  test('an awareness state nested exactly maxAwarenessDepth deep is forwarded; one level more closes with 1008', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const observer = await connect(ctx, docName, ctx.app.adminToken);
    const s = await connect(ctx, docName, ctx.app.adminToken);
    const atLimit = '{"a":[{"b":[1,"]]]]"]}]}'; // brackets inside strings do not count
    s.ws.send(awarenessMessage([[502, 1, atLimit]]));
    await waitFor(() => awarenessSeen(observer).get(502) === atLimit, { message: 'the state at the depth limit is forwarded' });
    s.ws.send(awarenessMessage([[502, 2, '{"a":[{"b":[[1]]}]}']]));
    assert.is((await s.closed).code, 1008);
  });

  test("another user's awareness client id closes with 1008; the same user's new connection takes its id over", async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const annaToken = await ctx.app.token({ sub: 'anna', admin: true });
    const observer = await connect(ctx, docName, ctx.app.adminToken);
    const anna = await connect(ctx, docName, annaToken);
    anna.ws.send(awarenessMessage([[777, 1, '{"user":"anna"}']]));
    await waitFor(() => awarenessSeen(observer).get(777) === '{"user":"anna"}');

    const mallory = await connect(ctx, docName, await ctx.app.token({ sub: 'mallory', admin: true }));
    mallory.ws.send(awarenessMessage([[777, 5, '{"user":"mallory"}']]));
    assert.is((await mallory.closed).code, 1008);

    // Anna reconnecting (a new tab or a socket the server has not seen die yet) keeps her id.
    const annaAgain = await connect(ctx, docName, annaToken);
    annaAgain.ws.send(awarenessMessage([[777, 1, '{"user":"anna, again"}']]));
    await waitFor(() => awarenessSeen(observer).get(777) === '{"user":"anna, again"}');
    assert.ok(await alive(annaAgain));
  });

  test('a connection owns one awareness client id: states for others it sends later are dropped, not forwarded', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const observer = await connect(ctx, docName, ctx.app.adminToken);
    const owner = await connect(ctx, docName, await ctx.app.token({ sub: 'olga', admin: true }));
    owner.ws.send(awarenessMessage([[601, 1, '{"user":"olga"}']]));
    await waitFor(() => awarenessSeen(observer).has(601));
    const s = await connect(ctx, docName, await ctx.app.token({ sub: 'sam', admin: true }));
    // Its own id first, then a second id and an echo of Olga's: both dropped silently (stock
    // clients echo remote states), so the socket stays open.
    s.ws.send(awarenessMessage([[602, 1, '{"user":"sam"}'], [603, 1, '{"user":"sam-2"}'], [601, 9, '{"user":"not olga"}']]));
    await waitFor(() => awarenessSeen(observer).has(602));
    assert.ok(await alive(s));
    assert.ok(await alive(observer));
    const seen = awarenessSeen(observer);
    assert.not.ok(seen.has(603), 'a second client id is never forwarded');
    assert.is(seen.get(601), '{"user":"olga"}', "Olga's state is untouched");
  });

  test.run();
}

// ---- rate ------------------------------------------------------------------------------------

{
  const test = limitSuite('limits: message rate', { messagesPerSecond: 1, messageBurst: 5 });

  test('messageBurst messages at once are answered; one more closes with 1008', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const s = await connect(ctx, docName, ctx.app.adminToken);
    for (let i = 0; i < 5; i++) s.ws.send(probeMessage());
    await waitFor(() => s.messages.filter((m) => m[0] === 0 && m[1] === 1).length === 5 || s.isClosed(), {
      message: 'five probes answered',
    });
    assert.not.ok(s.isClosed(), 'the burst is allowed');
    s.ws.send(probeMessage());
    const { code, reason } = await s.closed;
    assert.is(code, 1008);
    assert.match(reason, /rate/);
  });

  test('the bucket refills at messagesPerSecond', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const s = await connect(ctx, docName, ctx.app.adminToken);
    for (let i = 0; i < 5; i++) s.ws.send(probeMessage());
    await waitFor(() => s.messages.filter((m) => m[0] === 0 && m[1] === 1).length === 5);
    const emptied = Date.now();
    // Poll the clock, not the socket: one token is back after a second.
    await waitFor(() => Date.now() - emptied >= 1100, { timeoutMs: 3000 });
    assert.ok(await alive(s), 'a refilled token lets one message through');
  });

  test.run();
}

// ---- connections -----------------------------------------------------------------------------

{
  const test = limitSuite('limits: connections', { maxConnectionsPerDocument: 2, maxConnectionsPerUser: 3 });

  test('maxConnectionsPerDocument sockets open on one document; one more closes with 1013 before reading anything', async (ctx) => {
    const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const a = await connect(ctx, docName, await ctx.app.token({ sub: 'a', admin: true }));
    const b = await connect(ctx, docName, await ctx.app.token({ sub: 'b', admin: true }));
    assert.ok(await alive(a));
    assert.ok(await alive(b));
    const c = openSocket(ctx.app.url, docName, { token: await ctx.app.token({ sub: 'c', admin: true }) });
    ctx.sockets.push(c);
    assert.is((await c.closed).code, 1013);
    assert.is(c.messages.length, 0);
    // A place frees up when one leaves.
    a.ws.close();
    await a.closed;
    await waitFor(() => ctx.app.server.registry.get(docName)?.peers.size === 1);
    const d = await connect(ctx, docName, await ctx.app.token({ sub: 'd', admin: true }));
    assert.ok(await alive(d));
  });

  test('maxConnectionsPerUser sockets of one user open across documents; one more closes with 1013; other users are unaffected', async (ctx) => {
    const token = await ctx.app.token({ sub: 'busy', admin: true });
    const docs = await Promise.all([0, 1, 2, 3].map(() => newSessionDoc(ctx.app.url, ctx.app.adminToken)));
    const open: RecordedSocket[] = [];
    for (const { docName } of docs.slice(0, 3)) open.push(await connect(ctx, docName, token));
    for (const s of open) assert.ok(await alive(s));
    const fourth = openSocket(ctx.app.url, docs[3]!.docName, { token });
    ctx.sockets.push(fourth);
    assert.is((await fourth.closed).code, 1013);
    const other = await connect(ctx, docs[3]!.docName, await ctx.app.token({ sub: 'idle', admin: true }));
    assert.ok(await alive(other));
    // Closing one gives the user a place back.
    open[0]!.ws.close();
    await open[0]!.closed;
    await waitFor(() => ctx.app.server.registry.get(docs[0]!.docName)?.peers.size === 0 || !ctx.app.server.registry.get(docs[0]!.docName));
    const again = await connect(ctx, docs[3]!.docName, token);
    assert.ok(await alive(again));
  });

  test('sockets of one user opened all at once cannot overshoot maxConnectionsPerUser', async (ctx) => {
    const token = await ctx.app.token({ sub: 'stampede', admin: true });
    const docs = [];
    for (let i = 0; i < 3; i++) docs.push((await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName);
    // Six sockets, two per document, all racing through auth and load together.
    const sockets = docs.flatMap((docName) => [0, 1].map(() => openSocket(ctx.app.url, docName, { token })));
    ctx.sockets.push(...sockets);
    const outcomes = await Promise.all(
      sockets.map(async (s) => {
        await s.opened; // refused sockets open too, then close at once
        return (await alive(s)) ? 'open' : `closed ${(await s.closed).code}`;
      }),
    );
    assert.is(outcomes.filter((o) => o === 'open').length, 3, outcomes.join(', '));
    assert.ok(outcomes.filter((o) => o !== 'open').every((o) => o === 'closed 1013'), outcomes.join(', '));
  });

  test.run();
}

// ---- documents in memory ---------------------------------------------------------------------

{
  const test = limitSuite('limits: documents in memory', { maxDocuments: 2, idleUnloadMs: 600_000 });

  test('maxDocuments documents load; one more is refused with 1013 (and 429 over REST) until one is idle, which is unloaded first', async (ctx) => {
    const registry = ctx.app.server.registry;
    // Creating three sessions loads three documents in turn: idle ones make room for the next.
    // (Created one after the other: three creations at once hold three documents at once.)
    const s1 = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const s2 = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    const s3 = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
    assert.ok(registry.size <= 2);
    const a = await connect(ctx, s1.docName, ctx.app.adminToken);
    const b = await connect(ctx, s2.docName, ctx.app.adminToken);
    assert.ok(await alive(a));
    assert.ok(await alive(b));
    assert.is(registry.size, 2, 'at the limit');

    const c = openSocket(ctx.app.url, s3.docName, { token: ctx.app.adminToken });
    ctx.sockets.push(c);
    assert.is((await c.closed).code, 1013);
    const rest = await jsonClient(ctx.app.url, ctx.app.adminToken).get(`/api/sessions/${s3.sessionId}/annotations`);
    assert.is(rest.status, 429);
    assert.ok(rest.headers.get('retry-after'), 'Retry-After is set');

    a.ws.close();
    await a.closed;
    await waitFor(() => registry.inUse(s1.docName) === false);
    const d = await connect(ctx, s3.docName, ctx.app.adminToken);
    assert.ok(await alive(d), 'the idle document made room');
    assert.is(registry.get(s1.docName), undefined, 'the idle document was unloaded');
    assert.ok(registry.get(s2.docName), 'the document in use stays');
    assert.is(registry.size, 2);
  });

  test.run();
}
