/**
 * CLEAR MOT counts of one label's sequence (Bernardin & Stiefelhagen 2008), event by event as
 * py-motmetrics' `MOTAccumulator.update` makes them, over the frames `utils.compare_to_groundtruth`
 * visits (those with a box of either side):
 * 1. a ground-truth object matched on the previous visited frame keeps its tracker id if that id is
 *    on this frame within the IoU threshold (distance 1 − IoU ≤ 1 − threshold);
 * 2. the rest are assigned with the most pairs, then the least summed distance (`assignment.ts`);
 *    a pair whose object was last matched to another tracker id — on any earlier frame — is an
 *    identity switch;
 * 3. objects left over are misses, tracker boxes left over false positives.
 * Fragmentations: for each object, the runs of misses between its first and last tracked frame.
 * Mostly tracked: tracked on ≥ 80 % of the frames it is on; partially: ≥ 20 %; mostly lost: the rest.
 *
 *   clearCounts(sequence, 0.5) // → { matches, switches, misses, falsePositives, … }
 */
import { minCostAssignment, solveFrame, type FrameSolver, type SparseEntries } from './assignment.ts';
import type { TrackingSequence } from './sequence.ts';

export interface ClearCounts {
  objects: number;
  predictions: number;
  /** Matched ground-truth boxes, identity switches included (py-motmetrics' num_detections). */
  matches: number;
  switches: number;
  misses: number;
  falsePositives: number;
  fragmentations: number;
  mostlyTracked: number;
  partiallyTracked: number;
  mostlyLost: number;
  /** Sum of the IoU of the matches (MOTP as TrackEval states it is iouSum / matches). */
  iouSum: number;
  /** Sum of 1 − IoU of the matches (py-motmetrics' MOTP is distanceSum / matches). */
  distanceSum: number;
}

export const emptyClear = (): ClearCounts => ({
  objects: 0,
  predictions: 0,
  matches: 0,
  switches: 0,
  misses: 0,
  falsePositives: 0,
  fragmentations: 0,
  mostlyTracked: 0,
  partiallyTracked: 0,
  mostlyLost: 0,
  iouSum: 0,
  distanceSum: 0,
});

/** Cost 1 − IoU; a pair left out of the entries cannot be matched (NaN, as py-motmetrics marks it). */
const MIN_COST: FrameSolver = { fill: Number.NaN, solve: minCostAssignment };

const pairIou = (e: SparseEntries, i: number, j: number): number => {
  for (let k = 0; k < e.rows.length; k++) if (e.rows[k] === i && e.cols[k] === j) return e.values[k]!;
  return 0;
};

export function clearCounts(seq: TrackingSequence, threshold: number): ClearCounts {
  const out = emptyClear();
  const maxDistance = 1 - threshold;
  const objects = seq.gtIds.length;
  const lastHyp = new Int32Array(objects).fill(-1);
  const lastMatch = new Int32Array(objects).fill(-2);
  const present = new Int32Array(objects);
  const tracked = new Int32Array(objects);
  const missSinceTracked = new Uint8Array(objects);

  const match = (o: number, h: number, iou: number, pos: number): void => {
    out.matches++;
    out.iouSum += iou;
    out.distanceSum += 1 - iou;
    tracked[o]!++;
    if (missSinceTracked[o]) {
      out.fragmentations++;
      missSinceTracked[o] = 0;
    }
    lastHyp[o] = h;
    lastMatch[o] = pos;
  };

  for (let pos = 0; pos < seq.frames.length; pos++) {
    const { gt, tr, pairs, iou } = seq.frames[pos]!;
    const ng = gt.length;
    const nt = tr.length;
    out.objects += ng;
    out.predictions += nt;
    const gtDone = new Uint8Array(ng);
    const trDone = new Uint8Array(nt);
    if (iou.length > 0) {
      // 1. Carry over the previous frame's matches.
      for (let i = 0, k = 0; i < ng; i++) {
        const o = gt[i]!;
        const from = k;
        while (k < iou.length && pairs[2 * k] === i) k++;
        if (lastHyp[o]! < 0 || lastMatch[o] !== pos - 1) continue;
        const j = tr.indexOf(lastHyp[o]!);
        if (j < 0 || trDone[j]) continue;
        for (let e = from; e < k; e++) {
          if (pairs[2 * e + 1] !== j || 1 - iou[e]! > maxDistance) continue;
          gtDone[i] = 1;
          trDone[j] = 1;
          match(o, tr[j]!, iou[e]!, pos);
        }
      }
      // 2. Assign the rest, among pairs within the threshold.
      const rest: SparseEntries = { rows: [], cols: [], values: [] };
      for (let e = 0; e < iou.length; e++) {
        const i = pairs[2 * e]!;
        const j = pairs[2 * e + 1]!;
        if (gtDone[i] || trDone[j] || 1 - iou[e]! > maxDistance) continue;
        rest.rows.push(i);
        rest.cols.push(j);
        rest.values.push(iou[e]!);
      }
      for (const [i, j] of solveFrame({ ...rest, values: rest.values.map((v) => 1 - v) }, { rows: ng, cols: nt }, MIN_COST)) {
        const o = gt[i]!;
        const h = tr[j]!;
        if (lastHyp[o]! >= 0 && lastHyp[o] !== h) out.switches++;
        gtDone[i] = 1;
        trDone[j] = 1;
        match(o, h, pairIou(rest, i, j), pos);
      }
    }
    // 3. Misses and false positives.
    for (let i = 0; i < ng; i++) {
      present[gt[i]!]!++;
      if (gtDone[i]) continue;
      out.misses++;
      if (tracked[gt[i]!]! > 0) missSinceTracked[gt[i]!] = 1;
    }
    for (let j = 0; j < nt; j++) if (!trDone[j]) out.falsePositives++;
  }
  // py-motmetrics' track_ratios: MATCH and SWITCH events over the frames the object is on.
  for (let o = 0; o < objects; o++) {
    const ratio = tracked[o]! / present[o]!;
    if (ratio >= 0.8) out.mostlyTracked++;
    else if (ratio >= 0.2) out.partiallyTracked++;
    else out.mostlyLost++;
  }
  return out;
}

/** Sums of several labels' counts (py-motmetrics' OVERALL row: every count adds up). */
export function addClear(into: ClearCounts, c: ClearCounts): ClearCounts {
  for (const k of Object.keys(into) as (keyof ClearCounts)[]) into[k]! += c[k];
  return into;
}
