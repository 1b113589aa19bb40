/**
 * Durable acknowledgements (`?acks=1`, docs-model/durable-acks.ts): "saved" must mean stored.
 *
 * A tracker attached to an open connection had not seen the initial sync's step 2, so the ack for
 * that step 2 was credited to the next edit: "saved" while the edit was still only in memory (a
 * CI-like run lost it to a SIGKILL, test/server/restart.test.ts, which is the end-to-end check). The
 * tracker now tells the server to count from here, and waits for the server's count-0 answer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import { trackDurableAcks } from '../../docs-model/durable-acks.ts';
import { rawSocket } from '../../tools/clients.ts';
import { createTestStorage, startTestServer, type TestServer, type TestStorage } from '../../tools/server.ts';
import { waitFor } from '../../tools/databases.ts';
import { newSessionDoc } from '../../tools/api.ts';
import { MessageType, SyncMessageType } from '../../docs-model/protocol.ts';

const ACK = MessageType.durableAck;

function updateMessageOf(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, SyncMessageType.update);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** A raw update message carrying one new map entry. */
function updateMessage(doc: Y.Doc, key: string): Uint8Array {
  let update: Uint8Array | null = null;
  const grab = (u: Uint8Array) => (update = u);
  doc.on('update', grab);
  doc.getMap('scratch').set(key, key);
  doc.off('update', grab);
  return updateMessageOf(update!);
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

{
  // The tracker alone, on a stand-in for the provider (the parts of WebsocketProvider it uses):
  // which acks it credits is decided by message order, which this drives one message at a time.
  const tracker = suite('durable acks: the tracker');

  tracker('attached to an open connection, it credits no ack until the server answered its reset', () => {
    const sent: Uint8Array[] = [];
    const doc = new Y.Doc();
    const provider = {
      doc,
      ws: { send: (data: Uint8Array | ArrayBuffer | string) => void sent.push(data as Uint8Array) },
      wsconnected: true,
      messageHandlers: [] as Array<(encoder: unknown, decoder: decoding.Decoder, provider: unknown, emitSynced: boolean, type: number) => void>,
      on: () => {},
      off: () => {},
    };
    const ack = (count: number) => {
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, count);
      provider.messageHandlers[ACK]!(null, decoding.createDecoder(encoding.toUint8Array(encoder)), provider, false, ACK);
    };
    // Like the provider, which sends each local update as one message before other listeners run.
    doc.on('update', (update: Uint8Array) => provider.ws.send(updateMessageOf(update)));
    const acks = trackDurableAcks(provider);
    assert.equal([...sent[0]!], [ACK, 0], 'it asks the server to count from here');
    doc.getMap('m').set('edit', 1);
    assert.is(acks.unsavedCount, 1);
    // The ack of the initial sync's step 2, sent before the server read the reset: not this edit's.
    ack(1);
    assert.is(acks.unsavedCount, 1, 'a stale ack marked the edit saved');
    ack(0); // the server's answer to the reset
    ack(1);
    assert.is(acks.unsavedCount, 0);
    acks.destroy();
    doc.destroy();
  });

  tracker.run();
}
