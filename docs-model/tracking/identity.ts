/**
 * Identity metrics (Ristani et al. 2016, "Performance Measures and a Data Set for Multi-Target,
 * Multi-Camera Tracking"): one global one-to-one matching of ground-truth ids to tracker ids that
 * maximises the boxes they share, a box pair counting when its IoU is within the threshold on a
 * frame both are on. IDTP is that maximum; IDFN and IDFP are the boxes left out on each side.
 * py-motmetrics (`metrics.id_global_assignment`) and TrackEval (`Identity`) solve the same problem
 * as a min-cost assignment; its optimal value, and so every figure here, is unique whatever
 * assignment a solver returns among equal ones.
 *
 *   identityCounts(sequence, 0.5) // → { idtp, idfp, idfn }
 */
import { maxScoreAssignment, solveByComponents, type SparseEntries } from './assignment.ts';
import type { TrackingSequence } from './sequence.ts';

export interface IdentityCounts {
  idtp: number;
  idfp: number;
  idfn: number;
}

export function identityCounts(seq: TrackingSequence, threshold: number): IdentityCounts {
  const maxDistance = 1 - threshold;
  const nt = seq.trIds.length;
  // Boxes shared by each (ground-truth id, tracker id) pair; sparse, since most pairs never meet.
  const shared = new Map<number, number>();
  for (const { gt, tr, pairs, iou } of seq.frames) {
    for (let e = 0; e < iou.length; e++) {
      // py-motmetrics' distance test (1 − IoU ≤ 1 − threshold), so pairs at the edge agree with it.
      if (1 - iou[e]! > maxDistance) continue;
      const key = gt[pairs[2 * e]!]! * nt + tr[pairs[2 * e + 1]!]!;
      shared.set(key, (shared.get(key) ?? 0) + 1);
    }
  }
  const entries: SparseEntries = { rows: [], cols: [], values: [] };
  for (const [key, n] of shared) {
    entries.rows.push(Math.floor(key / nt));
    entries.cols.push(key % nt);
    entries.values.push(n);
  }
  let idtp = 0;
  for (const [g, t] of solveByComponents(entries, 0, maxScoreAssignment)) idtp += shared.get(g * nt + t)!;
  return { idtp, idfp: seq.trBoxes - idtp, idfn: seq.gtBoxes - idtp };
}
