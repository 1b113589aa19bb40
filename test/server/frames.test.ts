import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ws from 'ws';

/** ws exports its Sender at runtime (wrapper.mjs); @types/ws does not declare it. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
import { binaryFrame, binaryFrames } from '../../server/documents/frames.ts';
import { encodeSyncMessage, syncUpdateFrame } from '../../server/documents/live-document.ts';
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

test.run();
