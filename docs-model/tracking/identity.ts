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
import { maxScoreAssignment } from './assignment.ts';
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
  for (const { gt, tr, iou } of seq.frames) {
    for (let i = 0; i < gt.length; i++) {
      for (let j = 0, at = i * tr.length; j < tr.length; j++, at++) {
        // py-motmetrics' distance test (1 − IoU ≤ 1 − threshold), so pairs at the edge agree with it.
        if (iou[at]! > 0 && 1 - iou[at]! <= maxDistance) {
          const key = gt[i]! * nt + tr[j]!;
          shared.set(key, (shared.get(key) ?? 0) + 1);
        }
      }
    }
  }
  // Only ids that share a box can be matched to advantage: a dense matrix over those alone.
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  for (const key of shared.keys()) {
    const g = Math.floor(key / nt);
    const t = key % nt;
    if (!rows.has(g)) rows.set(g, rows.size);
    if (!cols.has(t)) cols.set(t, cols.size);
  }
  const scores = new Float64Array(rows.size * cols.size);
  for (const [key, n] of shared) scores[rows.get(Math.floor(key / nt))! * cols.size + cols.get(key % nt)!] = n;
  let idtp = 0;
  for (const [i, j] of maxScoreAssignment(scores, rows.size, cols.size)) idtp += scores[i * cols.size + j]!;
  return { idtp, idfp: seq.trBoxes - idtp, idfn: seq.gtBoxes - idtp };
}
