import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DocModelError, type BBox } from '../../docs-model/index.ts';
import { evaluateDetections, iou, type DetectionBox, type GroundTruthBox, type LabelMetrics } from '../../docs-model/evaluation.ts';

const gt = (frame: number, bbox: BBox, label = 'car', extra: Partial<GroundTruthBox> = {}): GroundTruthBox => ({ frame, bbox, label, ...extra });
const det = (frame: number, bbox: BBox, score: number, label = 'car', extra: Partial<DetectionBox> = {}): DetectionBox => ({ frame, bbox, label, score, ...extra });
const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);
const counts = (m: LabelMetrics | undefined): [number, number, number] => [m?.tp ?? -1, m?.fp ?? -1, m?.fn ?? -1];
const BOX: BBox = [0, 0, 10, 10];

const iouSuite = suite('iou');

iouSuite('is intersection over union without the +1 pixel, symmetric', () => {
  assert.is(iou(BOX, BOX), 1);
  assert.is(iou(BOX, [5, 0, 10, 10]), 50 / 150);
  assert.is(iou([5, 0, 10, 10], BOX), 50 / 150);
  assert.is(iou(BOX, [2, 2, 4, 4]), 16 / 100);
});

iouSuite('is 0 for disjoint, edge-touching, degenerate and non-finite boxes', () => {
  assert.is(iou(BOX, [20, 20, 5, 5]), 0);
  assert.is(iou(BOX, [10, 0, 10, 10]), 0);
  assert.is(iou(BOX, [0, 0, 0, 10]), 0);
  assert.is(iou(BOX, [0, 0, -5, 10]), 0);
  assert.is(iou(BOX, [Number.NaN, 0, 10, 10]), 0);
  assert.is(iou(BOX, [0, 0, Number.POSITIVE_INFINITY, 10]), 0);
});

const matching = suite('evaluateDetections matching');

matching('a detection whose IoU is exactly the threshold is a true positive, and a false positive above it', () => {
  // [0,0,10,20] over [0,0,10,10]: 100 / 200 = 0.5 exactly in floating point.
  assert.is(iou(BOX, [0, 0, 10, 20]), 0.5);
  const truth = [gt(0, BOX)];
  const found = [det(0, [0, 0, 10, 20], 0.9)];
  assert.equal(counts(evaluateDetections(truth, found).overall), [1, 0, 0]);
  const stricter = evaluateDetections(truth, found, { iouThreshold: 0.55 });
  assert.equal(counts(stricter.overall), [0, 1, 1]);
  assert.is(stricter.iouThreshold, 0.55);
  // ap50 stays at IoU 0.5 whatever the counting threshold.
  assert.is(stricter.overall.ap50, 1);
});

matching('several detections on one box: the best-scored is the true positive, the rest false positives', () => {
  // The 0.9 detection overlaps less (IoU 80/120) than the 0.8 one (IoU 1) but is matched first.
  const e = evaluateDetections([gt(0, BOX)], [det(0, [0, 0, 10, 10], 0.8), det(0, [2, 0, 10, 10], 0.9), det(0, [1, 1, 10, 10], 0.7)]);
  assert.equal(counts(e.overall), [1, 2, 0]);
  close(e.overall.precision, 1 / 3, 'precision');
  assert.is(e.overall.recall, 1);
  close(e.overall.f1, 0.5, 'f1');
  // At IoU 0.5 the first-ranked detection is the tp, so the PR curve starts at precision 1.
  assert.is(e.overall.ap50, 1);
});

