/**
 * One label's tracking sequence as the metrics read it: the frames that have a box, each with its
 * ground-truth and tracker boxes (in input order), dense id indices, and the IoU of every
 * ground-truth box with every tracker box of the frame, computed once and shared by CLEAR MOT,
 * the identity metrics and HOTA.
 *
 *   const seqs = buildSequences(groundTruth, tracker) // Map label → TrackingSequence
 *
 * IoU follows py-motmetrics (`distances.boxiou`) and TrackEval (`_calculate_box_ious`) rather than
 * pycocotools: areas are (x + w - x) · (y + h - y), as both compute them from the corners, and a box
 * with no area, or a union of none, overlaps nothing.
 */
import { invalidValue } from '../errors.ts';
import type { BBox } from '../types.ts';

/** A box with the identity it carries: a ground-truth track, or a tracker's output id. */
export interface TrackingBox {
  /** 0-based frame. */
  frame: number;
  bbox: BBox;
  label: string;
  trackId: string;
}

export interface SequenceFrame {
  frame: number;
  /** Dense ground-truth id index of each box on this frame, in input order. */
  gt: Int32Array;
  /** Dense tracker id index of each box on this frame, in input order. */
  tr: Int32Array;
  /** IoU, row-major: gt.length × tr.length. */
  iou: Float64Array;
}

export interface TrackingSequence {
  label: string;
  /** Frames with at least one box of this label, ascending. */
  frames: SequenceFrame[];
  gtIds: string[];
  trIds: string[];
  gtBoxes: number;
  trBoxes: number;
}

/** numpy's float64 machine epsilon, the tolerance TrackEval compares with. */
export const EPS = 2.220446049250313e-16;

interface Pending {
  gt: number[];
  tr: number[];
}

function checkBoxes(boxes: readonly TrackingBox[], side: string): void {
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i]!;
    if (!Number.isSafeInteger(b.frame) || b.frame < 0) throw invalidValue(`${side}[${i}].frame`, `frame must be an integer ≥ 0, got ${String(b.frame)}`);
    if (!Array.isArray(b.bbox) || b.bbox.length !== 4 || !b.bbox.every((v) => Number.isFinite(v))) {
      throw invalidValue(`${side}[${i}].bbox`, 'bbox must be four finite numbers [x, y, w, h]');
    }
    if (typeof b.trackId !== 'string' || b.trackId === '') throw invalidValue(`${side}[${i}].trackId`, 'trackId must be a non-empty string');
  }
}

/**
 * Groups both sides by label, then frame. One id twice on one frame of one label is refused: no
 * metric can say which of the two boxes is the object.
 */
export function buildSequences(groundTruth: readonly TrackingBox[], tracker: readonly TrackingBox[]): Map<string, TrackingSequence> {
  checkBoxes(groundTruth, 'groundTruth');
  checkBoxes(tracker, 'tracker');
  const byLabel = new Map<string, Map<number, Pending>>();
  const pending = (label: string, frame: number): Pending => {
    let frames = byLabel.get(label);
    if (!frames) byLabel.set(label, (frames = new Map()));
    let p = frames.get(frame);
    if (!p) frames.set(frame, (p = { gt: [], tr: [] }));
    return p;
  };
  groundTruth.forEach((b, i) => pending(b.label, b.frame).gt.push(i));
  tracker.forEach((b, i) => pending(b.label, b.frame).tr.push(i));

  const out = new Map<string, TrackingSequence>();
  for (const [label, frames] of byLabel) {
    const gtIndex = new Map<string, number>();
    const trIndex = new Map<string, number>();
    const seq: TrackingSequence = { label, frames: [], gtIds: [], trIds: [], gtBoxes: 0, trBoxes: 0 };
    const dense = (index: Map<string, number>, ids: string[], id: string): number => {
      let k = index.get(id);
      if (k === undefined) {
        index.set(id, (k = ids.length));
        ids.push(id);
      }
      return k;
    };
    for (const frame of [...frames.keys()].sort((a, b) => a - b)) {
      const p = frames.get(frame)!;
      const gt = Int32Array.from(p.gt, (i) => dense(gtIndex, seq.gtIds, groundTruth[i]!.trackId));
      const tr = Int32Array.from(p.tr, (i) => dense(trIndex, seq.trIds, tracker[i]!.trackId));
      refuseRepeats(gt, p.gt, 'groundTruth', seq.gtIds);
      refuseRepeats(tr, p.tr, 'tracker', seq.trIds);
      seq.frames.push({ frame, gt, tr, iou: iouMatrix(p.gt.map((i) => groundTruth[i]!.bbox), p.tr.map((i) => tracker[i]!.bbox)) });
      seq.gtBoxes += gt.length;
      seq.trBoxes += tr.length;
    }
    out.set(label, seq);
  }
  return out;
}

function refuseRepeats(ids: Int32Array, inputs: number[], side: string, names: string[]): void {
  if (ids.length < 2) return;
  const seen = new Set<number>();
  for (let k = 0; k < ids.length; k++) {
    if (seen.has(ids[k]!)) throw invalidValue(`${side}[${inputs[k]}].trackId`, `track ${names[ids[k]!]} has two boxes on one frame`);
    seen.add(ids[k]!);
  }
}

/** IoU of every `a` with every `b`, row-major, by the corner arithmetic of py-motmetrics and TrackEval. */
export function iouMatrix(a: readonly BBox[], b: readonly BBox[]): Float64Array {
  const out = new Float64Array(a.length * b.length);
  if (out.length === 0) return out;
  const bx1 = new Float64Array(b.length);
  const by1 = new Float64Array(b.length);
  const bx2 = new Float64Array(b.length);
  const by2 = new Float64Array(b.length);
  const bArea = new Float64Array(b.length);
  for (let j = 0; j < b.length; j++) {
    const [x, y, w, h] = b[j]!;
    bx1[j] = x;
    by1[j] = y;
    bx2[j] = x + w;
    by2[j] = y + h;
    bArea[j] = (bx2[j]! - x) * (by2[j]! - y);
  }
  for (let i = 0; i < a.length; i++) {
    const [x, y, w, h] = a[i]!;
    const ax2 = x + w;
    const ay2 = y + h;
    const aArea = (ax2 - x) * (ay2 - y);
    if (!(aArea > EPS)) continue;
    for (let j = 0, at = i * b.length; j < b.length; j++, at++) {
      const iw = Math.min(ax2, bx2[j]!) - Math.max(x, bx1[j]!);
      if (!(iw > 0)) continue;
      const ih = Math.min(ay2, by2[j]!) - Math.max(y, by1[j]!);
      if (!(ih > 0) || !(bArea[j]! > EPS)) continue;
      const inter = iw * ih;
      const union = aArea + bArea[j]! - inter;
      if (union > EPS) out[at] = inter / union;
    }
  }
  return out;
}
