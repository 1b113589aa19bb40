/**
 * Detection metrics of a model run against ground truth: pure, plain data
 * in and out, no Node APIs, so the server and a browser compute the same numbers.
 *
 *   evaluateDetections(
 *     [{ frame: 0, bbox: [0, 0, 10, 10], label: 'car' }],
 *     [{ frame: 0, bbox: [1, 0, 10, 10], label: 'car', score: 0.9 }],
 *   ) // → { overall: { tp: 1, fp: 0, fn: 0, precision: 1, recall: 1, f1: 1, ap50: 1, ap: 0.7 }, … }
 *
 * Semantics, following pycocotools' COCOeval for bbox (evaluateImg + accumulate), with frames as
 * image ids, one area range ('all') and no crowd boxes:
 * - Ground truth with status 'rejected' is left out of the metrics (it still reports its verdict
 *   in `linked`). The caller expands tracks per frame first (`expandTrack`).
 * - IoU is plain intersection over union of [x, y, w, h] boxes (no +1 pixel); a box with w or
 *   h ≤ 0, or with a non-finite coordinate, has IoU 0 with every box (pycocotools would give NaN).
 * - Matching is per frame and per label: detections in order of score, highest first, ties kept
 *   in input order; each takes the not yet matched ground-truth box of highest IoU ≥ threshold
 *   (IoU exactly at the threshold matches; among equal IoUs the later box in input order wins,
 *   as pycocotools' `if ious[d, g] < iou: continue` does). Several detections on one box: the
 *   best-scored one is a tp, the others fp. Detections on a frame without ground truth are fp.
 * - tp, fp, fn at `iouThreshold` (default 0.5). precision = tp / (tp + fp), recall =
 *   tp / (tp + fn), f1 = 2tp / (2tp + fp + fn); each is 0 when its denominator is 0 (no
 *   detections, or no ground truth), so every number is finite JSON. A label with detections
 *   only has recall 0 (pycocotools would report -1, which is not a rate); `tp + fn === 0` tells
 *   a caller the label had no ground truth.
 * - AP per IoU threshold: the label's detections over all frames sorted by score (ties: frame
 *   ascending, then input order, which is pycocotools' order with frame numbers as image ids),
 *   cumulative tp and fp, precision made monotone from the right, sampled at recall 0:0.01:1
 *   (first point with recall ≥ r; 0 past the highest recall), mean of the 101 samples.
 *   `ap50` at IoU 0.5, `ap` the mean over IoU 0.50:0.05:0.95 (numpy.linspace values). pycocotools
 *   divides by tp + fp + ε; we do not (tp + fp ≥ 1 there), so a perfect run gives exactly 1 and
 *   other values differ from pycocotools by rounding only. A label without ground truth has AP
 *   0; a label with ground truth and no detections has AP 0.
 * - No cap on detections per frame: pycocotools drops all but the 100 best per image and
 *   category (maxDets), which would hide false positives from a validation report.
 * - overall: tp, fp, fn summed over labels, precision, recall, f1 from those sums; ap50 and ap
 *   the mean over the labels present in ground truth (COCO's mAP), 0 when there is none.
 * - `linked`: for each detection with a `detectionId` (first occurrence), each ground-truth
 *   annotation carrying that `detectionId` and an `annotationId`, with its status as verdict
 *   ('draft' when absent); rejected annotations included. Links do not change the metrics.
 */
import { invalidValue } from './errors.ts';
import type { BBox } from './types.ts';
import { compareStrings } from './values.ts';

export type Verdict = 'validated' | 'rejected' | 'draft';

export interface GroundTruthBox {
  frame: number;
  bbox: BBox;
  label: string;
  annotationId?: string | null;
  /** The model detection this annotation confirms or corrects (the annotation's `detectionId`). */
  detectionId?: string | null;
  status?: Verdict;
}

export interface DetectionBox {
  frame: number;
  bbox: BBox;
  label: string;
  score: number;
  detectionId?: string | null;
}

export interface LabelMetrics {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
  ap50: number;
  ap: number;
}

export interface Link {
  detectionId: string;
  annotationId: string;
  verdict: Verdict;
}

export interface Evaluation {
  overall: LabelMetrics;
  perLabel: Record<string, LabelMetrics>;
  iouThreshold: number;
  linked?: Link[];
}

