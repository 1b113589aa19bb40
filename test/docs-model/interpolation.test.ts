import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { boxesAtFrame, expandTrack, type Annotation, type BBox } from '../../docs-model/index.ts';
import { keyframe, track } from './fixtures.ts';

const frames = (boxes: { frame: number }[]): number[] => boxes.map((b) => b.frame);
const bboxes = (boxes: { bbox: BBox }[]): BBox[] => boxes.map((b) => b.bbox);

const expand = suite('expandTrack');

expand('two keyframes: linear in x, y, w, h between them, ending at the last without frameCount', () => {
  const boxes = expandTrack(track(), [keyframe(4, [40, 20, 30, 10]), keyframe(0, [0, 0, 10, 10])]);
  assert.equal(bboxes(boxes), [
    [0, 0, 10, 10],
    [10, 5, 15, 10],
    [20, 10, 20, 10],
    [30, 15, 25, 10],
    [40, 20, 30, 10],
  ]);
  assert.equal(boxes.map((b) => b.keyframe), [true, false, false, false, true]);
  assert.equal(boxes.map((b) => b.annotationId), ['k0', null, null, null, 'k4']);
  assert.ok(boxes.every((b) => b.trackId === 't1'));
});

expand('with frameCount, the last visible keyframe holds to the end of the video', () => {
  const boxes = expandTrack(track(), [keyframe(0, [0, 0, 10, 10]), keyframe(4, [40, 20, 30, 10])], { frameCount: 7 });
  assert.equal(frames(boxes), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(boxes[5], { ...boxes[4]!, frame: 5, keyframe: false, annotationId: null });
  assert.equal(boxes[6]?.bbox, [40, 20, 30, 10]);
});

expand('no boxes from an outside keyframe until the next visible one; interpolated towards it before', () => {
  const kfs = [keyframe(0, [0, 0, 10, 10]), keyframe(2, [20, 0, 10, 10], { outside: true }), keyframe(5, [50, 0, 10, 10])];
  const boxes = expandTrack(track(), kfs, { frameCount: 7 });
  assert.equal(frames(boxes), [0, 1, 5, 6]);
  assert.equal(bboxes(boxes), [
    [0, 0, 10, 10],
    [10, 0, 10, 10],
    [50, 0, 10, 10],
    [50, 0, 10, 10],
  ]);
});

expand('a track whose last keyframe is outside ends there, even with frameCount', () => {
  const kfs = [keyframe(0, [0, 0, 10, 10]), keyframe(3, [30, 0, 10, 10], { outside: true })];
  assert.equal(frames(expandTrack(track(), kfs, { frameCount: 10 })), [0, 1, 2]);
  assert.equal(expandTrack(track(), [keyframe(2, [0, 0, 1, 1], { outside: true })], { frameCount: 10 }), []);
});

expand("interpolation 'none' holds the previous keyframe's box", () => {
  const boxes = expandTrack(track({ interpolation: 'none' }), [keyframe(0, [0, 0, 10, 10]), keyframe(3, [30, 0, 20, 10])]);
  assert.equal(bboxes(boxes), [
    [0, 0, 10, 10],
    [0, 0, 10, 10],
    [0, 0, 10, 10],
    [30, 0, 20, 10],
  ]);
});

expand('fromFrame/toFrame return only the window, inclusive', () => {
  const kfs = [keyframe(0, [0, 0, 10, 10]), keyframe(4, [40, 20, 30, 10])];
  const boxes = expandTrack(track(), kfs, { fromFrame: 2, toFrame: 5, frameCount: 7 });
  assert.equal(frames(boxes), [2, 3, 4, 5]);
  assert.equal(boxes[0]?.bbox, [20, 10, 20, 10]);
  assert.equal(expandTrack(track(), kfs, { fromFrame: 8, frameCount: 7 }), []);
  assert.equal(frames(expandTrack(track(), kfs, { toFrame: 1 })), [0, 1]);
});

expand('a single keyframe: one box without frameCount, to the end with it', () => {
  assert.equal(frames(expandTrack(track(), [keyframe(3, [1, 1, 2, 2])])), [3]);
  assert.equal(frames(expandTrack(track(), [keyframe(3, [1, 1, 2, 2])], { frameCount: 6 })), [3, 4, 5]);
  assert.equal(expandTrack(track(), [keyframe(8, [1, 1, 2, 2])], { frameCount: 6 }), [], 'past the video');
  assert.equal(expandTrack(track(), []), []);
});

expand("label from the track, occluded from the previous keyframe, attributes track's then keyframe's", () => {
  const t = track({ label: 'truck', attributes: { color: 'red', size: 'big' } });
  const kfs = [
    keyframe(0, [0, 0, 1, 1], { occluded: true, attributes: { size: 'small' }, label: 'car' }),
    keyframe(2, [2, 0, 1, 1]),
  ];
  const boxes = expandTrack(t, kfs);
  assert.equal(boxes.map((b) => b.label), ['truck', 'truck', 'truck']);
  assert.equal(boxes.map((b) => b.occluded), [true, true, false]);
  assert.equal(boxes[1]?.attributes, { color: 'red', size: 'small' });
  assert.equal(boxes[2]?.attributes, { color: 'red', size: 'big' });
});

expand('two keyframes on one frame (offline peers): the last updated wins, then the greater id', () => {
  const a = keyframe(0, [0, 0, 1, 1], { id: 'a', updatedAt: 5 });
  const b = keyframe(0, [9, 9, 1, 1], { id: 'b', updatedAt: 4 });
  const c = keyframe(0, [7, 7, 1, 1], { id: 'c', updatedAt: 5 });
  assert.equal(expandTrack(track(), [a, b]).map((x) => x.annotationId), ['a']);
  assert.equal(expandTrack(track(), [c, a, b]).map((x) => x.annotationId), ['c']);
});

expand('boxesAtFrame gives the one box of a frame, or none', () => {
  const kfs = [keyframe(0, [0, 0, 10, 10]), keyframe(4, [40, 20, 30, 10])];
  assert.equal(boxesAtFrame(track(), kfs, 2), expandTrack(track(), kfs).filter((b) => b.frame === 2));
  assert.equal(bboxes(boxesAtFrame(track(), kfs, 6, { frameCount: 7 })), [[40, 20, 30, 10]]);
  assert.equal(boxesAtFrame(track(), kfs, 6), []);
  assert.equal(boxesAtFrame(track(), kfs, -1), []);
});

expand.run();

const property = suite('expandTrack property');

const arbKeyframes = fc
  .uniqueArray(
    fc.record({
      frame: fc.integer({ min: 0, max: 60 }),
      bbox: fc.tuple(
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0, max: 1000, noNaN: true }),
        fc.double({ min: 0.01, max: 500, noNaN: true }),
        fc.double({ min: 0.01, max: 500, noNaN: true }),
      ),
      outside: fc.boolean(),
    }),
    { selector: (k) => k.frame, minLength: 1, maxLength: 8 },
  )
  .map((list) => list.map((k) => keyframe(k.frame, k.bbox, { outside: k.outside })));

