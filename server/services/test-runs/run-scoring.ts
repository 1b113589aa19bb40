/**
 * The pure part of a run's evaluation: ground truth and detections in, metrics out. It runs in the
 * ground-truth thread (../ground-truth-worker.ts), off the event loop: scored there, 50 000 detections
 * against a 10 000-annotation session held the loop 110-190 ms, 220-490 ms with track ids (a probe
 * of the loop's lateness under a CPU profile), and every socket of every document waited.
 *
 *   const scores = scoreDetections(source, detections, { iouThreshold: 0.5 })
 *   const packed = packDetections(detections)         // columns for postMessage
 *   unpackDetections(packed)                          // the same detections on the other side
 *
 * Detections cross to the thread as columns (typed arrays, transferred, and three arrays of
 * strings): 50 000 as objects took ~20 ms of the main thread to serialize, in one piece.
 */
import { evaluateDetections, type Annotation, type Evaluation, type GroundTruthBox, type Track } from '../../../docs-model/index.ts';
import { walkGroundTruth } from '../../../docs-model/ground-truth.ts';
import { evaluationDetails, type EvaluationDetails } from '../../../docs-model/evaluation-details.ts';
import { evaluateRunTracking, type TrackingEvaluation } from '../../../docs-model/tracking/index.ts';
import type { BBox } from '../../../docs-model/types.ts';
import type { DetectionRecord } from '../../../persistence/repositories/detections.ts';

/** What the ground truth is made of: a release's content or the live session's, read once. */
export interface TruthSource {
  annotations: Iterable<Annotation>;
  tracks: readonly Track[];
  frameCount: number | undefined;
}

/** A run's metrics before the service adds what it knows of the run (its session, its release). */
export interface DetectionScores {
  result: Evaluation;
  details: EvaluationDetails;
  tracking: TrackingEvaluation | null;
  /** Ground-truth boxes scored against, rejected ones left out. */
  truthCount: number;
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
  };
}

/** Detections as columns: row k is frames[k], boxes[4k..4k+3], scores[k], labels[labelIndex[k]], … */
export interface PackedDetections {
  frames: Int32Array;
  boxes: Float64Array;
  scores: Float64Array;
  labelIndex: Int32Array;
  labels: string[];
  detectionIds: (string | null)[];
  trackIds: (string | null)[];
}

/** The typed arrays' buffers, to transfer rather than copy. */
export const packedBuffers = (p: PackedDetections): ArrayBuffer[] => [p.frames.buffer, p.boxes.buffer, p.scores.buffer, p.labelIndex.buffer] as ArrayBuffer[];

/** In one piece: 50 000 detections in ~5-8 ms, their columns' serialization included. */
export function packDetections(found: readonly DetectionRecord[]): PackedDetections {
  const n = found.length;
  const packed: PackedDetections = {
    frames: new Int32Array(n),
    boxes: new Float64Array(n * 4),
    scores: new Float64Array(n),
    labelIndex: new Int32Array(n),
    labels: [],
    detectionIds: new Array<string | null>(n),
    trackIds: new Array<string | null>(n),
  };
  const labelAt = new Map<string, number>();
  for (let k = 0; k < n; k++) {
    const d = found[k]!;
    packed.frames[k] = d.frame;
    packed.boxes.set(d.bbox, k * 4);
    packed.scores[k] = d.score;
    let label = labelAt.get(d.label);
    if (label === undefined) labelAt.set(d.label, (label = packed.labels.push(d.label) - 1));
    packed.labelIndex[k] = label;
    packed.detectionIds[k] = d.detectionId;
    packed.trackIds[k] = d.trackId ?? null;
  }
  return packed;
}

export function unpackDetections(p: PackedDetections): DetectionRecord[] {
  const out: DetectionRecord[] = new Array(p.frames.length);
  for (let k = 0; k < p.frames.length; k++) {
    const bbox: BBox = [p.boxes[4 * k]!, p.boxes[4 * k + 1]!, p.boxes[4 * k + 2]!, p.boxes[4 * k + 3]!];
    out[k] = { frame: p.frames[k]!, bbox, label: p.labels[p.labelIndex[k]!]!, score: p.scores[k]!, detectionId: p.detectionIds[k]!, trackId: p.trackIds[k]! };
  }
  return out;
}