matching('equal scores keep input order: the first listed detection takes the box', () => {
  // d1 = [2,0,10,10] has IoU 2/3 with the box, d2 = [0,0,10,10] has IoU 1; both score 0.9.
  // d1 first: IoU 0.50..0.65 (4 thresholds) d1 tp, d2 fp → AP 1; IoU 0.70..0.95 (6) d1 misses,
  // d2 tp at rank 2 → precision envelope [0.5, 0.5] → AP 0.5; ap = (4·1 + 6·0.5) / 10 = 0.7.
  const d1 = det(0, [2, 0, 10, 10], 0.9, 'car', { detectionId: 'd1' });
  const d2 = det(0, [0, 0, 10, 10], 0.9, 'car', { detectionId: 'd2' });
  const first = evaluateDetections([gt(0, BOX)], [d1, d2]);
  assert.equal(counts(first.overall), [1, 1, 0]);
  assert.is(first.overall.ap50, 1);
  close(first.overall.ap, 0.7, 'ap, d1 listed first');
  // d2 first: it takes the box at every threshold.
  const second = evaluateDetections([gt(0, BOX)], [d2, d1]);
  assert.equal(counts(second.overall), [1, 1, 0]);
  assert.is(second.overall.ap, 1);
});

matching('among equal IoUs the later ground-truth box is taken, as pycocotools does', () => {
  // The 0.9 detection has IoU 90/110 with both boxes and takes the later one (g2); the 0.8
  // detection then still finds g1 at IoU 1. Taking g1 first would leave it IoU 80/120 < 0.7 with g2.
  const truth = [gt(0, [0, 0, 10, 10], 'car', { annotationId: 'g1' }), gt(0, [2, 0, 10, 10], 'car', { annotationId: 'g2' })];
  const found = [det(0, [1, 0, 10, 10], 0.9), det(0, [0, 0, 10, 10], 0.8)];
  assert.equal(counts(evaluateDetections(truth, found, { iouThreshold: 0.7 }).overall), [2, 0, 0]);
});

matching('detections on a frame without ground truth are false positives; boxes without detections are false negatives', () => {
  const truth = [gt(0, BOX), gt(2, BOX)];
  const found = [det(0, BOX, 0.9), det(1, BOX, 0.95)];
  const e = evaluateDetections(truth, found);
  assert.equal(counts(e.overall), [1, 1, 1]);
  assert.is(e.overall.precision, 0.5);
  assert.is(e.overall.recall, 0.5);
  assert.is(e.overall.f1, 0.5);
  // Ranked: frame 1 fp (p 0, r 0), frame 0 tp (p 0.5, r 0.5) → envelope [0.5, 0.5]; recall
  // 0..0.5 samples 0.5 (51 points), above 0.5 nothing → AP = 51 · 0.5 / 101.
  close(e.overall.ap50, 25.5 / 101, 'ap50');
});

matching('a detection is matched only within its own label', () => {
  const e = evaluateDetections([gt(0, BOX, 'car')], [det(0, BOX, 0.9, 'truck')]);
  assert.equal(counts(e.perLabel.car), [0, 0, 1]);
  assert.equal(counts(e.perLabel.truck), [0, 1, 0]);
});

matching('rejected ground truth is left out: a detection on it is a false positive, and it is no false negative', () => {
  const truth = [gt(0, BOX, 'car', { status: 'rejected', annotationId: 'a1' }), gt(1, BOX, 'car', { status: 'validated' }), gt(2, BOX, 'car', { status: 'draft' })];
  const e = evaluateDetections(truth, [det(0, BOX, 0.9), det(1, BOX, 0.8), det(2, BOX, 0.7)]);
  assert.equal(counts(e.overall), [2, 1, 0]);
});

const labelsSuite = suite('evaluateDetections labels and overall');

labelsSuite('labels on one side only: detections only are all fp with AP 0, ground truth only all fn with AP 0', () => {
  const e = evaluateDetections([gt(0, BOX, 'car'), gt(0, [50, 50, 10, 10], 'person')], [det(0, BOX, 0.9, 'car'), det(0, [80, 80, 5, 5], 0.9, 'dog')]);
  assert.equal(Object.keys(e.perLabel), ['car', 'dog', 'person']);
  assert.equal(e.perLabel.dog, { tp: 0, fp: 1, fn: 0, precision: 0, recall: 0, f1: 0, ap50: 0, ap: 0 });
  assert.equal(e.perLabel.person, { tp: 0, fp: 0, fn: 1, precision: 0, recall: 0, f1: 0, ap50: 0, ap: 0 });
  assert.equal(e.perLabel.car, { tp: 1, fp: 0, fn: 0, precision: 1, recall: 1, f1: 1, ap50: 1, ap: 1 });
  // Totals for the counts; mAP over car and person (the labels with ground truth), not dog.
  assert.equal(e.overall, { tp: 1, fp: 1, fn: 1, precision: 0.5, recall: 0.5, f1: 0.5, ap50: 0.5, ap: 0.5 });
});

