/**
 * The ground truth of a session box by box, as every evaluation reads it: an annotation without a
 * track is one box; a track's keyframes are expanded to one box per visible frame (interpolated
 * boxes included, frames from an `outside` keyframe on excluded). Each box comes with the keyframe
 * that governs it (`from`, the last one at or before its frame): an interpolated box takes that
 * keyframe's status, so a rejected keyframe rejects the stretch it starts. Boxes without a track
 * come first, in the order given; then each track's.
 *
 *   for (const { box, from, drawn, trackId } of walkGroundTruth(annotations, tracks, frameCount)) …
 *
 * The detection evaluation (server/services/test-runs/evaluation.ts) and the tracking inputs
 * (tracking/inputs.ts) filter what this yields differently; the walk is this one.
 */
import { expandTrack, orderKeyframes } from './interpolation.ts';
import type { Annotation, Attributes, BBox, Track } from './types.ts';

export interface GroundTruthStep {
  box: { frame: number; bbox: BBox; label: string; attributes: Attributes };
  /** The annotation drawn for this box, or the keyframe before an interpolated one. */
  from: Annotation;
  /** True when `from` was drawn on this very frame (not interpolated). */
  drawn: boolean;
  /** The track, or null for a box in none. */
  trackId: string | null;
}

export function* walkGroundTruth(annotations: Iterable<Annotation>, tracks: readonly Track[], frameCount?: number): Generator<GroundTruthStep> {
  const trackById = new Map(tracks.map((t) => [t.id, t]));
  const keyframes = new Map<string, Annotation[]>();
  for (const a of annotations) {
    if (a.trackId !== null && trackById.has(a.trackId)) {
      const list = keyframes.get(a.trackId);
      if (list) list.push(a);
      else keyframes.set(a.trackId, [a]);
      continue;
    }
    yield { box: a, from: a, drawn: true, trackId: null };
  }
  for (const [trackId, list] of keyframes) {
    const ordered = orderKeyframes(list);
    let k = 0;
    for (const box of expandTrack(trackById.get(trackId)!, list, frameCount === undefined ? {} : { frameCount })) {
      while (k + 1 < ordered.length && ordered[k + 1]!.frame <= box.frame) k++;
      yield { box, from: ordered[k]!, drawn: box.keyframe, trackId };
    }
  }
}
