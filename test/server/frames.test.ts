import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ws from 'ws';

/** ws exports its Sender at runtime (wrapper.mjs); @types/ws does not declare it. */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
import { binaryFrame } from '../../server/documents/frames.ts';

test('a prebuilt frame is byte for byte what ws would send, at every header size boundary', () => {
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const payload = new Uint8Array(length).map((_, i) => i % 251);
    const expected = Buffer.concat(
      Sender.frame(Buffer.from(payload), { fin: true, opcode: 2, mask: false, rsv1: false, readOnly: false }),
    );
    assert.equal(binaryFrame(payload), expected, `length ${length}`);
  }
});

test.run();
