/**
 * The export walk (docs-model/formats/frame-walk.ts) computes track boxes frame by frame on its
 * own; the REST API, evaluation and the browser use `expandTrack`. They must agree box for box, or
 * an export would say something else than the annotator sees.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { expandTrack } from '../../docs-model/interpolation.ts';
import { frameSpan, walkFrames } from '../../docs-model/formats/frame-walk.ts';
import type { SessionContent } from '../../docs-model/formats/content.ts';
import type { Annotation, Track } from '../../docs-model/types.ts';
import { seedFromEnv } from '../helpers/format-sessions.ts';

const keyframeArb = fc.record({
  frame: fc.nat({ max: 30 }),
  bbox: fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 80 })),
  outside: fc.boolean(),
  occluded: fc.boolean(),
  updatedAt: fc.integer({ min: 0, max: 3 }), // ties on one frame are broken by updatedAt, then id
  attributes: fc.constantFrom({}, { speed: 3 }, { colour: 'red', speed: 1 }),
});

const contentArb: fc.Arbitrary<SessionContent> = fc
  .record({
    frameCount: fc.integer({ min: 1, max: 35 }),
    tracks: fc.array(
      fc.record({
        interpolation: fc.constantFrom('linear' as const, 'none' as const),
        attributes: fc.constantFrom({}, { make: 'vw' }, { speed: 0 }),
        keyframes: fc.array(keyframeArb, { minLength: 1, maxLength: 6 }), // same-frame keyframes allowed
      }),
      { maxLength: 5 },
    ),
  })
  .map(({ frameCount, tracks }) => {
    const annotations: Annotation[] = [];
    const outTracks: Track[] = tracks.map((t, k) => ({ id: `t${k}`, label: 'car', attributes: t.attributes, interpolation: t.interpolation }));
    tracks.forEach((t, k) =>
      t.keyframes.forEach((kf, n) =>
        annotations.push({
          id: `t${k}k${n}`, frame: kf.frame, bbox: kf.bbox, label: n % 2 ? 'truck' : 'car', trackId: `t${k}`, detectionId: null,
          attributes: kf.attributes, occluded: kf.occluded, outside: kf.outside, status: 'draft', source: 'manual',
          createdBy: 'a', updatedBy: 'a', createdAt: 0, updatedAt: kf.updatedAt,
        }),
      ),
    );
    return { meta: { sessionId: 's', projectId: 'p', videoId: 'v', width: 640, height: 480, fps: 25, frameCount }, labels: {}, tracks: outTracks, annotations };
  });

/** What the walk must give per frame, from expandTrack: keyframes as drawn, other frames interpolated. */
function expected(content: SessionContent, end: number): Map<number, unknown[]> {
  const byFrame = new Map<number, unknown[]>();
  const ordered = content.tracks
    .map((track) => ({ track, keyframes: content.annotations.filter((a) => a.trackId === track.id) }))
    .filter((t) => t.keyframes.length)
    .sort((x, y) => Math.min(...x.keyframes.map((a) => a.frame)) - Math.min(...y.keyframes.map((a) => a.frame)) || (x.track.id < y.track.id ? -1 : 1));
  for (const { track, keyframes } of ordered) {
    for (const b of expandTrack(track, keyframes, { frameCount: end })) {
      const kf = keyframes.find((a) => a.id === b.annotationId);
      const view = kf
        ? { bbox: kf.bbox, label: kf.label, annotationId: kf.id, occluded: kf.occluded, keyframe: true, attributes: kf.attributes }
        : { bbox: b.bbox, label: b.label, annotationId: null, occluded: b.occluded, keyframe: false, attributes: b.attributes };
      byFrame.set(b.frame, [...(byFrame.get(b.frame) ?? []), { trackId: track.id, ...view }]);
    }
  }
  return byFrame;
}

const test = suite('frame walk');

test('the walk gives every track the boxes expandTrack gives, frame by frame and in the same order', () => {
  const seed = seedFromEnv('frame walk');
  fc.assert(
    fc.property(contentArb, (content) => {
      // Keyframes past the declared frame count lengthen the walk (frameSpan).
      const end = frameSpan(content);
      const want = expected(content, end);
      let frames = 0;
      for (const { frame, boxes } of walkFrames(content)) {
        frames++;
        const got = boxes.map((b) => ({ trackId: b.trackId, bbox: b.bbox, label: b.label, annotationId: b.annotationId, occluded: b.occluded, keyframe: b.keyframe, attributes: b.attributes }));
        assert.equal(got, want.get(frame) ?? [], `frame ${frame}`);
      }
      assert.is(frames, end);
    }),
    { seed, numRuns: 400 },
  );
});

test.run();
