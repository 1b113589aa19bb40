/**
 * Evaluation numbers: `npx tsx bench/evaluation.ts [seed]`.
 * 100 000 detections against 100 000 ground-truth boxes over 1 000 frames and 5 labels (target
 * < 2 s). Each box is found by a jittered detection 80 % of the time (some with the wrong label);
 * the rest of the detections are false positives anywhere in the frame. A denser variant (the same
 * counts over 100 frames, 200 boxes per label and frame) shows the cost of the per-group IoU matrix.
 */
import { evaluateDetections, type DetectionBox, type GroundTruthBox } from '../docs-model/evaluation.ts';
import type { BBox } from '../docs-model/types.ts';

const seed = Number(process.argv[2] ?? 42);
const LABELS = ['car', 'person', 'bike', 'truck', 'dog'];

/** mulberry32: small, seeded, and good enough for synthetic boxes. */
const random = (s: number): (() => number) => () => {
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};

function scene(boxes: number, frames: number): { truth: GroundTruthBox[]; found: DetectionBox[] } {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const somewhere = (): BBox => [rnd() * 1800, rnd() * 1000, 20 + rnd() * 100, 20 + rnd() * 100];
  const truth: GroundTruthBox[] = [];
  const found: DetectionBox[] = [];
  for (let i = 0; i < boxes; i++) {
    const frame = i % frames;
    const label = LABELS[i % LABELS.length]!;
    const bbox = somewhere();
    truth.push({ frame, bbox, label, annotationId: `a${i}`, detectionId: i % 10 === 0 ? `d${i}` : null, status: i % 50 === 0 ? 'rejected' : 'validated' });
    if (rnd() < 0.8) {
      const [x, y, w, h] = bbox;
      const j = (): number => (rnd() - 0.5) * 0.3;
      found.push({ frame, bbox: [x + j() * w, y + j() * h, w * (1 + j()), h * (1 + j())], label: rnd() < 0.95 ? label : pick(LABELS), score: rnd(), detectionId: `d${i}` });
    }
  }
  while (found.length < boxes) found.push({ frame: Math.floor(rnd() * frames), bbox: somewhere(), label: pick(LABELS), score: rnd() * 0.7, detectionId: null });
  return { truth, found };
}

const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;

function run(name: string, boxes: number, frames: number, target?: number): void {
  const { truth, found } = scene(boxes, frames);
  const times: number[] = [];
  let result = evaluateDetections(truth, found);
  const heapBefore = process.memoryUsage().heapUsed;
  for (let k = 0; k < 5; k++) {
    const t = performance.now();
    result = evaluateDetections(truth, found);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const o = result.overall;
  console.log(
    `${name}: ${found.length} detections × ${truth.length} boxes, ${frames} frames, ${LABELS.length} labels: ` +
      `best ${times[0]!.toFixed(0)} ms, median ${times[2]!.toFixed(0)} ms${target ? ` (target < ${target} ms)` : ''}; ` +
      `heap ${mb(process.memoryUsage().heapUsed)} (${mb(heapBefore)} before)`,
  );
  console.log(
    `  overall tp ${o.tp} fp ${o.fp} fn ${o.fn}, precision ${o.precision.toFixed(3)}, recall ${o.recall.toFixed(3)}, f1 ${o.f1.toFixed(3)}, ` +
      `ap50 ${o.ap50.toFixed(3)}, ap ${o.ap.toFixed(3)}; ${result.linked?.length ?? 0} links`,
  );
}

console.log(`seed ${seed}, node ${process.version}`);
// One cold run first: the first call includes JIT warm-up, which a server pays once.
{
  const { truth, found } = scene(100_000, 1_000);
  const t = performance.now();
  evaluateDetections(truth, found);
  console.log(`cold first call (100 000 × 100 000): ${(performance.now() - t).toFixed(0)} ms (target < 2000)`);
}
run('sparse', 100_000, 1_000, 2_000);
run('dense ', 100_000, 100);
