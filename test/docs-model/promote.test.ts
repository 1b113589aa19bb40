import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as Y from 'yjs';
import {
  expandTrack,
  getLabels,
  initSession,
  listAnnotations,
  listTracks,
  writeSession,
  type BBox,
  type SessionMeta,
} from '../../docs-model/index.ts';
import { autoKeyframes, planPromotion, type PromotableDetection, type PromoteOptions } from '../../docs-model/promote.ts';
import { seededRandom } from '../../bench/lib/stats.ts';

const meta: SessionMeta = { sessionId: 's', projectId: 'p', videoId: 'v', width: 640, height: 480, fps: 25, frameCount: 100 };
const opts: PromoteOptions = { runId: 'run1', model: { name: 'yolo', version: '8' } };

function session(): Y.Doc {
  const doc = new Y.Doc();
  initSession(doc, { meta, labels: { car: {}, person: {} } });
  return doc;
}

const state = (doc: Y.Doc) => ({ annotations: listAnnotations(doc), tracks: listTracks(doc), labels: getLabels(doc), frameCount: meta.frameCount });

const promote = (doc: Y.Doc, detections: PromotableDetection[], extra: Partial<PromoteOptions> = {}) => {
  const plan = planPromotion(detections, state(doc), { ...opts, ...extra });
  if (plan.counts.annotations) writeSession(doc, plan.content, { mode: 'merge', by: 'ada', keepPastEdge: true });
  return plan.counts;
};

const det = (frame: number, bbox: BBox, extra: Partial<PromotableDetection> = {}): PromotableDetection => ({ frame, bbox, label: 'car', score: 0.9, detectionId: null, ...extra });

const test = suite('planPromotion: a run as pre-labels');

test('a detection without a track id becomes a model draft linked to it, with the model and score', () => {
  const doc = session();
  const counts = promote(doc, [det(3, [10, 10, 20, 20], { detectionId: 'd7', score: 0.8 }), det(4, [1, 1, 5, 5])]);
  assert.equal([counts.promoted, counts.annotations, counts.tracks], [2, 2, 0]);
  const [a, b] = listAnnotations(doc);
  assert.equal([a!.source, a!.status, a!.detectionId, a!.frame, a!.bbox], ['model', 'draft', 'd7', 3, [10, 10, 20, 20]]);
  assert.equal(a!.attributes, { model: { name: 'yolo', version: '8', score: 0.8 } });
  assert.is(b!.detectionId, 'run1:1', 'no id of its own: the run and its position');
});

test('minScore, frames and labels choose what is promoted', () => {
  const doc = session();
  const counts = promote(doc, [det(1, [0, 0, 5, 5], { score: 0.2 }), det(2, [0, 0, 5, 5]), det(50, [0, 0, 5, 5]), det(3, [0, 0, 5, 5], { label: 'person' })], {
    minScore: 0.5,
    frames: { from: 0, to: 10 },
    labels: ['car'],
  });
  assert.equal([counts.detections, counts.selected, counts.annotations], [4, 1, 1]);
  assert.equal(listAnnotations(doc).map((a) => a.frame), [2]);
});

test('tracked detections become a track: a keyframe per frame, an outside keyframe after each run of frames', () => {
  const doc = session();
  const dets = [0, 1, 2, 5, 6].map((f) => det(f, [10 + f, 10, 20, 20], { trackId: '4' }));
  const counts = promote(doc, dets);
  assert.equal([counts.tracks, counts.keyframes, counts.outsideKeyframes, counts.promoted], [1, 5, 2, 5]);
  const [track] = listTracks(doc);
  assert.is(track!.id, 'run1.t4');
  const keyframes = listAnnotations(doc);
  assert.equal(keyframes.map((a) => [a.frame, a.outside]), [[0, false], [1, false], [2, false], [3, true], [5, false], [6, false], [7, true]]);
  assert.ok(keyframes.every((a) => a.trackId === 'run1.t4' && a.source === 'model'));
  const visible = [...expandTrack(track!, keyframes, { frameCount: 100 })].map((b) => b.frame);
  assert.equal(visible, [0, 1, 2, 5, 6]);
});

