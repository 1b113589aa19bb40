/**
 * The error analysis that goes with an evaluation (evaluation.ts): the confusion matrix, the
 * precision–recall curves, and which ground-truth boxes the run found — all from one matching
 * pass at the evaluation's threshold, so the three agree with its tp/fp/fn. The true positives
 * are what a run comparison needs (evaluation-compare.ts); they index the ground truth as given,
 * so two runs are compared over the same list (the same release gives the same list).
 *
 *   const details = evaluationDetails(groundTruth, detections)
 *   details.truePositives.groundTruth // sorted indices of the boxes found at IoU 0.5
 */
import { confusionMatrix, type ConfusionMatrix } from './confusion-matrix.ts';
import { matchDetections } from './detection-matching.ts';
import type { DetectionBox, GroundTruthBox } from './evaluation.ts';
import { precisionRecallCurves, type PrecisionRecallCurves } from './precision-recall.ts';

export interface TruePositives {
  /** Indices into the ground truth, ascending. */
  groundTruth: number[];
  /** The score of the detection that found each of them. */
  scores: number[];
}

export interface EvaluationDetails {
  iouThreshold: number;
  groundTruthCount: number;
  confusion: ConfusionMatrix;
  curves: PrecisionRecallCurves;
  truePositives: TruePositives;
}

export function evaluationDetails(
  groundTruth: readonly GroundTruthBox[],
  detections: readonly DetectionBox[],
  opts: { iouThreshold?: number } = {},
): EvaluationDetails {
  const matches = matchDetections(groundTruth, detections, { iouThreshold: opts.iouThreshold ?? 0.5 });
  const truePositives: TruePositives = { groundTruth: [], scores: [] };
  matches.groundTruthMatch.forEach((d, g) => {
    if (d < 0) return;
    truePositives.groundTruth.push(g);
    truePositives.scores.push(detections[d]!.score);
  });
  return {
    iouThreshold: matches.iouThreshold,
    groundTruthCount: groundTruth.length,
    confusion: confusionMatrix(groundTruth, detections, { matches }),
    curves: precisionRecallCurves(groundTruth, detections, { matches }),
    truePositives,
  };
}