export interface EvaluateOptions {
  /** IoU at which tp, fp, fn, precision, recall and f1 are counted; (0, 1], default 0.5. */
  iouThreshold?: number;
}

/** IoU 0.50:0.05:0.95 exactly as numpy.linspace(.5, .95, 10) gives them (0.9 is 0.8999999999999999). */
export const COCO_IOU_THRESHOLDS: readonly number[] = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5));
/** Recall 0:0.01:1 as numpy.linspace(0, 1, 101) gives them. */
export const COCO_RECALL_THRESHOLDS: readonly number[] = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * (1 / 100)));

/**
 * Boxes packed as x1, y1, x2, y2, area; area 0 marks a box that overlaps nothing (w or h ≤ 0,
 * or a non-finite coordinate). Packing once keeps the IoU loop on typed arrays.
 */
const STRIDE = 5;
function packBoxes(boxes: readonly { bbox: BBox }[]): Float64Array {
  const out = new Float64Array(boxes.length * STRIDE);
  for (let i = 0; i < boxes.length; i++) packBox(boxes[i]!.bbox, out, i * STRIDE);
  return out;
}
function packBox(b: BBox, out: Float64Array, at: number): void {
  const x = b[0];
  const y = b[1];
  const w = b[2];
  const h = b[3];
  const ok = w > 0 && h > 0 && Number.isFinite(x) && Number.isFinite(y) && Number.isFinite(w) && Number.isFinite(h);
  out[at] = x;
  out[at + 1] = y;
  out[at + 2] = x + w;
  out[at + 3] = y + h;
  out[at + 4] = ok ? w * h : 0;
}
/** IoU of two packed boxes, given as scalars so the hot loop keeps them in registers. */
function overlap(ax1: number, ay1: number, ax2: number, ay2: number, areaA: number, bx1: number, by1: number, bx2: number, by2: number, areaB: number): number {
  if (areaA === 0 || areaB === 0) return 0;
  const iw = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  if (!(iw > 0)) return 0;
  const ih = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (!(ih > 0)) return 0;
  const inter = iw * ih;
  // Overflowing areas give NaN here; NaN never reaches a threshold, and iou() reports 0.
  return inter / (areaA + areaB - inter);
}

/** Intersection over union of two [x, y, w, h] boxes; 0 for degenerate or non-finite boxes. */
export function iou(a: BBox, b: BBox): number {
  const packed = new Float64Array(2 * STRIDE);
  packBox(a, packed, 0);
  packBox(b, packed, STRIDE);
  const out = overlap(packed[0]!, packed[1]!, packed[2]!, packed[3]!, packed[4]!, packed[5]!, packed[6]!, packed[7]!, packed[8]!, packed[9]!);
  return Number.isFinite(out) ? out : 0;
}

/** One frame of one label: indices into the (filtered) ground truth and the detections. */
interface Group {
  gt: number[];
  /** Detection indices, already in score order. */
  dt: number[];
}

const ratio = (num: number, den: number): number => (den > 0 ? num / den : 0);

const metrics = (tp: number, fp: number, fn: number, ap50: number, ap: number): LabelMetrics => ({
  tp,
  fp,
  fn,
  precision: ratio(tp, tp + fp),
  recall: ratio(tp, tp + fn),
  f1: ratio(2 * tp, 2 * tp + fp + fn),
  ap50,
  ap,
});

/**
 * Greedy matching of one group at every threshold; sets bit t of `matched[d]` when detection d
 * is a tp at thresholds[t]. IoUs are computed once; only pairs at or above the lowest threshold
 * are kept (in ground-truth order, which the tie rule needs), so each threshold's pass walks a
 * detection's few candidates instead of every box of the frame.
 */
