/**
 * A document's updates of one event-loop turn go to each peer as one sync message
 * (server/documents/update-batch.ts): merged when they came from one peer, each as it came when
 * they came from several or are large. Raw sockets against the real server for the first; the
 * batch's own rules with peers that record what they are sent.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import type { Socket } from 'node:net';
import { newSessionDoc } from '../../tools/api.ts';
import { waitFor } from '../../tools/databases.ts';
import { withServerAndClients, type SocketSuiteContext } from '../../tools/socket-suite.ts';
import { openSocket, syncMessage, type RecordedSocket } from '../helpers/security.ts';
import { updatesIn, updatesOf } from '../helpers/map-updates.ts';
import { UpdateBatch } from '../../server/documents/update-batch.ts';
import type { ConnectionOrigin } from '../../server/documents/origins.ts';

const mapOf = (updates: readonly Uint8Array[]): unknown => {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc.getMap('m').toJSON();
};

const sockets = suite<SocketSuiteContext>('update batch over sockets');
withServerAndClients(sockets, 'pglite');

sockets('a peer\'s updates that arrive in one read reach every other peer as one message holding them all', async (ctx) => {
  const { docName } = await newSessionDoc(ctx.app.url, ctx.app.adminToken);
  const open = (): RecordedSocket => openSocket(ctx.app.url, docName, { token: ctx.app.adminToken });
  const [sender, first, second] = [open(), open(), open()];
  try {
    await Promise.all([sender.opened, first.opened, second.opened]);
    const updates = updatesOf(905, ['a', 'b', 'c', 'd']);
    // Corked, the four messages leave in one write and the server reads them in one chunk.
    const socket = (sender.ws as unknown as { _socket: Socket })._socket;
    socket.cork();
    for (const update of updates) sender.ws.send(syncMessage(2, update));
    socket.uncork();
    for (const observer of [first, second]) {
      await waitFor(() => (mapOf(updatesIn(observer.messages)) as Record<string, unknown>).d === 'D', { message: 'the last update arrives' });
      const seen = updatesIn(observer.messages);
      assert.is(seen.length, 1, 'one message');
      assert.equal(mapOf(seen), { a: 'A', b: 'B', c: 'C', d: 'D' });
    }
    assert.is(updatesIn(sender.messages).length, 0, 'the sender gets nothing back');
  } finally {
    for (const s of [sender, first, second]) s.ws.terminate();
  }
});

sockets.run();

/** A peer of the batch's broadcast: records what it is sent, and from whom it is excluded. */
interface Sent {
  payload: Uint8Array;
  except: ConnectionOrigin | undefined;
}

function recordingBatch(): { batch: UpdateBatch; sent: Sent[] } {
  const sent: Sent[] = [];
  return { batch: new UpdateBatch((payload, except) => sent.push({ payload, except })), sent };
}

const origin = (id: number): ConnectionOrigin => ({ kind: 'connection', id });
const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

const rules = suite('update batch rules');

rules('a turn\'s single update goes as it came, at the end of the turn', async () => {
  const { batch, sent } = recordingBatch();
  const [update] = updatesOf(906, ['a']);
  const from = origin(1);
  batch.add(update!, from);
  assert.is(sent.length, 0, 'nothing before the turn ends');
  await nextTick();
  assert.is(sent.length, 1);
  assert.equal(updatesIn([sent[0]!.payload]), [update]);
  assert.is(sent[0]!.except, from);
});

rules('updates of one origin in one turn go as one merged update, sent to all but that origin', async () => {
  const { batch, sent } = recordingBatch();
  const from = origin(1);
  for (const update of updatesOf(907, ['a', 'b', 'c'])) batch.add(update, from);
  await nextTick();
  assert.is(sent.length, 1);
  assert.is(sent[0]!.except, from);
  assert.equal(mapOf(updatesIn([sent[0]!.payload])), { a: 'A', b: 'B', c: 'C' });
});

rules('updates of several origins in one turn go each as it came, each excluding its own origin, in order', async () => {
  const { batch, sent } = recordingBatch();
  const [a, b] = [origin(1), origin(2)];
  const [fromA] = updatesOf(908, ['a']);
  const [fromB] = updatesOf(909, ['b']);
  const [fromServer] = updatesOf(910, ['c']);
  batch.add(fromA!, a);
  batch.add(fromB!, b);
  batch.add(fromServer!, undefined);
  await nextTick();
  assert.equal(sent.map((s) => s.except), [a, b, undefined]);
  assert.equal(sent.map((s) => updatesIn([s.payload])[0]), [fromA, fromB, fromServer]);
});

rules('large updates of one origin go as they came, not merged', async () => {
  const { batch, sent } = recordingBatch();
  const from = origin(1);
  const updates = updatesOf(911, ['a', 'b'], () => 'x'.repeat(40_000));
  for (const update of updates) batch.add(update, from);
  await nextTick();
  assert.equal(sent.map((s) => updatesIn([s.payload])[0]), updates);
});

rules('flush sends at once, and the end of the turn then sends nothing more', async () => {
  const { batch, sent } = recordingBatch();
  for (const update of updatesOf(912, ['a', 'b'])) batch.add(update, undefined);
  batch.flush();
  assert.is(sent.length, 1);
  await nextTick();
  assert.is(sent.length, 1);
});

rules.run();
