import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { frameFromName, frameName, mapFrames } from '../../docs-model/formats/frames.ts';
import { emptyLoss, lossSummary } from '../../docs-model/formats/loss.ts';

const frames = suite('frame names and mapping');

frames('names are 0-based with six digits, wider when needed, and parse back', () => {
  assert.is(frameName(0), 'frame_000000');
  assert.is(frameName(123), 'frame_000123');
  assert.is(frameName(1234567), 'frame_1234567');
  assert.is(frameName(5, 'vid/'), 'vid/frame_000005');
  assert.is(frameFromName('a/b/frame_000123.jpg'), 123);
  assert.is(frameFromName('video2_00042.PNG'), 42);
  assert.is(frameFromName('cover.jpg'), null);
});

frames('frame_id first, then numbers in every name, then name order; the rule is returned', () => {
  assert.equal(mapFrames([{ key: 'a', name: 'x', frameId: 7 }]), { rule: 'frame_id', frames: new Map([['a', 7]]) });
  assert.equal(mapFrames([{ key: 'a', name: 'img_3.jpg' }, { key: 'b', name: 'img_10.jpg', frameId: 2 }]).rule, 'file_name_number');
  const order = mapFrames([{ key: 'a', name: 'img10.jpg' }, { key: 'b', name: 'img9.jpg' }, { key: 'c', name: 'cover.jpg' }]);
  assert.is(order.rule, 'name_order');
  assert.equal([...order.frames.entries()].sort(), [['a', 2], ['b', 1], ['c', 0]]);
  assert.is(mapFrames([{ key: 'a', name: 'x_1.jpg' }, { key: 'b', name: 'y_1.jpg' }]).rule, 'name_order'); // shared numbers are not frames
});

frames('the loss summary is one header-safe line', () => {
  const loss = emptyLoss('yolo');
  assert.is(lossSummary(loss), 'none');
  Object.assign(loss, { tracksFlattened: 3, boxesClipped: 1, roundingBoundPx: 0.00064, metaDropped: true });
  assert.is(lossSummary(loss), 'tracks-flattened=3; boxes-clipped=1; rounding<=0.00064px; meta-dropped');
});

frames.run();
