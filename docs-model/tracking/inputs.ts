/**
 * The inputs of `evaluateTracking` from what annosync stores: a session's annotations and tracks
 * (ground truth) and a run's detections carrying a `trackId` (tracker output).
 *
 *   const gt = trackingGroundTruth(listAnnotations(doc), listTracks(doc), getMeta(doc)?.frameCount)
 *   const found = trackingDetections(detections)
 *   if (hasTrackIds(detections)) evaluateTracking(gt, found)
 *
 * Ground truth: each track expanded to one box per visible frame by `expandTrack` (interpolated
 * boxes included, frames from an `outside` keyframe on excluded, the last visible keyframe held to
 * the end of the video when frameCount is known); an interpolated box takes its status from the
 * keyframe before it, so a rejected keyframe rejects the stretch it starts, and rejected boxes are
 * left out — the rules of the detection evaluation. Boxes marked `ignored: true` (a MOT row with
 * not_ignored = 0) are left out too, as py-motmetrics' MOTChallenge evaluation loads ground truth
 * with `min_confidence=1`. A box in no track is an object of its own.
 * Ids are prefixed (`track:`, `box:`) so a track and a box never share one.
 */
import { walkGroundTruth } from '../ground-truth.ts';
import type { Annotation, BBox, Track } from '../types.ts';
import { evaluateTracking, type TrackingEvaluation, type TrackingOptions } from './evaluate.ts';
import type { TrackingBox } from './sequence.ts';

export function trackingGroundTruth(annotations: Iterable<Annotation>, tracks: readonly Track[], frameCount?: number): TrackingBox[] {
  const out: TrackingBox[] = [];
  for (const { box, from, trackId } of walkGroundTruth(annotations, tracks, frameCount)) {
    if (from.status === 'rejected' || box.attributes.ignored === true) continue;
    if (trackId === null && from.outside) continue;
    out.push({ frame: box.frame, bbox: box.bbox, label: box.label, trackId: trackId === null ? `box:${from.id}` : `track:${trackId}` });
  }
  return out;
}

/** A run's detection as stored; `trackId` is the tracker's id (MOT `id`, COCO results `track_id`). */
export interface TrackedDetection {
  frame: number;
  bbox: BBox;
  label: string;
  trackId?: string | number | null;
}

/** A session's ground truth as a run is scored on it: its annotations, tracks and frame count. */
export interface GroundTruthSource {
  annotations: Iterable<Annotation>;
  tracks: readonly Track[];
  frameCount: number | undefined;
}

export const hasTrackIds = (detections: readonly TrackedDetection[]): boolean => detections.some((d) => d.trackId != null);

/** Tracker boxes: a detection without a track id is a track of one box (`detection:<index>`). */
export const trackingDetections = (detections: readonly TrackedDetection[]): TrackingBox[] =>
  detections.map((d, i) => ({ frame: d.frame, bbox: d.bbox, label: d.label, trackId: d.trackId == null ? `detection:${i}` : `track:${String(d.trackId)}` }));

/**
 * A run's tracking evaluation against its session, or null when no detection carries a track id
 * (a detector without a tracker: the detection metrics say all there is).
 *
 *   const tracking = evaluateRunTracking({ annotations: index.all(), tracks: listTracks(ydoc), frameCount: meta.frameCount }, detections)
 */
export function evaluateRunTracking(
  { annotations, tracks, frameCount }: GroundTruthSource,
  detections: readonly TrackedDetection[],
  opts: TrackingOptions = {},
): TrackingEvaluation | null {
  if (!hasTrackIds(detections)) return null;
  return evaluateTracking(trackingGroundTruth(annotations, tracks, frameCount), trackingDetections(detections), opts);
}
