/**
 * Per-frame boxes of a track, computed from its keyframes; pure over plain data (no Y.Doc), so
 * exports, the REST API and a browser compute the same boxes. Follows CVAT's
 * `TrackManager.get_interpolated_shapes` (cvat/apps/dataset_manager/annotation.py):
 * - one box per frame from the first keyframe on, x, y, w, h linear between consecutive
 *   keyframes (also towards an `outside` keyframe: the object walks out of view there);
 *   `interpolation: 'none'` holds the previous keyframe's box;
 * - no box on and after an `outside` keyframe until the next visible keyframe;
 * - after the last keyframe, if it is visible, the box holds to frameCount - 1 when frameCount
 *   is known, else the track ends at the last keyframe.
 * Label from the track; occluded from the previous keyframe; attributes are the track's,
 * overridden by the previous keyframe's (CVAT propagates keyframe attributes the same way).
 *
 *   // keyframes on frame 0 (x = 0) and frame 4 (x = 40):
 *   expandTrack(track, [k0, k4]).map((b) => b.bbox[0]) // → [0, 10, 20, 30, 40]
 */
import type { Annotation, BBox, Track, TrackFrameBox } from './types.ts';
import { cloneValue, compareStrings } from './values.ts';

export interface ExpandTrackOptions {
  /** First frame to return (inclusive). */
  fromFrame?: number;
  /** Last frame to return (inclusive). */
  toFrame?: number;
  /** The video's frame count: the last visible keyframe holds until frameCount - 1. */
  frameCount?: number;
}

/**
 * Keyframes by frame, one per frame. Two peers can each add a keyframe on the same frame while
 * offline; every peer must then pick the same one: the last updated, then the greatest id.
 */
export const orderKeyframes = (keyframes: readonly Annotation[]): Annotation[] => {
  const byFrame = new Map<number, Annotation>();
  for (const k of keyframes) {
    const held = byFrame.get(k.frame);
    if (!held || k.updatedAt > held.updatedAt || (k.updatedAt === held.updatedAt && compareStrings(k.id, held.id) > 0)) {
      byFrame.set(k.frame, k);
    }
  }
  return [...byFrame.values()].sort((a, b) => a.frame - b.frame);
};

/** a→b at t in (0, 1), clamped so float rounding never leaves the interval between them. */
const lerp = (a: number, b: number, t: number): number => {
  const v = a + (b - a) * t;
  return Math.min(Math.max(v, Math.min(a, b)), Math.max(a, b));
};

/**
 * The box of a track on `frame` inside the segment from keyframe `prev` to `next` (none after the
 * last one): linear between them, else `prev`'s box held. A new array every time.
 */
export const segmentBBox = (
  interpolation: Track['interpolation'],
  { prev, next }: { prev: Annotation; next: Annotation | undefined },
  frame: number,
): BBox => {
  if (frame === prev.frame || !next || interpolation !== 'linear') return [prev.bbox[0], prev.bbox[1], prev.bbox[2], prev.bbox[3]];
  const t = (frame - prev.frame) / (next.frame - prev.frame);
  return [
    lerp(prev.bbox[0], next.bbox[0], t),
    lerp(prev.bbox[1], next.bbox[1], t),
    lerp(prev.bbox[2], next.bbox[2], t),
    lerp(prev.bbox[3], next.bbox[3], t),
  ];
};

const boxAt = (track: Track, prev: Annotation, next: Annotation | undefined, frame: number): TrackFrameBox => {
  const keyframe = frame === prev.frame;
  const bbox = segmentBBox(track.interpolation, { prev, next }, frame);
  return {
    trackId: track.id,
    frame,
    bbox,
    label: track.label,
    keyframe,
    annotationId: keyframe ? prev.id : null,
    occluded: prev.occluded,
    attributes: cloneValue({ ...track.attributes, ...prev.attributes }),
  };
};

/** One box per frame where the track is visible, in frame order, within the requested window. */
export const expandTrack = (
  track: Track,
  keyframes: Annotation[],
  opts: ExpandTrackOptions = {},
): TrackFrameBox[] => {
  const kfs = orderKeyframes(keyframes);
  const out: TrackFrameBox[] = [];
  const { frameCount } = opts;
  const from = Math.max(opts.fromFrame ?? 0, 0);
  const to = Math.min(opts.toFrame ?? Infinity, frameCount === undefined ? Infinity : frameCount - 1);
  for (let i = 0; i < kfs.length; i++) {
    const prev = kfs[i] as Annotation;
    const next = kfs[i + 1];
    if (prev.frame > to) break;
    if (prev.outside) continue;
    const segmentEnd = next ? next.frame - 1 : frameCount === undefined ? prev.frame : frameCount - 1;
    const end = Math.min(segmentEnd, to);
    for (let frame = Math.max(prev.frame, from); frame <= end; frame++) out.push(boxAt(track, prev, next, frame));
  }
  return out;
};

/**
 * The track's box on one frame, as a list of zero or one (so `tracks.flatMap(…)` collects a
 * frame's boxes). Costs a sort of the keyframes, not a walk over the video.
 */
export const boxesAtFrame = (
  track: Track,
  keyframes: Annotation[],
  frame: number,
  opts: { frameCount?: number } = {},
): TrackFrameBox[] => expandTrack(track, keyframes, { ...opts, fromFrame: frame, toFrame: frame });
