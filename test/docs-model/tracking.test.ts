import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DocModelError, type Annotation, type BBox, type Track } from '../../docs-model/index.ts';
import { maxScoreAssignment, solveByComponents, type SparseEntries } from '../../docs-model/tracking/assignment.ts';
import {
  evaluateRunTracking,
  evaluateTracking,
  linearSumAssignment,
  minCostAssignment,
  trackingDetections,
  trackingGroundTruth,
  type TrackingBox,
} from '../../docs-model/tracking/index.ts';

const box = (frame: number, trackId: string, bbox: BBox, label = 'person'): TrackingBox => ({ frame, bbox, label, trackId });
const A: BBox = [0, 0, 10, 10];
const B: BBox = [100, 0, 10, 10];

const lsa = suite('linearSumAssignment (scipy port)');

lsa('returns what scipy.optimize.linear_sum_assignment returns, ties included', () => {
  // Expected pairs printed by scipy 1.10.1 for the same matrices.
  const cases: [number[][], [number, number][]][] = [
    [[[1, 1], [1, 1]], [[0, 0], [1, 1]]],
    [[[0, 0, 0], [0, 0, 0]], [[0, 0], [1, 1]]],
    [[[4, 1, 3], [2, 0, 5], [3, 2, 2]], [[0, 1], [1, 0], [2, 2]]],
    [[[5, 5], [0, 5]], [[0, 1], [1, 0]]],
    [[[1, 2], [1, 2], [0, 0]], [[1, 0], [2, 1]]],
    [[[0.5, 0.5, 0.2], [0.5, 0.5, 0.2], [0.3, 0.3, 0.3], [0.1, 0.4, 0.4]], [[0, 2], [2, 1], [3, 0]]],
  ];
  for (const [m, expected] of cases) assert.equal(linearSumAssignment(Float64Array.from(m.flat()), m.length, m[0]!.length), expected, JSON.stringify(m));
});

lsa('minCostAssignment prefers more allowed pairs to a lower cost, and never returns a forbidden one', () => {
  // One pair of cost 0.1 against two pairs of 0.4 each: two pairs win (py-motmetrics' expensive edges).
  const costs = Float64Array.from([0.1, 0.4, 0.4, Number.NaN]);
  assert.equal(minCostAssignment(costs, 2, 2), [[0, 1], [1, 0]]);
  assert.equal(minCostAssignment(Float64Array.from([Number.NaN, Number.NaN]), 1, 2), []);
});

lsa('solving by connected components gives the dense solution when the optimum is unique (frames past 32 × 32 pairs)', () => {
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let run = 0; run < 50; run++) {
    const rows = 5 + Math.floor(random() * 40);
    const cols = 5 + Math.floor(random() * 40);
    const entries: SparseEntries = { rows: [], cols: [], values: [] };
    const dense = new Float64Array(rows * cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        if (random() > 3 / cols) continue; // a few neighbours per row, as boxes overlap
        const v = random();
        entries.rows.push(i);
        entries.cols.push(j);
        entries.values.push(v);
        dense[i * cols + j] = v;
      }
    }
    assert.equal(solveByComponents(entries, 0, maxScoreAssignment), maxScoreAssignment(dense, rows, cols), `run ${run}`);
  }
});

const clear = suite('evaluateTracking: CLEAR MOT and identity');

clear('a crowded frame (60 objects, solved by components) scores a shifted copy of itself perfectly, and a swap as two switches', () => {
  const grid = (f: number, k: number): BBox => [(k % 10) * 30 + f, Math.floor(k / 10) * 30, 25, 25];
  const gt = [0, 1, 2].flatMap((f) => Array.from({ length: 60 }, (_, k) => box(f, `g${k}`, grid(f, k))));
  const tr = [0, 1, 2].flatMap((f) => Array.from({ length: 60 }, (_, k) => box(f, `h${f === 2 && k < 2 ? 1 - k : k}`, grid(f, k))));
  const { overall } = evaluateTracking(gt, tr);
  assert.equal([overall.matches, overall.idSwitches, overall.falsePositives, overall.misses], [180, 2, 0, 0]);
  assert.is(overall.hota < 1 && overall.deta === 1, true);
});

clear('a perfect tracker scores 1 everywhere, whatever its ids are called', () => {
  const gt = [0, 1, 2].flatMap((f) => [box(f, 'a', A), box(f, 'b', B)]);
  const tr = [0, 1, 2].flatMap((f) => [box(f, '7', A), box(f, '9', B)]);
  const { overall } = evaluateTracking(gt, tr);
  assert.equal([overall.mota, overall.motp, overall.idf1, overall.hota, overall.idSwitches, overall.mostlyTracked], [1, 1, 1, 1, 0, 2]);
});

clear('two tracker ids exchanging their objects count two identity switches and halve the identity matches', () => {
  const gt = [0, 1, 2, 3].flatMap((f) => [box(f, 'a', A), box(f, 'b', B)]);
  const tr = [0, 1, 2, 3].flatMap((f) => [box(f, f < 2 ? '1' : '2', A), box(f, f < 2 ? '2' : '1', B)]);
  const { overall } = evaluateTracking(gt, tr);
  assert.is(overall.idSwitches, 2);
  assert.is(overall.mota, 1 - 2 / 8);
  assert.is(overall.idtp, 4);
  assert.is(overall.idf1, 0.5);
});

