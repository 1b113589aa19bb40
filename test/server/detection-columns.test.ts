/**
 * Detections as columns (server/services/detection-columns.ts): packed and unpacked they are the
 * same detections, in one piece (in a thread) or in slices on the event loop, which keeps turning.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import { packDetections, packDetectionsInSlices, unpackDetections, unpackDetectionsInSlices } from '../../server/services/detection-columns.ts';
import { countLoopTurns } from '../../tools/loop-turns.ts';

const test = suite('detection columns');

const detections = (count: number): DetectionRecord[] =>
  Array.from({ length: count }, (_, k) => ({
    frame: k % 997,
    bbox: [k * 0.1, (k % 480) + 0.25, 10.5 + (k % 7), 1 / 3],
    label: ['car', 'person', 'bike'][k % 3]!,
    score: (k % 100) / 100,
    detectionId: k % 4 ? `d${k}` : null,
    trackId: k % 5 ? null : `t${k % 50}`,
  }));

test('packed and unpacked, in one piece or in slices, they are the same detections', async () => {
  const found = detections(5000);
  assert.equal(unpackDetections(packDetections(found)), found);
  assert.equal(await unpackDetectionsInSlices(await packDetectionsInSlices(found)), found);
  assert.equal(await packDetectionsInSlices(found), packDetections(found));
  assert.equal(await packDetectionsInSlices([]), packDetections([]));
});

test('in slices, the event loop turns while 300 000 detections are packed and unpacked', async () => {
  const found = detections(300_000);
  const loop = countLoopTurns();
  const packed = await packDetectionsInSlices(found);
  const packing = loop.turns();
  const back = await unpackDetectionsInSlices(packed);
  loop.stop();
  assert.is(back.length, found.length);
  assert.ok(packing > 1, `the loop turned ${packing} times while 300 000 were packed`);
  assert.ok(loop.turns() > packing + 1, `the loop turned ${loop.turns() - packing} times while they were unpacked`);
});

test.run();