labelsSuite('a hand-computed PR curve gives the 101-point interpolated AP', () => {
  // 4 boxes (frames 0-3), 5 detections by score, every match at IoU 1 so ap50 = ap:
  //   rank  score  frame  result  cum tp/fp  precision  recall
  //   1     0.9    0      tp      1/0        1          0.25
  //   2     0.8    4      fp      1/1        0.5        0.25
  //   3     0.7    1      tp      2/1        2/3        0.5
  //   4     0.6    5      fp      2/2        0.5        0.5
  //   5     0.5    2      tp      3/2        0.6        0.75
  // Envelope from the right: [1, 2/3, 2/3, 0.6, 0.6].
  // Recall thresholds r = 0, 0.01, …, 1; the first rank with recall ≥ r (searchsorted left):
  //   r = 0.00..0.25 → rank 1 → 1    (26 points)
  //   r = 0.26..0.50 → rank 3 → 2/3  (25 points)
  //   r = 0.51..0.75 → rank 5 → 0.6  (25 points)
  //   r = 0.76..1.00 → none   → 0    (25 points)
  // AP = (26·1 + 25·2/3 + 25·0.6) / 101 = (173/3) / 101 = 173/303 ≈ 0.570957.
  const truth = [0, 1, 2, 3].map((f) => gt(f, BOX));
  const found = [det(0, BOX, 0.9), det(4, BOX, 0.8), det(1, BOX, 0.7), det(5, BOX, 0.6), det(2, BOX, 0.5)].reverse();
  const e = evaluateDetections(truth, found);
  assert.equal(counts(e.overall), [3, 2, 1]);
  assert.is(e.overall.precision, 0.6);
  assert.is(e.overall.recall, 0.75);
  close(e.overall.f1, 2 / 3, 'f1');
  close(e.overall.ap50, 173 / 303, 'ap50');
  close(e.overall.ap, 173 / 303, 'ap');
});

labelsSuite('equal scores on different frames rank by frame, whatever the input order', () => {
  // Frame 1 tp listed first, frame 0 fp second, both 0.8: ranked frame 0 then frame 1, so the
  // curve is (p 0, r 0), (p 0.5, r 1) → envelope 0.5 everywhere → AP 0.5 (input order would give 1).
  const e = evaluateDetections([gt(1, BOX)], [det(1, BOX, 0.8), det(0, BOX, 0.8)]);
  assert.is(e.overall.ap50, 0.5);
});

labelsSuite('no input at all: zero everywhere, no labels, no links', () => {
  assert.equal(evaluateDetections([], []), {
    overall: { tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, f1: 0, ap50: 0, ap: 0 },
    perLabel: {},
    iouThreshold: 0.5,
    linked: [],
  });
});

labelsSuite('a label named __proto__ is an ordinary key of perLabel', () => {
  const e = evaluateDetections([gt(0, BOX, '__proto__')], [det(0, BOX, 0.5, '__proto__')]);
  assert.ok(Object.hasOwn(e.perLabel, '__proto__'));
  assert.is(JSON.parse(JSON.stringify(e)).perLabel.__proto__.tp, 1);
});

labelsSuite('a non-finite score or an out-of-range threshold is refused with a DocModelError', () => {
  assert.throws(() => evaluateDetections([], [det(0, BOX, Number.NaN)]), (e: unknown) => e instanceof DocModelError && e.field === 'detections[0].score');
  for (const iouThreshold of [0, -0.1, 1.5, Number.NaN]) {
    assert.throws(() => evaluateDetections([], [], { iouThreshold }), (e: unknown) => e instanceof DocModelError && e.code === 'invalid_value');
  }
});

