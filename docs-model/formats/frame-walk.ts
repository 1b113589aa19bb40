/**
 * Walks a session frame by frame, in order, with every box an export writes on that frame:
 * standalone annotations as drawn, and tracks expanded to one box per frame by the rules
 * of `expandTrack` (interpolation.ts). Each box is computed when its frame is reached, so memory
 * holds one frame's boxes, not the video.
 *
 *   for (const { frame, boxes } of walkFrames(content, {})) …
 */
import type { Annotation, Attributes, AnnotationSource, AnnotationStatus, BBox, Track } from '../types.ts';
import { orderKeyframes, segmentBBox } from '../interpolation.ts';
import { cloneValue } from '../values.ts';
import type { ExportOptions, SessionContent } from './content.ts';

/** One box as exporters see it. Interpolated boxes have no annotation id, status or source. */
export interface ExportBox {
  frame: number;
  bbox: BBox;
  label: string;
  trackId: string | null;
  annotationId: string | null;
  detectionId: string | null;
  occluded: boolean;
  keyframe: boolean;
  status: AnnotationStatus | null;
  source: AnnotationSource | null;
  attributes: Attributes;
}

export interface FrameBoxes {
  frame: number;
  boxes: ExportBox[];
}

const fromAnnotation = (a: Annotation, keyframe: boolean): ExportBox => ({
  frame: a.frame,
  bbox: a.bbox,
  label: a.label,
  trackId: a.trackId,
  annotationId: a.id,
  detectionId: a.detectionId,
  occluded: a.occluded,
  keyframe,
  status: a.status,
  source: a.source,
  attributes: a.attributes,
});

/** Where the walk is in one track: its keyframes in order and the segment the frame is in. */
interface TrackCursor {
  track: Track;
  keyframes: Annotation[];
  segment: number;
  /** The segment's attributes (the track's, overridden by its keyframe's), made once per segment. */
  attributes: Attributes | null;
}

/** Frames 0 … frameCount - 1, and further if an annotation lies past the declared count. */
export const frameSpan = (content: SessionContent): number => {
  let end = content.meta.frameCount;
  for (const a of content.annotations) if (a.frame >= end) end = a.frame + 1;
  return end;
};

export function* walkFrames(content: SessionContent, opts: ExportOptions = {}): Generator<FrameBoxes> {
  const end = frameSpan(content);
  const tracks = new Map(content.tracks.map((t) => [t.id, t]));
  const standalone = new Map<number, ExportBox[]>();
  const keyframes = new Map<string, Annotation[]>();
  for (const a of content.annotations) {
    const track = a.trackId === null ? undefined : tracks.get(a.trackId);
    if (!track || opts.keyframesOnly) {
      if (a.outside) continue; // an outside keyframe marks an absence; it draws no box
      const list = standalone.get(a.frame) ?? [];
      list.push(fromAnnotation(a, a.trackId !== null));
      standalone.set(a.frame, list);
      continue;
    }
    const list = keyframes.get(track.id) ?? [];
    list.push(a);
    keyframes.set(track.id, list);
  }
  for (const list of standalone.values()) list.sort((x, y) => (x.annotationId! < y.annotationId! ? -1 : 1));
  // Tracks in order of their first keyframe, so the walk stops at the first one not begun yet.
  const cursors: TrackCursor[] = [...keyframes]
    .map(([id, list]) => ({ track: tracks.get(id)!, keyframes: orderKeyframes(list), segment: 0, attributes: null }))
    .sort((x, y) => x.keyframes[0]!.frame - y.keyframes[0]!.frame || (x.track.id < y.track.id ? -1 : 1));

  // Frame by frame, one box per visible track computed on the spot (the rules of expandTrack:
  // interpolation.ts): nothing is expanded ahead, so the garbage of a 900 000-box export dies
  // young instead of being promoted window by window (RSS < 200 MB).
  for (let frame = 0; frame < end; frame++) {
    const own = standalone.get(frame);
    const boxes = own ? [...own] : [];
    for (const c of cursors) {
      if (c.keyframes[0]!.frame > frame) break;
      while (c.segment + 1 < c.keyframes.length && c.keyframes[c.segment + 1]!.frame <= frame) {
        c.segment++;
        c.attributes = null;
      }
      const prev = c.keyframes[c.segment]!;
      if (prev.outside) continue;
      if (prev.frame === frame) {
        boxes.push(fromAnnotation(prev, true));
        continue;
      }
      boxes.push({
        frame,
        bbox: segmentBBox(c.track.interpolation, { prev, next: c.keyframes[c.segment + 1] }, frame),
        label: c.track.label,
        trackId: c.track.id,
        annotationId: null,
        detectionId: null,
        occluded: prev.occluded,
        keyframe: false,
        status: null,
        source: null,
        attributes: (c.attributes ??= cloneValue({ ...c.track.attributes, ...prev.attributes })),
      });
    }
    yield { frame, boxes };
  }
}

/** Stable label order: the session's labels as stored, then any other used label, sorted. */
export const labelOrder = (content: SessionContent): string[] => {
  const names = Object.keys(content.labels);
  const known = new Set(names);
  const extra = new Set<string>();
  for (const t of content.tracks) if (!known.has(t.label)) extra.add(t.label);
  for (const a of content.annotations) if (!known.has(a.label)) extra.add(a.label);
  return [...names, ...[...extra].sort()];
};

/** One label order for several sessions (project exports): each session's order, first seen first. */
export const projectLabelOrder = (sessions: readonly { content: SessionContent }[]): string[] => {
  const labels = new Set<string>();
  for (const s of sessions) for (const l of labelOrder(s.content)) labels.add(l);
  return [...labels];
};