function matchGroup(group: Group, gtBoxes: Float64Array, dtBoxes: Float64Array, thresholds: readonly number[], lowest: number, matched: Uint32Array): void {
  const ng = group.gt.length;
  const nd = group.dt.length;
  if (ng === 0 || nd === 0) return;
  const first = new Int32Array(nd + 1);
  const candidate: number[] = [];
  const candidateIou: number[] = [];
  // The group's boxes side by side, so the nd × ng loop reads contiguous memory.
  const local = new Float64Array(ng * STRIDE);
  for (let g = 0; g < ng; g++) local.set(gtBoxes.subarray(group.gt[g]! * STRIDE, group.gt[g]! * STRIDE + STRIDE), g * STRIDE);
  for (let d = 0; d < nd; d++) {
    const di = group.dt[d]! * STRIDE;
    const ax1 = dtBoxes[di]!;
    const ay1 = dtBoxes[di + 1]!;
    const ax2 = dtBoxes[di + 2]!;
    const ay2 = dtBoxes[di + 3]!;
    const areaA = dtBoxes[di + 4]!;
    if (areaA !== 0) {
      for (let g = 0, gi = 0; g < ng; g++, gi += STRIDE) {
        const v = overlap(ax1, ay1, ax2, ay2, areaA, local[gi]!, local[gi + 1]!, local[gi + 2]!, local[gi + 3]!, local[gi + 4]!);
        if (v >= lowest) {
          candidate.push(g);
          candidateIou.push(v);
        }
      }
    }
    first[d + 1] = candidate.length;
  }
  if (candidate.length === 0) return;
  const taken = new Uint8Array(ng);
  for (let t = 0; t < thresholds.length; t++) {
    taken.fill(0);
    const threshold = thresholds[t]!;
    for (let d = 0; d < nd; d++) {
      // pycocotools' loop: a box replaces the best so far unless its IoU is lower, so among
      // equal IoUs the later box wins.
      let best = threshold;
      let m = -1;
      for (let c = first[d]!; c < first[d + 1]!; c++) {
        const g = candidate[c]!;
        if (taken[g]) continue;
        const v = candidateIou[c]!;
        if (v < best) continue;
        best = v;
        m = g;
      }
      if (m >= 0) {
        taken[m] = 1;
        matched[group.dt[d]!]! |= 1 << t;
      }
    }
  }
}

/** 101-point interpolated AP of one label at threshold bit t (pycocotools' accumulate). */
function averagePrecision(order: readonly number[], matched: Uint32Array, bit: number, groundTruthCount: number): number {
  const nd = order.length;
  if (groundTruthCount === 0 || nd === 0) return 0;
  const precision = new Float64Array(nd);
  const recall = new Float64Array(nd);
  let tp = 0;
  for (let i = 0; i < nd; i++) {
    if (matched[order[i]!]! & bit) tp++;
    precision[i] = tp / (i + 1);
    recall[i] = tp / groundTruthCount;
  }
  for (let i = nd - 1; i > 0; i--) if (precision[i]! > precision[i - 1]!) precision[i - 1] = precision[i]!;
  let sum = 0;
  let i = 0;
  for (const r of COCO_RECALL_THRESHOLDS) {
    while (i < nd && recall[i]! < r) i++;
    if (i === nd) break;
    sum += precision[i]!;
  }
  return sum / COCO_RECALL_THRESHOLDS.length;
}

function checkInputs(detections: readonly DetectionBox[], iouThreshold: number): void {
  if (!(Number.isFinite(iouThreshold) && iouThreshold > 0 && iouThreshold <= 1)) {
    throw invalidValue('iouThreshold', `iouThreshold must be a number in (0, 1], got ${String(iouThreshold)}`);
  }
  // A NaN score would make the sort order undefined, and with it every number below.
  for (let i = 0; i < detections.length; i++) {
    if (!Number.isFinite(detections[i]!.score)) {
      throw invalidValue(`detections[${i}].score`, `detection score must be a finite number, got ${String(detections[i]!.score)}`);
    }
  }
}

function collectLinks(groundTruth: readonly GroundTruthBox[], detections: readonly DetectionBox[]): Link[] {
  const byDetection = new Map<string, Map<string, Verdict>>();
  for (const g of groundTruth) {
    if (g.detectionId == null || g.annotationId == null) continue;
    let annotations = byDetection.get(g.detectionId);
    if (!annotations) byDetection.set(g.detectionId, (annotations = new Map()));
    if (!annotations.has(g.annotationId)) annotations.set(g.annotationId, g.status ?? 'draft');
  }
  const links: Link[] = [];
  const seen = new Set<string>();
  for (const d of detections) {
    if (d.detectionId == null || seen.has(d.detectionId)) continue;
    seen.add(d.detectionId);
    for (const [annotationId, verdict] of byDetection.get(d.detectionId) ?? []) links.push({ detectionId: d.detectionId, annotationId, verdict });
  }
  return links;
}