clear('a track lost for a while and found again is one fragmentation; frames it is absent from are not misses', () => {
  const gt = [0, 1, 2, 3, 4, 6].map((f) => box(f, 'a', A));
  const tr = [0, 1, 4, 6].map((f) => box(f, '1', A));
  const { overall } = evaluateTracking(gt, tr);
  assert.equal([overall.fragmentations, overall.misses, overall.matches, overall.idSwitches], [1, 2, 4, 0]);
  assert.is(overall.partiallyTracked, 1); // 4 of 6 frames
});

clear('a box of another label is a false positive there and a miss here: labels are separate sequences', () => {
  const r = evaluateTracking([box(0, 'a', A, 'car')], [box(0, '1', A, 'person')]);
  assert.equal([r.perLabel.car?.misses, r.perLabel.person?.falsePositives, r.overall.matches], [1, 1, 0]);
  assert.is(r.perLabel.person?.mota, 0); // no ground truth: 0, not −inf
});

clear('MOTP is the mean IoU of the matches (TrackEval), not py-motmetrics’ distance', () => {
  const { overall } = evaluateTracking([box(0, 'a', [0, 0, 10, 10])], [box(0, '1', [0, 0, 10, 15])]);
  assert.is(overall.motp, 100 / 150);
});

clear('refuses one track twice on one frame, naming the track, label and frame, and a threshold outside (0, 1]', () => {
  assert.throws(() => evaluateTracking([box(0, 'a', A), box(0, 'a', B)], []), (e: unknown) => e instanceof DocModelError && e.field === 'groundTruth[1].trackId');
  assert.throws(
    () => evaluateTracking([], [box(3, 'x', A), box(4, 'x', A), box(4, 'x', B)]),
    (e: unknown) => e instanceof DocModelError && e.field === 'tracker[2].trackId' && /track x has two boxes of label person on frame 4/.test(e.message),
  );
  assert.throws(() => evaluateTracking([], [], { iouThreshold: 0 }), (e: unknown) => e instanceof DocModelError && e.field === 'iouThreshold');
});

clear('nothing at all gives finite zeros', () => {
  const { overall, perLabel } = evaluateTracking([], []);
  assert.equal(perLabel, {});
  assert.equal([overall.mota, overall.motp, overall.idf1, overall.hota], [0, 0, 0, 0]);
});

const inputs = suite('tracking inputs from a session and a run');

const annotation = (over: Partial<Annotation> & { id: string; frame: number }): Annotation => ({
  bbox: A,
  label: 'person',
  trackId: null,
  detectionId: null,
  attributes: {},
  occluded: false,
  outside: false,
  status: 'draft',
  source: 'manual',
  createdBy: 'u',
  updatedBy: 'u',
  createdAt: 0,
  updatedAt: 0,
  ...over,
});

inputs('tracks expand per frame; outside frames, rejected stretches and ignored boxes are left out; lone boxes are objects of their own', () => {
  const track: Track = { id: 't1', label: 'person', attributes: {}, interpolation: 'linear' };
  const gt = trackingGroundTruth(
    [
      annotation({ id: 'k0', frame: 0, trackId: 't1', bbox: [0, 0, 10, 10] }),
      annotation({ id: 'k2', frame: 2, trackId: 't1', bbox: [20, 0, 10, 10] }),
      annotation({ id: 'k3', frame: 3, trackId: 't1', outside: true }),
      annotation({ id: 'k5', frame: 5, trackId: 't1', status: 'rejected' }),
      annotation({ id: 'lone', frame: 1 }),
      annotation({ id: 'no', frame: 1, status: 'rejected' }),
      annotation({ id: 'ignored', frame: 2, attributes: { ignored: true } }),
    ],
    [track],
    8,
  );
  assert.equal(
    gt.map((b) => [b.frame, b.trackId, b.bbox[0]]),
    [
      [1, 'box:lone', 0],
      [0, 'track:t1', 0],
      [1, 'track:t1', 10],
      [2, 'track:t1', 20],
    ],
  );
});

inputs('detections keep their track id; one without gets an id of its own', () => {
  const boxes = trackingDetections([
    { frame: 0, bbox: A, label: 'person', trackId: 3 },
    { frame: 0, bbox: B, label: 'person' },
  ]);
  assert.equal(boxes.map((b) => b.trackId), ['track:3', 'detection:1']);
});

lsa.run();
clear.run();
inputs('a run without track ids has no tracking evaluation; one with them is scored against the session', () => {
  const track: Track = { id: 't1', label: 'person', attributes: {}, interpolation: 'linear' };
  const keyframes = [annotation({ id: 'k0', frame: 0, trackId: 't1' }), annotation({ id: 'k1', frame: 1, trackId: 't1' })];
  assert.is(evaluateRunTracking({ annotations: keyframes, tracks: [track], frameCount: 2 }, [{ frame: 0, bbox: A, label: 'person' }]), null);
  const r = evaluateRunTracking({ annotations: keyframes, tracks: [track], frameCount: 2 }, [0, 1].map((frame) => ({ frame, bbox: A, label: 'person', trackId: 'x' })));
  assert.equal([r?.overall.mota, r?.overall.idf1, r?.overall.groundTruthBoxes], [1, 1, 2]);
});

inputs.run();
