import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ws from 'ws';

/** ws exports its Sender at runtime (wrapper.mjs); @types/ws does not declare it. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
import { binaryFrame, binaryFrames } from '../../server/documents/frames.ts';

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

test.run();