const links = suite('evaluateDetections linked');

links("a detection confirmed or rejected by an annotation reports that annotation's verdict", () => {
  const truth = [
    gt(0, BOX, 'car', { annotationId: 'a1', detectionId: 'd1', status: 'validated' }),
    gt(1, BOX, 'car', { annotationId: 'a2', detectionId: 'd2', status: 'rejected' }),
    gt(2, BOX, 'car', { annotationId: 'a3', detectionId: 'd3' }),
    // An interpolated track box has no annotation of its own: no link.
    gt(3, BOX, 'car', { annotationId: null, detectionId: 'd1' }),
    // A link to a detection that is not in the run: nothing to report.
    gt(4, BOX, 'car', { annotationId: 'a5', detectionId: 'elsewhere', status: 'validated' }),
  ];
  const found = [det(1, BOX, 0.9, 'car', { detectionId: 'd2' }), det(0, BOX, 0.8, 'car', { detectionId: 'd1' }), det(2, BOX, 0.7, 'car', { detectionId: 'd3' }), det(3, BOX, 0.6)];
  const e = evaluateDetections(truth, found);
  assert.equal(e.linked, [
    { detectionId: 'd2', annotationId: 'a2', verdict: 'rejected' },
    { detectionId: 'd1', annotationId: 'a1', verdict: 'validated' },
    { detectionId: 'd3', annotationId: 'a3', verdict: 'draft' },
  ]);
  // Links do not change the metrics: the rejected box is still excluded, d2 still an fp; the
  // frame-4 box has no detection, a fn.
  assert.equal(counts(e.overall), [3, 1, 1]);
});

const property = suite('evaluateDetections properties');

property('per label, tp + fn counts the ground truth and tp + fp the detections; every rate and AP lies in [0, 1]', () => {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  console.log(`  evaluateDetections property: fast-check seed ${seed} (replay with FC_SEED=${seed})`);
  // Boxes on a coarse grid and coarse scores, so overlaps, exact-threshold IoUs and ties are common.
  const box = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })).map(([x, y, w, h]): BBox => [x * 2, y * 2, w * 2, h * 2]);
  const label = fc.constantFrom('a', 'b', 'c');
  const frame = fc.integer({ min: 0, max: 4 });
  const truthBox = fc.record({ frame, bbox: box, label, status: fc.constantFrom<GroundTruthBox['status']>('draft', 'validated', 'rejected', undefined) });
  const detection = fc.record({ frame, bbox: box, label, score: fc.integer({ min: 0, max: 4 }).map((s) => s / 4) });
  const threshold = fc.constantFrom(0.5, 0.75, 0.3, 1);
  fc.assert(
    fc.property(fc.array(truthBox, { maxLength: 30 }), fc.array(detection, { maxLength: 30 }), threshold, (truth, found, iouThreshold) => {
      const e = evaluateDetections(truth, found, { iouThreshold });
      const kept = truth.filter((g) => g.status !== 'rejected');
      const labels = new Set([...kept.map((g) => g.label), ...found.map((d) => d.label)]);
      assert.equal(Object.keys(e.perLabel).sort(), [...labels].sort());
      for (const [name, m] of Object.entries(e.perLabel)) {
        assert.is(m.tp + m.fn, kept.filter((g) => g.label === name).length);
        assert.is(m.tp + m.fp, found.filter((d) => d.label === name).length);
      }
      assert.is(e.overall.tp + e.overall.fn, kept.length);
      assert.is(e.overall.tp + e.overall.fp, found.length);
      for (const m of [e.overall, ...Object.values(e.perLabel)]) {
        for (const v of [m.precision, m.recall, m.f1, m.ap50, m.ap]) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `${v} in [0, 1]`);
      }
      assert.equal(JSON.parse(JSON.stringify(e)), e);
    }),
    { seed, numRuns: 500 },
  );
});

iouSuite.run();
matching.run();
labelsSuite.run();
links.run();
property.run();
