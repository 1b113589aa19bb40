import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ws from 'ws';

/** ws exports its Sender at runtime (wrapper.mjs); @types/ws does not declare it. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
import { once } from 'node:events';
import { binaryFrame, binaryFrames, writeFrameOfIfIdle } from '../../server/documents/frames.ts';
import { encodeSyncMessage, syncUpdateFrame } from '../../server/documents/sync-messages.ts';
import * as encoding from 'lib0/encoding';
import { MessageType, SyncMessageType } from '../../docs-model/protocol.ts';

test('a prebuilt frame is byte for byte what ws would send, at every header size boundary', () => {
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const payload = new Uint8Array(length).map((_, i) => i % 251);
    const expected = Buffer.concat(
      Sender.frame(Buffer.from(payload), { fin: true, opcode: 2, mask: false, rsv1: false, readOnly: false }),
    );
    assert.equal(binaryFrame(payload), expected, `length ${length}`);
  }
});

test('several frames in one buffer are the frames one after the other', () => {
  const payloads = [0, 1, 125, 126, 65535, 65536].map((length) => new Uint8Array(length).map((_, i) => (i + length) % 251));
  assert.equal(binaryFrames(payloads), Buffer.concat(payloads.map(binaryFrame)));
  assert.equal(binaryFrames([]), Buffer.alloc(0));
});

test('a sync message is byte for byte what lib0 encodes (y-protocols\' own framing), at every varUint length boundary', () => {
  for (const type of [SyncMessageType.step1, SyncMessageType.step2, SyncMessageType.update]) {
    for (const length of [0, 1, 127, 128, 16383, 16384, 2_097_151, 2_097_152]) {
      const payload = new Uint8Array(length).map((_, i) => (i * 7 + type) % 253);
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MessageType.sync);
      encoding.writeVarUint(encoder, type);
      encoding.writeVarUint8Array(encoder, payload);
      assert.ok(Buffer.from(encodeSyncMessage(type, payload)).equals(Buffer.from(encoding.toUint8Array(encoder))), `type ${type}, length ${length}`);
    }
  }
});

test('a broadcast update framed in one go is the sync message encodeSyncMessage makes, in the frame binaryFrame makes', () => {
  // varUint length boundaries (1, 2, 3 bytes) and the frame header's (125/126, 65535/65536)
  for (const length of [0, 1, 120, 123, 124, 127, 128, 16383, 16384, 65530, 65536, 300_000]) {
    const update = new Uint8Array(length).map((_, i) => (i * 13 + length) % 251);
    const message = encodeSyncMessage(SyncMessageType.update, update);
    const { frame, payload } = syncUpdateFrame(update);
    assert.equal(new Uint8Array(payload), message, `payload, length ${length}`);
    assert.equal(frame, binaryFrame(message), `frame, length ${length}`);
  }
});

test('a frame written as head and body arrives at a real ws client as the one message head + body, at every header size boundary', async () => {
  const server = new ws.WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const client = new ws.WebSocket(`ws://127.0.0.1:${port}`);
  const [socket] = (await once(server, 'connection')) as [ws.WebSocket];
  await once(client, 'open');
  try {
    for (const length of [0, 1, 120, 125, 126, 65530, 65535, 65536, 2_000_000]) {
      const head = [0, 1, length & 0x7f];
      const body = new Uint8Array(length).map((_, i) => (i * 11 + length) % 251);
      const received = once(client, 'message');
      let told!: () => void;
      const written = new Promise<void>((resolve) => (told = resolve));
      assert.ok(writeFrameOfIfIdle(socket, head, body, () => told()), `written at once, length ${length}`);
      const [data] = (await received) as [Buffer];
      assert.equal(new Uint8Array(data), new Uint8Array(Buffer.concat([Uint8Array.from(head), body])), `length ${length}`);
      await written; // and told so (a callback never made would time the test out)
    }
    socket.terminate();
    await once(client, 'close');
    assert.not.ok(writeFrameOfIfIdle(socket, [0], new Uint8Array(1), () => undefined), 'a closed socket is not written to');
  } finally {
    client.terminate();
    server.close();
  }
});

test.run();
