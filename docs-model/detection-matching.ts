/**
 * Which detection matched which ground-truth box at one IoU threshold, by the rules
 * `evaluateDetections` counts tp/fp/fn and AP with (evaluation.ts, after pycocotools'
 * evaluateImg): per frame and label, detections by score (highest first; ties by frame, then
 * input order), each taking the not yet matched box of highest IoU ≥ threshold, the later box
 * winning among equal IoUs; ground truth with status 'rejected' takes no part. The error analysis
 * (confusion matrix, precision–recall curves, run comparison) is built on these pairs, so its
 * true positives are exactly the evaluation's (test/docs-model/evaluation-details.test.ts checks
 * that on random runs).
 *
 *   const m = matchDetections(groundTruth, detections)
 *   m.detectionMatch[d] // index of the ground-truth box detection d matched, or -1
 */
import type { DetectionBox, GroundTruthBox } from './evaluation.ts';
import type { BBox } from './types.ts';
import { invalidValue } from './errors.ts';

export interface DetectionMatches {
  iouThreshold: number;
  /** Per ground-truth box: the detection that matched it, -1 when none, -2 when rejected (left out). */
  groundTruthMatch: Int32Array;
  /** Per detection: the ground-truth box it matched, or -1. */
  detectionMatch: Int32Array;
  /** Detection indices by score, highest first (ties: frame, then input order): the AP's order. */
  order: number[];
}

export const REJECTED = -2;

export interface MatchOptions {
  iouThreshold?: number;
  /** Only boxes and detections for which this says true take part (the others stay -1). */
  include?: { groundTruth?: (g: number) => boolean; detection?: (d: number) => boolean };
  /** Match across labels (one group per frame): the confusion matrix's second pass. */
  labelAgnostic?: boolean;
}

/**
 * IoU with the arithmetic of evaluation.ts (x2 = x + w, area = w * h, no +1 pixel; a box with w or
 * h ≤ 0 or a non-finite coordinate overlaps nothing), inline: `iou()` allocates per call, and
 * the error analysis calls it once per candidate pair.
 */
const overlap = (a: BBox, b: BBox): number => {
  const [ax, ay, aw, ah] = a;
  const [bx, by, bw, bh] = b;
  if (!(aw > 0 && ah > 0 && bw > 0 && bh > 0 && Number.isFinite(ax + ay + aw + ah + bx + by + bw + bh))) return 0;
  const iw = Math.min(ax + aw, bx + bw) - Math.max(ax, bx);
  if (!(iw > 0)) return 0;
  const ih = Math.min(ay + ah, by + bh) - Math.max(ay, by);
  if (!(ih > 0)) return 0;
  const inter = iw * ih;
  const v = inter / (aw * ah + bw * bh - inter);
  return Number.isFinite(v) ? v : 0;
};

/** Detections by score, highest first; ties by frame, then input order. */
export const scoreOrder = (detections: readonly DetectionBox[]): number[] =>
  Array.from(detections.keys()).sort((a, b) => detections[b]!.score - detections[a]!.score || detections[a]!.frame - detections[b]!.frame || a - b);

/** Greedy matching at one threshold. */
export function matchDetections(groundTruth: readonly GroundTruthBox[], detections: readonly DetectionBox[], opts: MatchOptions = {}): DetectionMatches {
  const threshold = opts.iouThreshold ?? 0.5;
  if (!(Number.isFinite(threshold) && threshold > 0 && threshold <= 1)) throw invalidValue('iouThreshold', `iouThreshold must be a number in (0, 1], got ${String(threshold)}`);
  for (let i = 0; i < detections.length; i++) {
    if (!Number.isFinite(detections[i]!.score)) throw invalidValue(`detections[${i}].score`, `detection score must be a finite number, got ${String(detections[i]!.score)}`);
  }
  const out: DetectionMatches = {
    iouThreshold: threshold,
    groundTruthMatch: new Int32Array(groundTruth.length).fill(-1),
    detectionMatch: new Int32Array(detections.length).fill(-1),
    order: scoreOrder(detections),
  };
  const clamped = Math.min(threshold, 1 - 1e-10); // as pycocotools: a threshold of 1 accepts a float-exact overlap
  const keyOf = (frame: number, label: string): string => (opts.labelAgnostic ? String(frame) : `${frame}\u0000${label}`);
  const byGroup = new Map<string, number[]>();
  for (let g = 0; g < groundTruth.length; g++) {
    if (groundTruth[g]!.status === 'rejected') {
      out.groundTruthMatch[g] = REJECTED;
      continue;
    }
    if (opts.include?.groundTruth && !opts.include.groundTruth(g)) continue;
    const key = keyOf(groundTruth[g]!.frame, groundTruth[g]!.label);
    const list = byGroup.get(key);
    if (list) list.push(g);
    else byGroup.set(key, [g]);
  }
  for (const d of out.order) {
    if (opts.include?.detection && !opts.include.detection(d)) continue;
    const det = detections[d]!;
    const candidates = byGroup.get(keyOf(det.frame, det.label));
    if (!candidates) continue;
    let best = clamped;
    let m = -1;
    for (const g of candidates) {
      if (out.groundTruthMatch[g] !== -1) continue;
      const v = overlap(det.bbox, groundTruth[g]!.bbox);
      if (v < best) continue; // pycocotools' rule: equal IoU → the later box wins
      best = v;
      m = g;
    }
    if (m >= 0) {
      out.groundTruthMatch[m] = d;
      out.detectionMatch[d] = m;
    }
  }
  return out;
}
