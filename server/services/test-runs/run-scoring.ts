/**
 * The pure part of a run's evaluation: ground truth and detections in, metrics out. It runs in the
 * ground-truth thread (../ground-truth-worker.ts), off the event loop: scored there, 50 000 detections
 * against a 10 000-annotation session held the loop 110-190 ms, 220-490 ms with track ids (a probe
 * of the loop's lateness under a CPU profile), and every socket of every document waited.
 *
 *   const scores = scoreDetections(source, detections, { iouThreshold: 0.5 })
 */
import { evaluateDetections, type Annotation, type Evaluation, type GroundTruthBox, type Track } from '../../../docs-model/index.ts';
import { walkGroundTruth } from '../../../docs-model/ground-truth.ts';
import { evaluationDetails, type EvaluationDetails } from '../../../docs-model/evaluation-details.ts';
import { evaluateRunTracking, type TrackingEvaluation } from '../../../docs-model/tracking/index.ts';
import type { ReleaseContent } from '../../../docs-model/release-content.ts';
import type { DetectionRecord } from '../../../persistence/repositories/detections.ts';

/** What the ground truth is made of: a release's content or the live session's, read once. */
export interface TruthSource {
  annotations: Iterable<Annotation>;
  tracks: readonly Track[];
  frameCount: number | undefined;
}

/** A release's content as the ground truth it is. */
export const releaseTruth = (content: ReleaseContent): TruthSource & { annotations: ReleaseContent['annotations'] } => ({
  annotations: content.annotations,
  tracks: content.tracks,
  frameCount: content.meta.frameCount,
});

/** A run's metrics before the service adds what it knows of the run (its session, its release). */
export interface DetectionScores {
  result: Evaluation;
  details: EvaluationDetails;
  tracking: TrackingEvaluation | null;
  /** Ground-truth boxes scored against, rejected ones left out. */
  truthCount: number;
  /** Detections scored. */
  detectionCount: number;
}

/**
 * Annotations without a track as they are; a track's keyframes expanded to one box per visible
 * frame. An interpolated box takes its status from the keyframe before it (so a rejected keyframe
 * rejects the stretch it starts) and links no detection; a keyframe keeps its own id and link.
 */
export function groundTruthBoxes(annotations: Iterable<Annotation>, tracks: readonly Track[], frameCount?: number): GroundTruthBox[] {
  const out: GroundTruthBox[] = [];
  for (const { box, from, drawn } of walkGroundTruth(annotations, tracks, frameCount)) {
    out.push({
      frame: box.frame,
      bbox: box.bbox,
      label: box.label,
      annotationId: drawn ? from.id : null,
      detectionId: drawn ? from.detectionId : null,
      status: from.status,
    });
  }
  return out;
}

export function scoreDetections(source: TruthSource, found: readonly DetectionRecord[], opts: { iouThreshold?: number }): DetectionScores {
  const truth = groundTruthBoxes(source.annotations, source.tracks, source.frameCount);
  return {
    result: evaluateDetections(truth, found, opts),
    details: evaluationDetails(truth, found, opts),
    // Tracker output is scored on the same ground truth, tracks kept whole.
    tracking: evaluateRunTracking(source, found, opts),
    truthCount: truth.reduce((n, g) => (g.status === 'rejected' ? n : n + 1), 0),
    detectionCount: found.length,
  };
}
