/**
 * HOTA (Luiten et al. 2021, "HOTA: A Higher Order Metric for Evaluating Multi-Object Tracking"), as
 * TrackEval's `metrics/hota.py` computes it for one sequence and combines it over classes:
 * - each (ground-truth id, tracker id) pair gets a global alignment score from every frame's
 *   IoU normalised by the rows and columns it competes with;
 * - on each frame, the assignment maximising alignment × IoU (`maxScoreAssignment`) is matched,
 *   and at each α in 0.05, 0.10, … 0.95 the pairs with IoU ≥ α − ε count as true positives;
 * - DetA = TP / (TP + FN + FP), AssA = Σ over TP of the pair's association Jaccard / TP,
 *   LocA = mean IoU of the TP, HOTA = √(DetA · AssA), each then averaged over the 19 α.
 * TrackEval's empty cases are kept: no tracker box (or no ground truth) gives LocA 1 and DetA 0;
 * denominators are max(1, ·), LocA's max(1e-10, ·).
 *
 *   const h = hotaCounts(sequence); hotaSummary(h).hota
 */
import { maxScoreAssignment, solveFrame, type FrameSolver, type SparseEntries } from './assignment.ts';
import { EPS, type TrackingSequence } from './sequence.ts';

/** np.arange(0.05, 0.99, 0.05) as numpy computes it (start + i · step). */
export const HOTA_ALPHAS: readonly number[] = Array.from({ length: 19 }, (_, i) => 0.05 + i * 0.05);
const A = HOTA_ALPHAS.length;

/** Per-α figures that TrackEval sums or weights when it combines classes. */
export interface HotaCounts {
  tp: Float64Array;
  fn: Float64Array;
  fp: Float64Array;
  assA: Float64Array;
  assRe: Float64Array;
  assPr: Float64Array;
  locA: Float64Array;
}

export interface HotaSummary {
  hota: number;
  deta: number;
  assa: number;
  locA: number;
}

/** Score alignment × IoU; a pair left out of the entries scores 0. */
const MAX_SCORE: FrameSolver = { fill: 0, solve: maxScoreAssignment };

const zeros = (): Float64Array => new Float64Array(A);

