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
  /**
   * The overlapping pairs only (IoU > 0), ordered by ground-truth row then tracker column: `pairs`
   * holds row, column, row, column …, `iou` one value per pair. A dense matrix per frame would hold
   * 10 000 numbers for 100 objects, 720 MB over 9 000 frames, almost all of them 0.
   */
  pairs: Int32Array;
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
      refuseRepeats(gt, p.gt, { side: 'groundTruth', names: seq.gtIds, label, frame });
      refuseRepeats(tr, p.tr, { side: 'tracker', names: seq.trIds, label, frame });
      seq.frames.push({ frame, gt, tr, ...overlaps(p.gt.map((i) => groundTruth[i]!.bbox), p.tr.map((i) => tracker[i]!.bbox)) });
      seq.gtBoxes += gt.length;
      seq.trBoxes += tr.length;
    }
    out.set(label, seq);
  }
  return out;
}

function refuseRepeats(ids: Int32Array, inputs: number[], at: { side: string; names: string[]; label: string; frame: number }): void {
  if (ids.length < 2) return;
  const seen = new Set<number>();
  for (let k = 0; k < ids.length; k++) {
    if (seen.has(ids[k]!)) throw invalidValue(`${at.side}[${inputs[k]}].trackId`, `track ${at.names[ids[k]!]} has two boxes of label ${at.label} on frame ${at.frame}`);
    seen.add(ids[k]!);
  }
}

/** IoU of two [x, y, w, h] boxes by the corner arithmetic of py-motmetrics and TrackEval; 0 when they do not overlap. */
export function boxIou(a: BBox, b: BBox): number {
  const ax2 = a[0] + a[2];
  const ay2 = a[1] + a[3];
  const bx2 = b[0] + b[2];
  const by2 = b[1] + b[3];
  const aArea = (ax2 - a[0]) * (ay2 - a[1]);
  const bArea = (bx2 - b[0]) * (by2 - b[1]);
  if (!(aArea > EPS) || !(bArea > EPS)) return 0;
  const iw = Math.min(ax2, bx2) - Math.max(a[0], b[0]);
  const ih = Math.min(ay2, by2) - Math.max(a[1], b[1]);
  if (!(iw > 0) || !(ih > 0)) return 0;
  const inter = iw * ih;
  const union = aArea + bArea - inter;
  return union > EPS ? inter / union : 0;
}

/**
 * The overlapping pairs of `a` × `b` and their IoU, ordered by row then column. `b` is swept in
 * order of its left edge, so a row looks only at boxes that can reach it horizontally.
 */
export function overlaps(a: readonly BBox[], b: readonly BBox[]): { pairs: Int32Array; iou: Float64Array } {
  const pairs: number[] = [];
  const values: number[] = [];
  if (a.length > 0 && b.length > 0) {
    const order = Array.from(b.keys()).sort((p, q) => b[p]![0] - b[q]![0]);
    const left = Float64Array.from(order, (j) => b[j]![0]);
    let widest = 0;
    for (const box of b) widest = Math.max(widest, box[2]);
    const hits: number[] = [];
    for (let i = 0; i < a.length; i++) {
      const box = a[i]!;
      const right = box[0] + box[2];
      // First b whose left edge is past box's left edge minus the widest b: none before can reach it.
      let lo = 0;
      let hi = left.length;
      const from = box[0] - widest;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (left[mid]! < from) lo = mid + 1;
        else hi = mid;
      }
      hits.length = 0;
      for (let k = lo; k < left.length && left[k]! < right; k++) {
        const v = boxIou(box, b[order[k]!]!);
        if (v > 0) hits.push(order[k]!, v);
      }
      // Back into column order: a few hits, so an insertion sort of the (column, IoU) pairs.
      for (let x = 2; x < hits.length; x += 2) {
        const j = hits[x]!;
        const v = hits[x + 1]!;
        let y = x - 2;
        for (; y >= 0 && hits[y]! > j; y -= 2) {
          hits[y + 2] = hits[y]!;
          hits[y + 3] = hits[y + 1]!;
        }
        hits[y + 2] = j;
        hits[y + 3] = v;
      }
      for (let x = 0; x < hits.length; x += 2) {
        pairs.push(i, hits[x]!);
        values.push(hits[x + 1]!);
      }
    }
  }
  return { pairs: Int32Array.from(pairs), iou: Float64Array.from(values) };
}
