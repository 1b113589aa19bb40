/**
 * The boxes to draw on one frame: the frame's own annotations, and each track's box on it — a
 * keyframe as drawn, or interpolated between two keyframes (docs-model's `boxesAtFrame`, the same
 * computation the exports use). Recomputed when the document or the frame changes, never while a
 * box is dragged.
 */
import { boxesAtFrame, getMeta, listAnnotations, listTracks, type Annotation, type BBox } from 'annosync/client';
import type * as Y from 'yjs';

export interface FrameBox {
  /** What selection refers to: the annotation id, or the track id for an interpolated box. */
  key: string;
  annotationId: string | null;
  trackId: string | null;
  bbox: BBox;
  label: string;
  /** Drawn between two keyframes, not by a person. */
  interpolated: boolean;
}

export function frameBoxes(doc: Y.Doc, frame: number): FrameBox[] {
  const out: FrameBox[] = [];
  const keyframes = new Map<string, Annotation[]>();
  for (const a of listAnnotations(doc)) {
    if (a.trackId) {
      const list = keyframes.get(a.trackId) ?? [];
      list.push(a);
      keyframes.set(a.trackId, list);
    } else if (a.frame === frame) {
      out.push({ key: a.id, annotationId: a.id, trackId: null, bbox: a.bbox, label: a.label, interpolated: false });
    }
  }
  const frameCount = getMeta(doc)?.frameCount;
  for (const track of listTracks(doc)) {
    for (const box of boxesAtFrame(track, keyframes.get(track.id) ?? [], frame, frameCount === undefined ? {} : { frameCount })) {
      out.push({
        key: box.annotationId ?? track.id,
        annotationId: box.annotationId,
        trackId: track.id,
        bbox: box.bbox,
        label: box.label,
        interpolated: !box.keyframe,
      });
    }
  }
  return out;
}
