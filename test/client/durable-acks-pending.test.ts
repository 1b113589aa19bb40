/**
 * The durable-acks tracker keeps the updates of the edits the server has not acknowledged (for a
 * page to keep or to warn about), takes them back after a reload (`restore`), and does not count
 * content replayed from a local store as new edits. Driven message by message on a stand-in for
 * the provider (the parts of WebsocketProvider the tracker uses); the browser tests run the same
 * through y-indexeddb and a real server.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { DURABLE_ACK_MESSAGE_TYPE as ACK, trackDurableAcks } from '../../docs-model/durable-acks.ts';

type Handler = (encoder: unknown, decoder: decoding.Decoder, provider: unknown, emitSynced: boolean, type: number) => void;

/** A provider stand-in: a socket that records what is sent, status events, and the ack handler slot. */
function standIn(doc: Y.Doc, connected: boolean) {
  const sent: Uint8Array[] = [];
  const statusHandlers = new Set<(event: { status: string }) => void>();
  const provider = {
    doc,
    ws: connected ? { send: (data: Uint8Array | ArrayBuffer | string) => void sent.push(data as Uint8Array) } : null,
    wsconnected: connected,
    messageHandlers: [] as Handler[],
    on: (_event: 'status', handler: (event: { status: string }) => void) => void statusHandlers.add(handler),
    off: (_event: 'status', handler: (event: { status: string }) => void) => void statusHandlers.delete(handler),
  };
  return {
    provider,
    sent,
    ack(count: number) {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, count);
      provider.messageHandlers[ACK]!(null, decoding.createDecoder(encoding.toUint8Array(encoder)), provider, false, ACK);
    },
    /** Opens a socket as the provider does: status 'connected', then the client's step 2. */
    connect(step2: Uint8Array) {
      provider.ws = { send: (data) => void sent.push(data as Uint8Array) };
      provider.wsconnected = true;
      for (const handler of statusHandlers) handler({ status: 'connected' });
      provider.ws.send(new Uint8Array([0, 1, ...step2]));
    },
  };
}

const updateMessage = (update: Uint8Array) => new Uint8Array([0, 2, ...update]);

const test = suite('durable acks: pending updates');

test('keeps the update of every unacknowledged edit, oldest first, and drops them as acks come', () => {
  const doc = new Y.Doc();
  const s = standIn(doc, true);
  doc.on('update', (update: Uint8Array) => s.provider.ws!.send(updateMessage(update)));
  const acks = trackDurableAcks(s.provider);
  s.ack(0);
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  for (const key of ['a', 'b', 'c']) doc.getMap('m').set(key, 1);
  assert.is(acks.unsavedCount, 3);
  assert.equal(acks.pendingUpdates(), updates);
  s.ack(2);
  assert.equal(acks.pendingUpdates(), [updates[2]], 'the two oldest are stored');
  s.ack(3);
  assert.equal(acks.pendingUpdates(), []);
  acks.destroy();
});

test('restored edits count as unsaved until the step 2 that carries them is acknowledged', () => {
  const before = new Y.Doc();
  const kept: Uint8Array[] = [];
  before.on('update', (update: Uint8Array) => kept.push(update));
  before.getMap('m').set('x', 1);
  before.getMap('m').set('y', 2);

  // The reloaded page: content replayed from the local store (its own origin), then the kept list.
  const doc = new Y.Doc();
  const store = { name: 'local store' };
  const s = standIn(doc, false);
  const acks = trackDurableAcks(s.provider, { isLocal: (origin) => origin !== store });
  const changes: number[] = [];
  acks.on('change', (n) => changes.push(n));
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(before), store);
  assert.is(acks.unsavedCount, 0, 'replayed content is not a new edit');
  acks.restore(kept);
  assert.is(acks.unsavedCount, 2);
  assert.equal(acks.pendingUpdates(), kept);
  doc.getMap('m').set('z', 3); // an edit while still offline
  assert.is(acks.unsavedCount, 3);

  s.connect(Y.encodeStateAsUpdate(doc));
  assert.equal([...s.sent[0]!], [ACK, 0], 'count from here, first');
  s.ack(0);
  s.ack(1);
  assert.is(acks.unsavedCount, 0, 'the step 2 carried the restored edits and the offline one');
  assert.equal(changes, [2, 3, 0]);
  acks.destroy();
});

test.run();
