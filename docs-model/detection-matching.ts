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
 * Boxes packed as x1, y1, x2, y2, area with the arithmetic of evaluation.ts (x2 = x + w,
 * area = w * h, no +1 pixel); area 0 marks a box that overlaps nothing (w or h ≤ 0, or a
 * non-finite coordinate). Packed once, so the pair loop reads typed arrays, not tuples.
 */
const STRIDE = 5;
function pack(boxes: readonly { bbox: BBox }[]): Float64Array {
  const out = new Float64Array(boxes.length * STRIDE);
  for (let i = 0, at = 0; i < boxes.length; i++, at += STRIDE) {
    const b = boxes[i]!.bbox;
    const x = b[0];
    const y = b[1];
    const w = b[2];
    const h = b[3];
    out[at] = x;
    out[at + 1] = y;
    out[at + 2] = x + w;
    out[at + 3] = y + h;
    out[at + 4] = w > 0 && h > 0 && Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(w) && Number.isFinite(h) ? w * h : 0;
  }
  return out;
}

/** IoU of box i of `a` and box j of `b` (packed); 0 when either overlaps nothing. */
function overlap(a: Float64Array, i: number, b: Float64Array, j: number): number {
  const areaA = a[i + 4]!;
  const areaB = b[j + 4]!;
  if (areaA === 0 || areaB === 0) return 0;
  const iw = Math.min(a[i + 2]!, b[j + 2]!) - Math.max(a[i]!, b[j]!);
  if (!(iw > 0)) return 0;
  const ih = Math.min(a[i + 3]!, b[j + 3]!) - Math.max(a[i + 1]!, b[j + 1]!);
  if (!(ih > 0)) return 0;
  const inter = iw * ih;
  const v = inter / (areaA + areaB - inter);
  return Number.isFinite(v) ? v : 0;
}

/** Detections by score, highest first; ties by frame, then input order. */
export const scoreOrder = (detections: readonly DetectionBox[]): number[] => {
  // Typed copies: the comparator runs n log n times and reads two numbers per side.
  const scores = Float64Array.from(detections, (d) => d.score);
  const frames = Float64Array.from(detections, (d) => d.frame);
  return Array.from(detections.keys()).sort((a, b) => scores[b]! - scores[a]! || frames[a]! - frames[b]! || a - b);
};

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
  const gtBoxes = pack(groundTruth);
  const dtBoxes = pack(detections);
  for (const d of out.order) {
    if (opts.include?.detection && !opts.include.detection(d)) continue;
    const det = detections[d]!;
    const candidates = byGroup.get(keyOf(det.frame, det.label));
    if (!candidates) continue;
    let best = clamped;
    let m = -1;
    for (const g of candidates) {
      if (out.groundTruthMatch[g] !== -1) continue;
      const v = overlap(dtBoxes, d * STRIDE, gtBoxes, g * STRIDE);
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