test('keyframes=auto keeps the ends of straight motion and every turn, and the track stays within 1 px of every detection', () => {
  const straight = [0, 1, 2, 3, 4, 5].map((f) => ({ frame: f, bbox: [f * 3, 10, 20, 20] as BBox }));
  assert.equal(autoKeyframes(straight), [0, 5]);
  const turn = [0, 1, 2, 3, 4].map((f) => ({ frame: f, bbox: [f < 2 ? f * 10 : 20, f < 2 ? 0 : (f - 2) * 10, 20, 20] as BBox }));
  assert.equal(autoKeyframes(turn), [0, 2, 4]);

  const random = seededRandom(7);
  for (let trial = 0; trial < 30; trial++) {
    const doc = session();
    let [x, y, vx, vy] = [100, 100, random() * 4 - 2, random() * 4 - 2];
    const dets: PromotableDetection[] = [];
    for (let f = 0; f < 80; f++) {
      if (random() < 0.1) [vx, vy] = [random() * 6 - 3, random() * 6 - 3];
      x += vx + (random() - 0.5) * 0.8;
      y += vy + (random() - 0.5) * 0.8;
      dets.push(det(f, [x, y, 30 + random(), 40], { trackId: 7 as unknown as string }));
    }
    const counts = promote(doc, dets, { keyframes: 'auto' });
    assert.ok(counts.keyframes < 80, `fewer keyframes than frames (${counts.keyframes})`);
    assert.is(counts.keyframes + counts.interpolated, 80);
    const boxes = [...expandTrack(listTracks(doc)[0]!, listAnnotations(doc), { frameCount: 100 })];
    assert.is(boxes.length, 80);
    for (const b of boxes) {
      const d = dets[b.frame]!;
      const miss = Math.max(...b.bbox.map((v, q) => Math.abs(v - d.bbox[q]!)));
      assert.ok(miss <= 1 + 1e-9, `frame ${b.frame} misses by ${miss}`);
    }
  }
});

test('promoting twice creates nothing new', () => {
  const doc = session();
  const dets = [det(0, [0, 0, 5, 5]), det(1, [10, 10, 5, 5], { detectionId: 'x' }), ...[0, 1, 2].map((f) => det(f, [50 + f, 50, 10, 10], { trackId: 'a' }))];
  const first = promote(doc, dets);
  const before = Y.encodeStateVector(doc);
  const second = promote(doc, dets);
  assert.equal([second.annotations, second.tracks, second.alreadyPromoted], [0, 0, 5]);
  assert.equal(Y.encodeStateVector(doc), before, 'the document is untouched');
  assert.is(first.annotations, 6);
});

test('skip-matched leaves out detections matching ground truth of their label at IoU >= 0.5 (tracks expanded; rejected boxes are no ground truth)', () => {
  const doc = session();
  writeSession(
    doc,
    {
      tracks: [{ id: 'gt', label: 'car' }],
      annotations: [
        { id: 'k0', frame: 0, bbox: [0, 0, 10, 10], label: 'car', trackId: 'gt' },
        { id: 'k4', frame: 4, bbox: [40, 0, 10, 10], label: 'car', trackId: 'gt' },
        { id: 'r', frame: 9, bbox: [100, 100, 10, 10], label: 'car', status: 'rejected' },
      ],
    },
    { mode: 'merge', by: 'ada' },
  );
  const counts = promote(
    doc,
    [
      det(2, [21, 0, 10, 10]), // the interpolated box is at x = 20: IoU 9/11
      det(2, [21, 0, 10, 10], { label: 'person' }), // another label
      det(3, [60, 0, 10, 10]), // nothing there
      det(9, [100, 100, 10, 10]), // only a rejected box
    ],
    { mode: 'skip-matched' },
  );
  assert.equal([counts.skippedMatched, counts.annotations], [1, 3]);
});

test('labels the session lacks are added and reported; a tracker id with two labels is two tracks', () => {
  const doc = session();
  const counts = promote(doc, [det(0, [0, 0, 5, 5], { label: 'truck', trackId: '1' }), det(1, [0, 0, 5, 5], { label: 'car', trackId: '1' })]);
  assert.equal(counts.labelsAdded, ['truck']);
  assert.equal(listTracks(doc).map((t) => [t.id, t.label]), [['run1.t1.car', 'car'], ['run1.t1.truck', 'truck']]);
});

test.run();
