/**
 * Per label, the precision–recall curve a dashboard plots: precision (made monotone from the
 * right) and the detection score at each of pycocotools' 101 recall points 0:0.01:1, both 0 past
 * the highest recall reached — the `precision[T, R, K]` and `scores[T, R, K]` arrays of COCOeval's
 * accumulate, at one IoU threshold (0.5 by default). The mean of a label's precisions is its AP at
 * that threshold, the evaluation's `ap50` (evaluation.ts). A label without ground truth has
 * zeros (pycocotools writes -1 there, which is not a rate); `groundTruth` tells it apart.
 *
 *   const pr = precisionRecallCurves(groundTruth, detections)
 *   pr.recall[50]                 // 0.5
 *   pr.perLabel.car.precision[50] // precision of 'car' at recall 0.5
 */
import { matchDetections, REJECTED, type DetectionMatches } from './detection-matching.ts';
import { COCO_RECALL_THRESHOLDS, type DetectionBox, type GroundTruthBox } from './evaluation.ts';
import { compareStrings } from './values.ts';

export interface LabelCurve {
  groundTruth: number;
  detections: number;
  /** 101 values, one per recall point. */
  precision: number[];
  /** The score of the detection where each recall point is reached; 101 values. */
  scores: number[];
}

export interface PrecisionRecallCurves {
  iouThreshold: number;
  recall: readonly number[];
  perLabel: Record<string, LabelCurve>;
}

export function precisionRecallCurves(
  groundTruth: readonly GroundTruthBox[],
  detections: readonly DetectionBox[],
  opts: { iouThreshold?: number; matches?: DetectionMatches } = {},
): PrecisionRecallCurves {
  const iouThreshold = opts.matches?.iouThreshold ?? opts.iouThreshold ?? 0.5;
  const m = opts.matches ?? matchDetections(groundTruth, detections, { iouThreshold });
  const truth = new Map<string, number>();
  for (let g = 0; g < groundTruth.length; g++) {
    if (m.groundTruthMatch[g] === REJECTED) continue;
    truth.set(groundTruth[g]!.label, (truth.get(groundTruth[g]!.label) ?? 0) + 1);
  }
  const byLabel = new Map<string, number[]>();
  for (const d of m.order) {
    const list = byLabel.get(detections[d]!.label);
    if (list) list.push(d);
    else byLabel.set(detections[d]!.label, [d]);
  }
  const labels = [...new Set([...truth.keys(), ...byLabel.keys()])].sort(compareStrings);
  const perLabel = labels.map((label): [string, LabelCurve] => {
    const dets = byLabel.get(label) ?? [];
    const ngt = truth.get(label) ?? 0;
    const precision = new Array<number>(COCO_RECALL_THRESHOLDS.length).fill(0);
    const scores = new Array<number>(COCO_RECALL_THRESHOLDS.length).fill(0);
    if (ngt > 0 && dets.length > 0) {
      const p = new Float64Array(dets.length);
      const r = new Float64Array(dets.length);
      let tp = 0;
      dets.forEach((d, i) => {
        if (m.detectionMatch[d]! >= 0) tp++;
        p[i] = tp / (i + 1);
        r[i] = tp / ngt;
      });
      for (let i = dets.length - 1; i > 0; i--) if (p[i]! > p[i - 1]!) p[i - 1] = p[i]!;
      let i = 0;
      COCO_RECALL_THRESHOLDS.forEach((threshold, k) => {
        while (i < dets.length && r[i]! < threshold) i++;
        if (i === dets.length) return;
        precision[k] = p[i]!;
        scores[k] = detections[dets[i]!]!.score;
      });
    }
    return [label, { groundTruth: ngt, detections: dets.length, precision, scores }];
  });
  // fromEntries defines own properties, so a label named '__proto__' stays a label.
  return { iouThreshold, recall: COCO_RECALL_THRESHOLDS, perLabel: Object.fromEntries(perLabel) };
}