export function evaluateDetections(groundTruth: readonly GroundTruthBox[], detections: readonly DetectionBox[], opts: EvaluateOptions = {}): Evaluation {
  const iouThreshold = opts.iouThreshold ?? 0.5;
  checkInputs(detections, iouThreshold);
  const thresholds = [...COCO_IOU_THRESHOLDS];
  let countAt = thresholds.indexOf(iouThreshold);
  if (countAt < 0) countAt = thresholds.push(iouThreshold) - 1;
  // pycocotools: iou = min([t, 1 - 1e-10]), so a threshold of 1 accepts a float-exact overlap.
  const clamped = thresholds.map((t) => Math.min(t, 1 - 1e-10));
  const lowest = Math.min(...clamped);

  const gt = groundTruth.filter((g) => g.status !== 'rejected');
  // Score descending, then frame, then input order: within a frame that is pycocotools'
  // per-image order, across frames its accumulate order (images sorted by id, mergesort).
  const scores = Float64Array.from(detections, (d) => d.score);
  const frames = Float64Array.from(detections, (d) => d.frame);
  const order = Array.from(detections.keys()).sort((a, b) => scores[b]! - scores[a]! || frames[a]! - frames[b]! || a - b);

  const groups = new Map<string, Map<number, Group>>();
  const groupOf = (label: string, frame: number): Group => {
    let byFrame = groups.get(label);
    if (!byFrame) groups.set(label, (byFrame = new Map()));
    let group = byFrame.get(frame);
    if (!group) byFrame.set(frame, (group = { gt: [], dt: [] }));
    return group;
  };
  const groundTruthCount = new Map<string, number>();
  const labelOrder = new Map<string, number[]>();
  for (let i = 0; i < gt.length; i++) {
    const g = gt[i]!;
    groupOf(g.label, g.frame).gt.push(i);
    groundTruthCount.set(g.label, (groundTruthCount.get(g.label) ?? 0) + 1);
  }
  for (const i of order) {
    const d = detections[i]!;
    groupOf(d.label, d.frame).dt.push(i);
    let list = labelOrder.get(d.label);
    if (!list) labelOrder.set(d.label, (list = []));
    list.push(i);
  }

  const matched = new Uint32Array(detections.length);
  const gtBoxes = packBoxes(gt);
  const dtBoxes = packBoxes(detections);
  for (const byFrame of groups.values()) for (const group of byFrame.values()) matchGroup(group, gtBoxes, dtBoxes, clamped, lowest, matched);

  const countBit = 1 << countAt;
  const labels = [...groups.keys()].sort(compareStrings);
  const perLabel: [string, LabelMetrics][] = [];
  let tpSum = 0;
  let fpSum = 0;
  let fnSum = 0;
  let ap50Sum = 0;
  let apSum = 0;
  let withGroundTruth = 0;
  for (const label of labels) {
    const dets = labelOrder.get(label) ?? [];
    const ngt = groundTruthCount.get(label) ?? 0;
    let tp = 0;
    for (const i of dets) if (matched[i]! & countBit) tp++;
    const apAt = COCO_IOU_THRESHOLDS.map((_, t) => averagePrecision(dets, matched, 1 << t, ngt));
    const ap = apAt.reduce((s, v) => s + v, 0) / apAt.length;
    const m = metrics(tp, dets.length - tp, ngt - tp, apAt[0]!, ap);
    perLabel.push([label, m]);
    tpSum += m.tp;
    fpSum += m.fp;
    fnSum += m.fn;
    if (ngt > 0) {
      withGroundTruth++;
      ap50Sum += m.ap50;
      apSum += m.ap;
    }
  }
  return {
    overall: metrics(tpSum, fpSum, fnSum, ratio(ap50Sum, withGroundTruth), ratio(apSum, withGroundTruth)),
    // fromEntries defines own properties, so a label named '__proto__' stays a label.
    perLabel: Object.fromEntries(perLabel),
    iouThreshold,
    linked: collectLinks(groundTruth, detections),
  };
}