export function hotaCounts(seq: TrackingSequence): HotaCounts {
  const res: HotaCounts = { tp: zeros(), fn: zeros(), fp: zeros(), assA: zeros(), assRe: zeros(), assPr: zeros(), locA: zeros() };
  if (seq.trBoxes === 0 || seq.gtBoxes === 0) {
    res.fn.fill(seq.trBoxes === 0 ? seq.gtBoxes : 0);
    res.fp.fill(seq.trBoxes === 0 ? 0 : seq.trBoxes);
    res.locA.fill(1);
    return res;
  }
  const nt = seq.trIds.length;
  const gtCount = new Float64Array(seq.gtIds.length);
  const trCount = new Float64Array(nt);
  // Sparse over pairs that ever overlap: a key is g · nt + t.
  const potential = new Map<number, number>();
  for (const { gt, tr, pairs, iou } of seq.frames) {
    const rowSum = new Float64Array(gt.length);
    const colSum = new Float64Array(tr.length);
    for (let e = 0; e < iou.length; e++) {
      rowSum[pairs[2 * e]!]! += iou[e]!;
      colSum[pairs[2 * e + 1]!]! += iou[e]!;
    }
    for (let e = 0; e < iou.length; e++) {
      const i = pairs[2 * e]!;
      const j = pairs[2 * e + 1]!;
      const s = iou[e]!;
      const denom = colSum[j]! + rowSum[i]! - s;
      if (!(denom > EPS)) continue;
      const key = gt[i]! * nt + tr[j]!;
      potential.set(key, (potential.get(key) ?? 0) + s / denom);
    }
    for (const g of gt) gtCount[g]!++;
    for (const t of tr) trCount[t]!++;
  }
  const alignment = new Map<number, number>();
  for (const [key, p] of potential) alignment.set(key, p / (gtCount[Math.floor(key / nt)]! + trCount[key % nt]! - p));

  // Matches per pair and α; a pair matched at α is matched at every lower α too.
  const matches = new Map<number, Float64Array>();
  for (const { gt, tr, pairs, iou } of seq.frames) {
    const ng = gt.length;
    const ntf = tr.length;
    if (ng === 0 || ntf === 0) {
      for (let a = 0; a < A; a++) {
        res.fp[a]! += ntf;
        res.fn[a]! += ng;
      }
      continue;
    }
    const score: SparseEntries = { rows: [], cols: [], values: [] };
    const sim = new Map<number, number>();
    for (let e = 0; e < iou.length; e++) {
      const i = pairs[2 * e]!;
      const j = pairs[2 * e + 1]!;
      const v = (alignment.get(gt[i]! * nt + tr[j]!) ?? 0) * iou[e]!;
      sim.set(i * ntf + j, iou[e]!);
      if (!(v > 0)) continue;
      score.rows.push(i);
      score.cols.push(j);
      score.values.push(v);
    }
    const matched = solveFrame(score, { rows: ng, cols: ntf }, MAX_SCORE);
    // A pair at IoU s is matched at every α with s ≥ α − ε: the first `reach` of them.
    const passed = new Int32Array(A);
    for (const [i, j] of matched) {
      const s = sim.get(i * ntf + j)!;
      let reach = 0;
      while (reach < A && s >= HOTA_ALPHAS[reach]! - EPS) reach++;
      if (reach === 0) continue;
      passed[reach - 1]!++;
      const key = gt[i]! * nt + tr[j]!;
      let m = matches.get(key);
      if (!m) matches.set(key, (m = zeros()));
      for (let a = 0; a < reach; a++) {
        m[a]!++;
        res.locA[a]! += s;
      }
    }
    for (let a = A - 1, n = 0; a >= 0; a--) {
      n += passed[a]!;
      res.tp[a]! += n;
      res.fn[a]! += ng - n;
      res.fp[a]! += ntf - n;
    }
  }
  for (const [key, m] of matches) {
    const g = gtCount[Math.floor(key / nt)]!;
    const t = trCount[key % nt]!;
    for (let a = 0; a < A; a++) {
      const c = m[a]!;
      if (c === 0) continue;
      res.assA[a]! += (c * c) / Math.max(1, g + t - c);
      res.assRe[a]! += (c * c) / Math.max(1, g);
      res.assPr[a]! += (c * c) / Math.max(1, t);
    }
  }
  for (let a = 0; a < A; a++) {
    const tp = Math.max(1, res.tp[a]!);
    res.assA[a]! /= tp;
    res.assRe[a]! /= tp;
    res.assPr[a]! /= tp;
    res.locA[a] = Math.max(1e-10, res.locA[a]!) / Math.max(1e-10, res.tp[a]!);
  }
  return res;
}

/** TrackEval's `combine_classes_det_averaged`: counts summed, AssA and LocA weighted by TP. */
export function combineHota(parts: readonly HotaCounts[]): HotaCounts {
  const res: HotaCounts = { tp: zeros(), fn: zeros(), fp: zeros(), assA: zeros(), assRe: zeros(), assPr: zeros(), locA: zeros() };
  for (let a = 0; a < A; a++) {
    let loc = 0;
    for (const p of parts) {
      res.tp[a]! += p.tp[a]!;
      res.fn[a]! += p.fn[a]!;
      res.fp[a]! += p.fp[a]!;
      res.assA[a]! += p.assA[a]! * p.tp[a]!;
      res.assRe[a]! += p.assRe[a]! * p.tp[a]!;
      res.assPr[a]! += p.assPr[a]! * p.tp[a]!;
      loc += p.locA[a]! * p.tp[a]!;
    }
    const tp = Math.max(1, res.tp[a]!);
    res.assA[a]! /= tp;
    res.assRe[a]! /= tp;
    res.assPr[a]! /= tp;
    res.locA[a] = Math.max(1e-10, loc) / Math.max(1e-10, res.tp[a]!);
  }
  return res;
}

/** HOTA, DetA, AssA and LocA, each the mean over the 19 α (TrackEval's summary figures). */
export function hotaSummary(h: HotaCounts): HotaSummary {
  let hota = 0;
  let deta = 0;
  let assa = 0;
  let locA = 0;
  for (let a = 0; a < A; a++) {
    const d = h.tp[a]! / Math.max(1, h.tp[a]! + h.fn[a]! + h.fp[a]!);
    deta += d;
    assa += h.assA[a]!;
    hota += Math.sqrt(d * h.assA[a]!);
    locA += h.locA[a]!;
  }
  return { hota: hota / A, deta: deta / A, assa: assa / A, locA: locA / A };
}
