/**
 * Error analysis of an evaluation: confusion matrix and precision–recall curves on hand-computed
 * cases, both checked against `evaluateDetections` on random runs (same true positives, curve
 * mean = AP50), and the comparison of two runs, including a label only one of them has.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { confusionMatrix } from '../../docs-model/confusion-matrix.ts';
import { compareEvaluations } from '../../docs-model/evaluation-compare.ts';
import { evaluationDetails } from '../../docs-model/evaluation-details.ts';
import { evaluateDetections, type DetectionBox, type GroundTruthBox } from '../../docs-model/evaluation.ts';
import { DocModelError } from '../../docs-model/errors.ts';
import { precisionRecallCurves } from '../../docs-model/precision-recall.ts';
import { evaluateTracking, type TrackingBox } from '../../docs-model/tracking/index.ts';
import type { BBox } from '../../docs-model/types.ts';

const gt = (frame: number, bbox: BBox, label: string, extra: Partial<GroundTruthBox> = {}): GroundTruthBox => ({ frame, bbox, label, ...extra });
const det = (frame: number, bbox: BBox, score: number, label: string): DetectionBox => ({ frame, bbox, label, score });
const A: BBox = [0, 0, 10, 10];
const B: BBox = [20, 0, 10, 10];
const close = (actual: number, expected: number, what: string): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);

const matrix = suite('confusion matrix');

matrix('counts same-label matches on the diagonal, wrong-label finds off it, misses and false alarms against background', () => {
  const truth = [gt(0, A, 'car'), gt(0, B, 'person'), gt(1, A, 'car'), gt(1, [50, 0, 10, 10], 'truck', { status: 'rejected' })];
  const found = [
    det(0, A, 0.9, 'car'), // tp
    det(0, [21, 0, 10, 10], 0.8, 'car'), // the person, found as a car
    det(0, [1, 0, 10, 10], 0.7, 'car'), // a second car on A: nothing left for it
    det(1, [80, 0, 10, 10], 0.5, 'person'), // nothing there
    det(1, [50, 0, 10, 10], 0.6, 'truck'), // on a rejected box: counts as nothing found
  ];
  const cm = confusionMatrix(truth, found);
  assert.equal(cm.labels, ['car', 'person', 'truck']);
  assert.equal(cm.matrix, [
    [1, 0, 0, 1],
    [1, 0, 0, 0],
    [0, 0, 0, 0],
    [1, 1, 1, 0],
  ]);
  assert.is(cm.labelAgnosticMatches, 1);
  const e = evaluateDetections(truth, found);
  assert.equal([e.perLabel.car!.tp, e.perLabel.car!.fp, e.perLabel.car!.fn], [1, 2, 1], 'the evaluation counts the same pairs');
});

matrix('a wrong-label find below IoU 0.5 stays a miss and a false alarm', () => {
  const cm = confusionMatrix([gt(0, A, 'car')], [det(0, [6, 0, 10, 10], 0.9, 'truck')]);
  assert.equal(cm.matrix, [
    [0, 0, 1],
    [0, 0, 0],
    [0, 1, 0],
  ]);
  assert.is(cm.labelAgnosticMatches, 0);
});

const curves = suite('precision–recall curves');

curves('sample monotone precision and the score at the 101 recall points; the mean is AP50', () => {
  const truth = [gt(0, A, 'car'), gt(1, A, 'car')];
  const found = [det(0, A, 0.9, 'car'), det(0, B, 0.8, 'car'), det(1, A, 0.7, 'car'), det(2, A, 0.4, 'bird')];
  const pr = precisionRecallCurves(truth, found);
  const car = pr.perLabel.car!;
  // Cumulative precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1; monotone from the right: 1, 2/3, 2/3.
  assert.is(car.precision.length, 101);
  assert.equal(car.precision.slice(0, 51), new Array(51).fill(1));
  for (let k = 51; k <= 100; k++) close(car.precision[k]!, 2 / 3, `precision at ${k}`);
  assert.equal([car.scores[0], car.scores[50], car.scores[51], car.scores[100]], [0.9, 0.9, 0.7, 0.7]);
  assert.equal([car.groundTruth, car.detections], [2, 3]);
  close(car.precision.reduce((s, v) => s + v, 0) / 101, evaluateDetections(truth, found).perLabel.car!.ap50, 'mean = ap50');
  assert.equal(pr.perLabel.bird, { groundTruth: 0, detections: 1, precision: new Array(101).fill(0), scores: new Array(101).fill(0) });
  assert.is(pr.recall[50], 0.5);
});

const agree = suite('error analysis agrees with the evaluation');

agree('same true positives, diagonal, row and column sums, and curve means as evaluateDetections on random runs', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  const box = fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }));
  const label = fc.constantFrom('car', 'person', 'bike');
  const arb = fc.record({
    truth: fc.array(fc.record({ frame: fc.integer({ min: 0, max: 3 }), bbox: box, label, rejected: fc.boolean() }), { maxLength: 25 }),
    found: fc.array(fc.record({ frame: fc.integer({ min: 0, max: 3 }), bbox: box, label, score: fc.constantFrom(0.1, 0.5, 0.5, 0.9, 0.95) }), { maxLength: 30 }),
  });
  const property = fc.property(arb, ({ truth, found }) => {
    const g = truth.map((t) => gt(t.frame, t.bbox as BBox, t.label, t.rejected ? { status: 'rejected' } : {}));
    const d = found.map((f) => det(f.frame, f.bbox as BBox, f.score, f.label));
    const e = evaluateDetections(g, d);
    const details = evaluationDetails(g, d);
    const { labels, matrix: m } = details.confusion;
    const bg = labels.length;
    assert.is(details.truePositives.groundTruth.length, e.overall.tp);
    for (const [label, metrics] of Object.entries(e.perLabel)) {
      const k = labels.indexOf(label);
      assert.is(m[k]![k], metrics.tp, `${label} diagonal`);
      assert.is(m[k]!.reduce((s, v) => s + v, 0), metrics.tp + metrics.fn, `${label} row = its ground truth`);
      assert.is(m.reduce((s, row) => s + row[k]!, 0), metrics.tp + metrics.fp, `${label} column = its detections`);
      const curve = details.curves.perLabel[label]!;
      close(curve.precision.reduce((s, v) => s + v, 0) / 101, metrics.ap50, `${label} curve mean`);
    }
    assert.is(m[bg]![bg], 0);
  });
  try {
    fc.assert(property, { seed, numRuns: 300 });
  } catch (err) {
    throw new Error(`property failed with SEED=${seed}: ${(err as Error).message}`);
  }
});

const compare = suite('compareEvaluations');

const TRUTH = [gt(0, A, 'car', { annotationId: 'a' }), gt(1, A, 'car', { annotationId: 'b' }), gt(2, A, 'person', { annotationId: 'c' })];
const run = (found: DetectionBox[]) => ({ evaluation: evaluateDetections(TRUTH, found), details: evaluationDetails(TRUTH, found) });

compare('deltas of every metric, regressions and fixes by frame, and a label only head has', () => {
  const base = run([det(0, A, 0.9, 'car'), det(1, A, 0.8, 'car')]);
  const head = run([det(0, A, 0.9, 'car'), det(2, A, 0.7, 'person'), det(3, A, 0.6, 'dog')]);
  const c = compareEvaluations(base, head, { groundTruth: TRUTH });
  // base: car 2/2 found, person 0/1: tp 2, fp 0, fn 1; AP50 (1 + 0) / 2.
  // head: car 1/2 (AP50 51/101), person 1/1 (AP50 1), dog 1 fp: tp 2, fp 1, fn 1; AP50 (51/101 + 1) / 2.
  assert.equal(c.overall.tp, { base: 2, head: 2, delta: 0 });
  assert.equal(c.overall.fp, { base: 0, head: 1, delta: 1 });
  close(c.overall.precision.delta, 2 / 3 - 1, 'precision delta');
  close(c.overall.ap50.base, 0.5, 'base ap50');
  close(c.overall.ap50.head, (51 / 101 + 1) / 2, 'head ap50');
  close(c.overall.ap50.delta, (51 / 101 + 1) / 2 - 0.5, 'ap50 delta');
  assert.equal(c.perLabel.dog, { tp: { base: 0, head: 0, delta: 0 }, fp: { base: 0, head: 1, delta: 1 }, fn: { base: 0, head: 0, delta: 0 }, precision: { base: 0, head: 0, delta: 0 }, recall: { base: 0, head: 0, delta: 0 }, f1: { base: 0, head: 0, delta: 0 }, ap50: { base: 0, head: 0, delta: 0 }, ap: { base: 0, head: 0, delta: 0 }, onlyIn: 'head' });
  assert.equal(c.perLabel.person!.tp, { base: 0, head: 1, delta: 1 });
  assert.not.ok('onlyIn' in c.perLabel.person!);
  assert.equal(c.regressions, { boxes: 1, frames: 1, items: [{ frame: 1, boxes: [{ groundTruth: 1, label: 'car', annotationId: 'b', bbox: A, score: 0.8 }] }], nextCursor: null });
  assert.equal(c.fixes.items, [{ frame: 2, boxes: [{ groundTruth: 2, label: 'person', annotationId: 'c', bbox: A, score: 0.7 }] }]);
  assert.equal(c.head.confusion.labels, ['car', 'dog', 'person']);
  assert.equal(Object.keys(c.base.curves.perLabel), ['car', 'person']);
});

compare('a label only base has is marked so; reversed runs give negated deltas', () => {
  const base = run([det(0, A, 0.9, 'car'), det(5, A, 0.3, 'cat')]);
  const head = run([det(0, A, 0.9, 'car')]);
  const c = compareEvaluations(base, head, { groundTruth: TRUTH });
  assert.is(c.perLabel.cat!.onlyIn, 'base');
  assert.equal(c.perLabel.cat!.fp, { base: 1, head: 0, delta: -1 });
  assert.is(compareEvaluations(head, base, { groundTruth: TRUTH }).overall.precision.delta, -c.overall.precision.delta);
  assert.equal([c.regressions.boxes, c.fixes.boxes], [0, 0]);
});

compare('regressions page by frame and refuse a foreign cursor or another ground truth', () => {
  const truth = Array.from({ length: 5 }, (_, f) => gt(f, A, 'car'));
  const base = { evaluation: evaluateDetections(truth, truth.map((g) => det(g.frame, A, 0.5, 'car'))), details: evaluationDetails(truth, truth.map((g) => det(g.frame, A, 0.5, 'car'))) };
  const head = { evaluation: evaluateDetections(truth, []), details: evaluationDetails(truth, []) };
  const frames: number[] = [];
  let cursor: string | undefined;
  for (let k = 0; k < 5; k++) {
    const c = compareEvaluations(base, head, { groundTruth: truth, limit: 2, ...(cursor === undefined ? {} : { regressionsCursor: cursor }) });
    assert.is(c.regressions.boxes, 5);
    frames.push(...c.regressions.items.map((i) => i.frame));
    if (!c.regressions.nextCursor) break;
    cursor = c.regressions.nextCursor;
  }
  assert.equal(frames, [0, 1, 2, 3, 4]);
  assert.throws(() => compareEvaluations(base, head, { groundTruth: truth, regressionsCursor: 'x' }), (e: unknown) => e instanceof DocModelError && e.field === 'regressionsCursor');
  assert.throws(() => compareEvaluations(base, head, { groundTruth: TRUTH }), (e: unknown) => e instanceof DocModelError && e.field === 'groundTruth');
});

matrix.run();
curves.run();
agree.run();
compare('tracking metrics compared when either run has them: deltas overall and per label, onlyIn for a run without track ids', () => {
  // One car track on frames 0-2. base follows it with one id; head switches id on frame 2.
  const truthTrack: TrackingBox[] = [0, 1, 2].map((frame) => ({ frame, bbox: A, label: 'car', trackId: 'g' }));
  const tracker = (ids: string[]): TrackingBox[] => ids.map((trackId, frame) => ({ frame, bbox: A, label: 'car', trackId }));
  const truth = [0, 1, 2].map((f) => gt(f, A, 'car'));
  const found = [0, 1, 2].map((f) => det(f, A, 0.9, 'car'));
  const scored = (ids: string[] | null) => ({
    evaluation: { ...evaluateDetections(truth, found), ...(ids ? { tracking: evaluateTracking(truthTrack, tracker(ids)) } : {}) },
    details: evaluationDetails(truth, found),
  });
  const c = compareEvaluations(scored(['1', '1', '1']), scored(['1', '1', '2']), { groundTruth: truth });
  // base: MOTA 1, IDF1 1. head: one switch, MOTA 1 - 1/3; IDF1 = 2·2 / (3 + 3).
  assert.is(c.tracking!.overall.mota.base, 1);
  close(c.tracking!.overall.mota.head, 1 - 1 / 3, 'head mota');
  close(c.tracking!.overall.mota.delta, -1 / 3, 'mota delta');
  assert.equal(c.tracking!.overall.idSwitches, { base: 0, head: 1, delta: 1 });
  close(c.tracking!.perLabel.car!.idf1.delta, 4 / 6 - 1, 'car idf1 delta');
  assert.ok(c.tracking!.overall.hota.delta < 0, 'hota dropped');
  assert.not.ok('onlyIn' in c.tracking!);
  assert.equal(c.overall.tp, { base: 3, head: 3, delta: 0 });

  const lost = compareEvaluations(scored(['1', '1', '1']), scored(null), { groundTruth: truth });
  assert.is(lost.tracking!.onlyIn, 'base');
  assert.equal(lost.tracking!.overall.mota, { base: 1, head: 0, delta: -1 });
  assert.is(lost.tracking!.perLabel.car!.onlyIn, 'base');
  assert.is(compareEvaluations(scored(null), scored(['1', '1', '1']), { groundTruth: truth }).tracking!.onlyIn, 'head');
  assert.not.ok('tracking' in compareEvaluations(scored(null), scored(null), { groundTruth: truth }));
});

compare.run();
