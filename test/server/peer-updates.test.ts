/**
 * A peer's sync `update` message is stored and sent on as the bytes it arrived in, not as Yjs's
 * second encoding of the same change (LiveDocument.applyPeerUpdate; several of one read go on
 * merged, update-batch.ts); what changes nothing goes nowhere, and what waits for a missing
 * dependency goes nowhere until it integrates. Raw sockets against the real server: each test
 * sends exactly the bytes it checks for.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import { newSessionDoc } from '../../tools/api.ts';
import { waitFor } from '../../tools/databases.ts';
import { startTestServer } from '../../tools/server.ts';
import { withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';
import { openSocket, syncMessage, type RecordedSocket } from '../helpers/security.ts';
import { updatesIn, updatesOf } from '../helpers/map-updates.ts';
import { parseDocName } from '../../docs-model/protocol.ts';

const test = suite<SocketSuiteContext>('peer updates');
withServerAndClients(test, 'pglite');

/** The payloads of the sync `update` messages a socket received, in order. */
const updatesSeen = (s: RecordedSocket): Uint8Array[] => updatesIn(s.messages);

async function pair(ctx: SocketSuiteContext): Promise<{ docName: string; sender: RecordedSocket; observer: RecordedSocket; close(): void }> {
  const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
  const sender = openSocket(ctx.app.url, docName, { token: ctx.app.adminToken });
  const observer = openSocket(ctx.app.url, docName, { token: ctx.app.adminToken });
  await Promise.all([sender.opened, observer.opened]);
  return { docName, sender, observer, close: () => [sender, observer].forEach((s) => s.ws.terminate()) };
}

test('a peer update reaches the others as the bytes it was sent in, and is still there after a restart', async (ctx) => {
  const { docName, sender, observer, close } = await pair(ctx);
  const [update] = updatesOf(901, ['a']);
  sender.ws.send(syncMessage(2, update!));
  await waitFor(() => updatesSeen(observer).length === 1, { message: 'the update reaches the observer' });
  assert.equal(updatesSeen(observer)[0], update);
  close();
  await ctx.app.stop();
  ctx.app = await startTestServer(ctx.storage);
  const value = await ctx.app.server.registry.read(parseDocName(docName)!, (ydoc) => ydoc.getMap('m').get('a'));
  assert.is(value, 'A');
});

test('an update sent twice reaches the others once', async (ctx) => {
  const { sender, observer, close } = await pair(ctx);
  const [first, second] = updatesOf(902, ['a', 'b']);
  sender.ws.send(syncMessage(2, first!));
  sender.ws.send(syncMessage(2, first!));
  sender.ws.send(syncMessage(2, second!));
  // The server handles one socket's messages in order; those of one read go on merged as one
  // (update-batch.ts), so what the observer gets is counted in changes, not messages.
  const replica = new Y.Doc();
  await waitFor(() => {
    for (const update of updatesSeen(observer)) Y.applyUpdate(replica, update);
    return replica.getMap('m').get('b') === 'B';
  }, { message: 'the last update arrives' });
  const changes = updatesSeen(observer).reduce((n, update) => n + Y.decodeUpdate(update).structs.length, 0);
  assert.is(changes, 2, 'each change once');
  close();
});

test('an update waiting for a missing dependency reaches nobody until the dependency comes, then both do', async (ctx) => {
  const { docName, sender, observer, close } = await pair(ctx);
  const [first, second] = updatesOf(903, ['a', 'b']);
  const [other] = updatesOf(904, ['c']);
  sender.ws.send(syncMessage(2, second!));
  sender.ws.send(syncMessage(2, other!));
  await waitFor(() => updatesSeen(observer).length >= 1, { message: 'the independent update arrives' });
  assert.equal(updatesSeen(observer), [other], 'the waiting update was not sent on');
  sender.ws.send(syncMessage(2, first!));
  const replica = new Y.Doc();
  await waitFor(() => {
    for (const update of updatesSeen(observer)) Y.applyUpdate(replica, update);
    return replica.getMap('m').get('b') === 'B';
  }, { message: 'the observer gets both once the first arrives' });
  assert.equal(replica.getMap('m').toJSON(), { a: 'A', b: 'B', c: 'C' });
  const stored = await ctx.app.server.registry.read(parseDocName(docName)!, (ydoc) => ydoc.getMap('m').toJSON());
  assert.equal(stored, { a: 'A', b: 'B', c: 'C' });
  close();
});

test.run();
