/**
 * Tracking metrics (CLEAR MOT, identity, HOTA) of tracker output against ground truth tracks,
 * and the inputs built from a session and a run. Pure and browser-safe, like the rest of docs-model.
 *
 *   const gt = trackingGroundTruth(annotations, tracks, meta.frameCount)
 *   const found = trackingDetections(detections)
 *   evaluateTracking(gt, found).overall.idf1
 */
export { evaluateTracking, type TrackingEvaluation, type TrackingMetrics, type TrackingOptions } from './evaluate.ts';
export { boxIou, buildSequences, overlaps, type TrackingBox, type TrackingSequence } from './sequence.ts';
export { HOTA_ALPHAS } from './hota.ts';
export { evaluateRunTracking, hasTrackIds, trackingDetections, trackingGroundTruth, type GroundTruthSource, type TrackedDetection } from './inputs.ts';
export { linearSumAssignment, maxScoreAssignment, minCostAssignment, type Pair } from './assignment.ts';
