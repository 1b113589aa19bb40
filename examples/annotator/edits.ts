/**
 * The document writes of the annotator, each one undo step of this client's own: draw a box (in
 * track mode, a new track and its first keyframe), change a box's geometry (on a track, this
 * frame's keyframe, made if the box was interpolated), relabel, delete, end a track.
 */
import {
  addAnnotation,
  addTrack,
  deleteAnnotation,
  deleteTrack,
  trackKeyframes,
  updateAnnotation,
  updateTrack,
  type AnnotationSession,
  type BBox,
} from 'annosync/client';
import type { FrameBox } from './frame-boxes.ts';

type Session = Pick<AnnotationSession, 'doc' | 'undo' | 'origin'>;

/** Runs `write` as one undo step and one Yjs transaction, tagged as this client's. */
function step<T>(session: Session, write: () => T): T {
  session.undo.stopCapturing();
  let result!: T;
  session.doc.transact(() => (result = write()), session.origin);
  session.undo.stopCapturing();
  return result;
}

/** A new box; in track mode, a new track with this box as its first keyframe. Returns the box's key. */
export function drawBox(session: Session, by: string, frame: number, bbox: BBox, label: string, trackMode: boolean): string {
  return step(session, () => {
    const trackId = trackMode ? addTrack(session.doc, { label }, session.origin).id : null;
    return addAnnotation(session.doc, { frame, bbox, label, trackId }, { by, clip: true, origin: session.origin }).id;
  });
}

/** Moves or resizes a box; an interpolated box becomes a keyframe on this frame. Returns its key. */
export function setBox(session: Session, by: string, frame: number, box: FrameBox, bbox: BBox): string {
  return step(session, () => {
    if (box.annotationId) return updateAnnotation(session.doc, box.annotationId, { bbox }, { by, clip: true, origin: session.origin }).id;
    if (!box.trackId) throw new Error('a box is an annotation or a track box');
    return addAnnotation(session.doc, { frame, bbox, label: box.label, trackId: box.trackId }, { by, clip: true, origin: session.origin }).id;
  });
}

/** A new label for the box (for a track box: the whole track, keyframes included). */
export function relabel(session: Session, by: string, box: FrameBox, label: string): void {
  step(session, () => {
    if (box.trackId) updateTrack(session.doc, box.trackId, { label }, { origin: session.origin });
    else if (box.annotationId) updateAnnotation(session.doc, box.annotationId, { label }, { by, origin: session.origin });
  });
}

/** Deletes the box: an annotation or a keyframe; an interpolated box deletes its whole track. */
export function deleteBox(session: Session, box: FrameBox): void {
  step(session, () => {
    if (box.annotationId) {
      deleteAnnotation(session.doc, box.annotationId, session.origin);
      if (box.trackId && trackKeyframes(session.doc, box.trackId).length === 0) deleteTrack(session.doc, box.trackId, { origin: session.origin });
    } else if (box.trackId) deleteTrack(session.doc, box.trackId, { withKeyframes: true, origin: session.origin });
  });
}

/** Ends a track on this frame: an `outside` keyframe, after which no box is drawn. */
export function endTrack(session: Session, by: string, frame: number, box: FrameBox): void {
  if (!box.trackId) return;
  const trackId = box.trackId;
  step(session, () => {
    const here = trackKeyframes(session.doc, trackId).find((k) => k.frame === frame);
    if (here) updateAnnotation(session.doc, here.id, { outside: true }, { by, origin: session.origin });
    else addAnnotation(session.doc, { frame, bbox: box.bbox, label: box.label, trackId, outside: true }, { by, clip: true, origin: session.origin });
  });
}