const between = (v: number, a: number, b: number): boolean => v >= Math.min(a, b) && v <= Math.max(a, b);

property('keyframe boxes exactly at keyframes, interpolated values between their neighbours', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 2 ** 31);
  console.log(`expandTrack property seed=${seed} (replay with SEED=${seed})`);
  fc.assert(
    fc.property(
      arbKeyframes,
      fc.constantFrom<'linear' | 'none'>('linear', 'none'),
      fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
      (kfs: Annotation[], interpolation, frameCount) => {
        const sorted = [...kfs].sort((a, b) => a.frame - b.frame);
        const boxes = expandTrack(track({ interpolation }), kfs, frameCount === undefined ? {} : { frameCount });
        const at = new Map(boxes.map((b) => [b.frame, b]));
        assert.is(at.size, boxes.length, 'one box per frame');
        assert.equal(frames(boxes), [...frames(boxes)].sort((a, b) => a - b), 'in frame order');
        for (const k of sorted) {
          if (k.outside || (frameCount !== undefined && k.frame >= frameCount)) {
            assert.not.ok(at.has(k.frame), `no box on outside/past-the-end keyframe ${k.frame}`);
          } else {
            const box = at.get(k.frame);
            assert.ok(box?.keyframe, `keyframe ${k.frame} has its box`);
            assert.equal(box?.bbox, k.bbox);
          }
        }
        for (const box of boxes) {
          if (box.keyframe) continue;
          const prev = sorted.filter((k) => k.frame < box.frame).at(-1);
          const next = sorted.find((k) => k.frame > box.frame);
          assert.ok(prev && !prev.outside, `frame ${box.frame} follows a visible keyframe`);
          box.bbox.forEach((v, i) => {
            if (next && interpolation === 'linear') assert.ok(between(v, prev.bbox[i]!, next.bbox[i]!), `coordinate ${i} of frame ${box.frame}`);
            else assert.is(v, prev.bbox[i]);
          });
        }
      },
    ),
    { seed, numRuns: 300 },
  );
});

property.run();
