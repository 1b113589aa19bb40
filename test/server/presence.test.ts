/**
 * Presence (awareness) over real sockets with stock y-websocket clients: a returning client is seen
 * again at once, one back within the grace is never seen to leave, and the changes of one event-loop turn reach each peer as one message that never
 * holds the peer's own state (server/documents/presence-batch.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as encoding from 'lib0/encoding';
import type { TestClient } from '../../tools/clients.ts';
import { joinSynced, withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';
import { databaseKinds, waitFor } from '../../tools/databases.ts';
import { newSessionDoc } from '../../tools/api.ts';
import { openSocket } from '../helpers/security.ts';
import { awarenessUpdateOf, readAwarenessUpdate } from '../../docs-model/awareness.ts';

/** An awareness update (y-protocols' encoding) of one client's state. */
function awarenessUpdate(clientId: number, clock: number, state: unknown): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint(encoder, clientId);
  encoding.writeVarUint(encoder, clock);
  encoding.writeVarString(encoder, JSON.stringify(state));
  return encoding.toUint8Array(encoder);
}

const frameOf = (client: TestClient, clientId: number): number | undefined =>
  (client.provider.awareness.getStates().get(clientId) as { frame?: number } | undefined)?.frame;

for (const kind of databaseKinds()) {
  const test = suite<SocketSuiteContext>(`presence (${kind})`);

  withServerAndClients(test, kind);

  test('a client that reconnects is seen by the others again at once, not after its next renewal, and sees them', async (ctx) => {
    const name = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
    const a = await joinSynced(ctx, name);
    const b = await joinSynced(ctx, name);
    a.provider.awareness.setLocalStateField('frame', 7);
    b.provider.awareness.setLocalStateField('frame', 9);
    await waitFor(() => frameOf(b, a.doc.clientID) === 7 && frameOf(a, b.doc.clientID) === 9);
    a.provider.disconnect();
    await waitFor(() => !b.provider.awareness.getStates().has(a.doc.clientID), { message: 'gone while away' });
    assert.not.ok(a.provider.awareness.getStates().has(b.doc.clientID), 'a stock client forgets the others when its socket closes');
    a.provider.connect();
    // y-protocols renews a state every 15 s; the wait below gives up long before that.
    await waitFor(() => frameOf(b, a.doc.clientID) === 7, { timeoutMs: 5_000, message: 'back with its old clock' });
    await waitFor(() => frameOf(a, b.doc.clientID) === 9, { timeoutMs: 5_000, message: 'the others greet it' });
  });

  test('a client whose socket drops and comes back within the grace is never seen to leave; one that stays away is, once the grace ends', async (ctx) => {
    const name = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
    const [a, b, c, d] = [await joinSynced(ctx, name), await joinSynced(ctx, name), await joinSynced(ctx, name), await joinSynced(ctx, name)];
    [a, b, c, d].forEach((client, index) => client.provider.awareness.setLocalStateField('frame', index));
    await waitFor(() => [a, c, d].every((client, index) => frameOf(b, client.doc.clientID) === [0, 2, 3][index]) && frameOf(a, b.doc.clientID) === 1);
    const removedForB: number[] = [];
    b.provider.awareness.on('change', ({ removed }: Record<string, number[]>) => removedForB.push(...removed!));
    const live = ctx.app.server.registry.get(name)!;
    // One after the other, so that a's grace ends first: c's departure then follows any of a's.
    for (const [client, left] of [[a, 3], [c, 2]] as const) {
      // The socket closes without a word, as when the network drops (disconnect() would say it
      // leaves); the provider's own retry is held back so the test says when a comes back.
      client.provider.shouldConnect = false;
      client.provider.ws!.close();
      await waitFor(() => live.peers.size === left, { message: 'the server saw the socket close' });
    }
    // Presence reaches b in order: once b has d's change, made after both left, a departure sent
    // at their leaving would have reached it too.
    d.provider.awareness.setLocalStateField('frame', 30);
    await waitFor(() => frameOf(b, d.doc.clientID) === 30);
    a.provider.connect();
    await waitFor(() => frameOf(a, b.doc.clientID) === 1, { message: 'the others greet the returning client' });
    // c's departure goes when its grace (PRESENCE_GRACE_MS, 1 s by default) ends.
    await waitFor(() => !b.provider.awareness.getStates().has(c.doc.clientID), { message: 'c, away, is seen to leave' });
    assert.equal(removedForB, [c.doc.clientID], 'a was never seen to leave');
    assert.is(frameOf(b, a.doc.clientID), 0);
  });

  test('a returning client that has not announced itself yet is greeted without the state its user left in a grace', async (ctx) => {
    const name = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
    const [a, b] = [await joinSynced(ctx, name), await joinSynced(ctx, name)];
    a.provider.awareness.setLocalStateField('frame', 1);
    b.provider.awareness.setLocalStateField('frame', 2);
    await waitFor(() => frameOf(b, a.doc.clientID) === 1 && frameOf(a, b.doc.clientID) === 2);
    a.provider.shouldConnect = false;
    a.provider.ws!.close();
    const live = ctx.app.server.registry.get(name)!;
    await waitFor(() => live.peers.size === 1, { message: 'the server saw the socket close' });
    // A's user again, on a socket that says nothing: it could be a's client coming back. Sent a's
    // state at the server's newer clock, y-protocols would take it for its own, over any change
    // made while away (applyAwarenessUpdate).
    const back = openSocket(ctx.app.url, name, { token: ctx.app.adminToken });
    try {
      await waitFor(() => back.messages.some((message) => message[0] === 1), { message: 'a greeting' });
      const greeted = back.messages
        .filter((message) => message[0] === 1)
        .flatMap((message) => [...readAwarenessUpdate(awarenessUpdateOf(message)!)].map((entry) => entry.clientId));
      assert.equal(greeted, [b.doc.clientID]);
    } finally {
      back.ws.close();
    }
  });

  test('a client that asks for presence (query-awareness) is sent every other state, at clocks it takes', async (ctx) => {
    const name = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
    const a = await joinSynced(ctx, name);
    const b = await joinSynced(ctx, name);
    b.provider.awareness.setLocalStateField('frame', 5);
    await waitFor(() => frameOf(a, b.doc.clientID) === 5);
    const heard: number[][] = [];
    a.provider.awareness.on('update', ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
      if (origin !== 'local') heard.push([...added!, ...updated!, ...removed!]);
    });
    a.provider.ws!.send(new Uint8Array([3])); // y-websocket's messageQueryAwareness
    await waitFor(() => heard.length > 0, { timeoutMs: 5_000, message: 'an answer y-protocols applies' });
    assert.equal(heard, [[b.doc.clientID]], "b's state, not a's own");
  });

  test("presence changed by several peers in one turn reaches each peer as one message, without the peer's own state", async (ctx) => {
    const name = (await newSessionDoc(ctx.app.url, ctx.app.adminToken)).docName;
    const [a, b, c] = [await joinSynced(ctx, name), await joinSynced(ctx, name), await joinSynced(ctx, name)];
    const ids = [a, b, c].map((client) => client.doc.clientID);
    await waitFor(() => [a, b, c].every((client) => ids.every((id) => client.provider.awareness.getStates().has(id))));

    const live = ctx.app.server.registry.get(name)!;
    const peerOf = (clientId: number) => [...live.peers].find((peer) => live.awareness.clientIdOf(peer) === clientId)!;
    const heard = new Map<TestClient, number[][]>([a, b, c].map((client) => [client, []]));
    for (const [client, events] of heard) {
      client.provider.awareness.on('update', ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
        if (origin !== 'local') events.push([...added!, ...updated!, ...removed!]);
      });
    }
    // Both changes in one synchronous stretch: one turn of the server's event loop.
    for (const [index, client] of [a, b].entries()) {
      const clock = client.provider.awareness.meta.get(client.doc.clientID)!.clock + 1;
      live.applyAwareness(peerOf(client.doc.clientID), awarenessUpdate(client.doc.clientID, clock, { frame: 100 + index }));
    }
    await waitFor(() => frameOf(c, ids[0]!) === 100 && frameOf(c, ids[1]!) === 101 && frameOf(a, ids[1]!) === 101 && frameOf(b, ids[0]!) === 100);

    assert.equal(heard.get(c), [[ids[0], ids[1]]], 'the third peer heard both in one message');
    assert.equal(heard.get(a), [[ids[1]]], "the first heard the second's, never its own");
    assert.equal(heard.get(b), [[ids[0]]]);
  });

  test.run();
}
