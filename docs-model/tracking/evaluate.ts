/**
 * Tracking metrics of a model run against ground truth: CLEAR MOT, identity and HOTA, per label
 * and overall. Pure, plain data in and out, so the server and a browser compute the same numbers.
 *
 *   evaluateTracking(
 *     [{ frame: 0, bbox: [0, 0, 10, 10], label: 'person', trackId: 'a' }],
 *     [{ frame: 0, bbox: [1, 0, 10, 10], label: 'person', trackId: '7' }],
 *   ) // → { overall: { mota: 1, motp: 0.818…, idf1: 1, hota: …, … }, perLabel: { person: … } }
 *
 * Definitions (docs/formats.md, "Tracking metrics", says the same for users):
 * - Each label is its own sequence (a tracker box is matched only to ground truth of its label), as
 *   TrackEval evaluates one class at a time; `overall` combines the labels by adding their counts
 *   (py-motmetrics' OVERALL row, TrackEval's detection-averaged class combination).
 * - CLEAR MOT and the identity metrics follow py-motmetrics (`clear.ts`, `identity.ts`) at IoU ≥
 *   `iouThreshold` (default 0.5). MOTA = 1 − (misses + false positives + switches) / ground-truth
 *   boxes. **MOTP is TrackEval's: the mean IoU of the matches** (higher is better); py-motmetrics'
 *   `motp` is the mean distance 1 − IoU, i.e. 1 − this value.
 * - HOTA, DetA, AssA and LocA follow TrackEval (`hota.ts`), averaged over α = 0.05 … 0.95; they do not
 *   depend on `iouThreshold`.
 * - Where a denominator is 0 (no ground truth, no tracker box, no match) a figure is 0, as TrackEval
 *   answers for a sequence (ratios over max(1, ·)), where py-motmetrics answers NaN or −inf, which
 *   is not JSON. MOTP overall is the mean IoU over all labels' matches (py-motmetrics' `motp_m`
 *   gives NaN as soon as one label has no match).
 * - Only frames holding a box count, and a box's frame is all that orders them: the previous frame of
 *   CLEAR's carry-over is the previous frame with a box of that label, as in py-motmetrics'
 *   `compare_to_groundtruth`.
 */
import { invalidValue } from '../errors.ts';
import { compareStrings } from '../values.ts';
import { addClear, clearCounts, emptyClear, type ClearCounts } from './clear.ts';
import { combineHota, hotaCounts, hotaSummary, type HotaCounts } from './hota.ts';
import { identityCounts, type IdentityCounts } from './identity.ts';
import { buildSequences, type TrackingBox } from './sequence.ts';

export interface TrackingMetrics {
  mota: number;
  /** Mean IoU of the matches (TrackEval's convention; py-motmetrics reports 1 − motp). */
  motp: number;
  idf1: number;
  idp: number;
  idr: number;
  idSwitches: number;
  fragmentations: number;
  mostlyTracked: number;
  partiallyTracked: number;
  mostlyLost: number;
  hota: number;
  deta: number;
  assa: number;
  locA: number;
  /** Ground-truth boxes and tracks, tracker boxes and tracks. */
  groundTruthBoxes: number;
  groundTruthTracks: number;
  trackerBoxes: number;
  trackerTracks: number;
  /** Matched ground-truth boxes (identity switches included), misses, false positives at iouThreshold. */
  matches: number;
  misses: number;
  falsePositives: number;
  idtp: number;
  idfp: number;
  idfn: number;
}

export interface TrackingEvaluation {
  overall: TrackingMetrics;
  perLabel: Record<string, TrackingMetrics>;
  iouThreshold: number;
}

export interface TrackingOptions {
  /** IoU at which CLEAR MOT and identity pairs match; (0, 1], default 0.5. HOTA sweeps its own α. */
  iouThreshold?: number;
}

interface Parts {
  clear: ClearCounts;
  id: IdentityCounts;
  hota: HotaCounts;
  gtTracks: number;
  trTracks: number;
}

const over = (num: number, den: number): number => num / Math.max(1, den);

function metricsOf(p: Parts): TrackingMetrics {
  const { clear: c, id } = p;
  const h = hotaSummary(p.hota);
  return {
    // py-motmetrics' formula; with no ground truth (−inf there) 0, as TrackEval answers for a sequence.
    mota: c.objects > 0 ? 1 - (c.misses + c.switches + c.falsePositives) / c.objects : 0,
    motp: over(c.iouSum, c.matches),
    idf1: over(2 * id.idtp, c.objects + c.predictions),
    idp: over(id.idtp, id.idtp + id.idfp),
    idr: over(id.idtp, id.idtp + id.idfn),
    idSwitches: c.switches,
    fragmentations: c.fragmentations,
    mostlyTracked: c.mostlyTracked,
    partiallyTracked: c.partiallyTracked,
    mostlyLost: c.mostlyLost,
    hota: h.hota,
    deta: h.deta,
    assa: h.assa,
    locA: h.locA,
    groundTruthBoxes: c.objects,
    groundTruthTracks: p.gtTracks,
    trackerBoxes: c.predictions,
    trackerTracks: p.trTracks,
    matches: c.matches,
    misses: c.misses,
    falsePositives: c.falsePositives,
    idtp: id.idtp,
    idfp: id.idfp,
    idfn: id.idfn,
  };
}

export function evaluateTracking(groundTruth: readonly TrackingBox[], tracker: readonly TrackingBox[], opts: TrackingOptions = {}): TrackingEvaluation {
  const iouThreshold = opts.iouThreshold ?? 0.5;
  if (!(Number.isFinite(iouThreshold) && iouThreshold > 0 && iouThreshold <= 1)) {
    throw invalidValue('iouThreshold', `iouThreshold must be a number in (0, 1], got ${String(iouThreshold)}`);
  }
  const sequences = buildSequences(groundTruth, tracker);
  const labels = [...sequences.keys()].sort(compareStrings);
  const parts: Parts[] = [];
  const perLabel: [string, TrackingMetrics][] = [];
  for (const label of labels) {
    const seq = sequences.get(label)!;
    const p: Parts = {
      clear: clearCounts(seq, iouThreshold),
      id: identityCounts(seq, iouThreshold),
      hota: hotaCounts(seq),
      gtTracks: seq.gtIds.length,
      trTracks: seq.trIds.length,
    };
    parts.push(p);
    perLabel.push([label, metricsOf(p)]);
  }
  const total: Parts = {
    clear: parts.reduce((acc, p) => addClear(acc, p.clear), emptyClear()),
    id: parts.reduce((acc, p) => ({ idtp: acc.idtp + p.id.idtp, idfp: acc.idfp + p.id.idfp, idfn: acc.idfn + p.id.idfn }), { idtp: 0, idfp: 0, idfn: 0 }),
    hota: combineHota(parts.map((p) => p.hota)),
    gtTracks: parts.reduce((n, p) => n + p.gtTracks, 0),
    trTracks: parts.reduce((n, p) => n + p.trTracks, 0),
  };
  // fromEntries defines own properties, so a label named '__proto__' stays a label.
  return { overall: metricsOf(total), perLabel: Object.fromEntries(perLabel), iouThreshold };
}
