/**
 * The confusion matrix of a run over its labels plus "background", built on the evaluation's own
 * matching (detection-matching.ts, IoU 0.5 by default): first the same-label pairs (the
 * evaluation's true positives, on the diagonal); then, among the boxes and detections of a frame
 * that are still unmatched, the same greedy matching across labels, so a box found under the wrong
 * label counts in its (true label, detected label) cell instead of as one miss plus one false
 * alarm. Whatever is still unmatched goes to background: a missed box in the background column, a
 * detection that matched nothing in the background row. Rejected ground truth takes no part.
 * (Ultralytics' ConfusionMatrix and TIDE's classification errors count the same cells.)
 *
 *   const cm = confusionMatrix(groundTruth, detections)
 *   cm.labels                                   // ['car', 'person'] (+ background at index 2)
 *   cm.matrix[0][1]                             // cars detected as person
 *   cm.matrix[0][cm.labels.length]              // cars nobody found
 *   cm.matrix[cm.labels.length][1]              // person detections on nothing
 */
import { matchDetections, REJECTED, type DetectionMatches } from './detection-matching.ts';
import type { DetectionBox, GroundTruthBox } from './evaluation.ts';
import { compareStrings } from './values.ts';

export const BACKGROUND = 'background';

export interface ConfusionMatrix {
  iouThreshold: number;
  /** Row and column names in order, sorted; row and column `labels.length` is background. */
  labels: string[];
  /** matrix[ground-truth label][detected label], (labels.length + 1)². */
  matrix: number[][];
  /** Pairs matched across labels (the off-diagonal cells outside background). */
  labelAgnosticMatches: number;
}

/** The same-label matches may be passed in when the caller has them (evaluation-details.ts). */
export function confusionMatrix(
  groundTruth: readonly GroundTruthBox[],
  detections: readonly DetectionBox[],
  opts: { iouThreshold?: number; matches?: DetectionMatches } = {},
): ConfusionMatrix {
  const iouThreshold = opts.matches?.iouThreshold ?? opts.iouThreshold ?? 0.5;
  const same = opts.matches ?? matchDetections(groundTruth, detections, { iouThreshold });
  const across = matchDetections(groundTruth, detections, {
    iouThreshold,
    labelAgnostic: true,
    include: { groundTruth: (g) => same.groundTruthMatch[g] === -1, detection: (d) => same.detectionMatch[d] === -1 },
  });
  const names = new Set<string>();
  for (let g = 0; g < groundTruth.length; g++) if (same.groundTruthMatch[g] !== REJECTED) names.add(groundTruth[g]!.label);
  for (const d of detections) names.add(d.label);
  const labels = [...names].sort(compareStrings);
  const index = new Map(labels.map((l, k) => [l, k]));
  const bg = labels.length;
  const matrix = Array.from({ length: bg + 1 }, () => new Array<number>(bg + 1).fill(0));
  let labelAgnosticMatches = 0;
  for (let g = 0; g < groundTruth.length; g++) {
    const row = index.get(groundTruth[g]!.label)!;
    if (same.groundTruthMatch[g] === REJECTED) continue;
    if (same.groundTruthMatch[g]! >= 0) matrix[row]![row]!++;
    else if (across.groundTruthMatch[g]! >= 0) {
      matrix[row]![index.get(detections[across.groundTruthMatch[g]!]!.label)!]!++;
      labelAgnosticMatches++;
    } else matrix[row]![bg]!++;
  }
  for (let d = 0; d < detections.length; d++) {
    if (same.detectionMatch[d] === -1 && across.detectionMatch[d] === -1) matrix[bg]![index.get(detections[d]!.label)!]!++;
  }
  return { iouThreshold, labels, matrix, labelAgnosticMatches };
}
