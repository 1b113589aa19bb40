/**
 * Validation of annotation inputs and patches over plain data, so a caller (REST) can report
 * every problem at once before anything is written.
 *
 *   validateAnnotationInput({ meta, labels, tracks }, { frame: 9999, bbox: [0, 0, 0, 5], label: 'x' })
 *   // → [DocModelError invalid_frame 'frame', invalid_bbox 'bbox', unknown_label 'label']
 */
import {
  duplicateId,
  duplicateKeyframe,
  invalidBbox,
  invalidFrame,
  invalidValue,
  unknownLabel,
  unknownTrack,
  type DocModelError,
} from './errors.ts';
import { ANNOTATION_SOURCES, ANNOTATION_STATUSES, isAnnotationSource, isAnnotationStatus } from './types.ts';
import type { AnnotationInput, AnnotationPatch, BBox, LabelDef, SessionMeta, Track } from './types.ts';
import { isFiniteNumber, isNonEmptyString, isPlainObject } from './values.ts';

/** Label names known to the session: the labels record, or a set of names. */
export type LabelNames = Readonly<Record<string, LabelDef>> | ReadonlySet<string>;
/** Track ids known to the session: a set of ids, or the tracks themselves. */
export type TrackIds = ReadonlySet<string> | readonly Pick<Track, 'id'>[];

/** What an annotation is checked against: the session's meta (null: only the 0 edges), labels and tracks. */
export interface AnnotationContext {
  meta: SessionMeta | null;
  labels: LabelNames;
  tracks: TrackIds;
}

export interface ValidateAnnotationOptions {
  /** Clip a box that crosses the frame edge instead of refusing it. */
  clip?: boolean;
  /**
   * Keep a box that reaches past the frame edge as given (MOTChallenge ground truth is written
   * unclipped and scored unclipped, docs/formats.md); one with nothing inside is still refused.
   * Takes precedence over `clip`.
   */
  keepPastEdge?: boolean;
  /** True when an annotation with this id already exists (→ duplicate_id). */
  idTaken?: (id: string) => boolean;
  /** True when the track already has a keyframe on this frame (→ duplicate_keyframe). */
  keyframeTaken?: (trackId: string, frame: number) => boolean;
}

// Boxes computed in floating point (interpolation, format conversions) may overshoot an edge by
// rounding error; that is not a user mistake.
const EDGE_EPSILON = 1e-6;

const hasLabelName = (labels: LabelNames, name: string): boolean =>
  labels instanceof Set ? labels.has(name) : Object.hasOwn(labels, name);

const hasTrackId = (tracks: TrackIds, id: string): boolean =>
  tracks instanceof Set ? tracks.has(id) : (tracks as readonly Pick<Track, 'id'>[]).some((t) => t.id === id);

export type BboxCheck = { bbox: BBox; error: null } | { bbox: null; error: DocModelError };

/**
 * Checks a box against the frame [0,width]x[0,height] (only the 0 edges without meta);
 * with `clip`, returns the part inside the frame, refusing a box that clips to nothing.
 */
export const checkBbox = (
  bbox: unknown,
  meta: SessionMeta | null,
  { clip = false, keepPastEdge = false }: Pick<ValidateAnnotationOptions, 'clip' | 'keepPastEdge'> = {},
): BboxCheck => {
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every(isFiniteNumber)) {
    return { bbox: null, error: invalidBbox('bbox', 'bbox must be [x, y, w, h]: 4 finite numbers') };
  }
  const [x, y, w, h] = bbox as BBox;
  if (w <= 0 || h <= 0) return { bbox: null, error: invalidBbox('bbox', 'bbox width and height must be > 0') };
  const maxX = meta ? meta.width : Infinity;
  const maxY = meta ? meta.height : Infinity;
  const frame = meta ? { width: meta.width, height: meta.height } : undefined;
  if (clip || keepPastEdge) {
    const x0 = Math.max(x, 0);
    const y0 = Math.max(y, 0);
    const x1 = Math.min(x + w, maxX);
    const y1 = Math.min(y + h, maxY);
    if (x1 - x0 <= 0 || y1 - y0 <= 0) {
      return { bbox: null, error: invalidBbox('bbox', 'bbox lies entirely outside the frame', frame) };
    }
    if (keepPastEdge) return { bbox: [x, y, w, h], error: null };
    return { bbox: [x0, y0, x1 - x0, y1 - y0], error: null };
  }
  const inside =
    x >= -EDGE_EPSILON && y >= -EDGE_EPSILON && x + w <= maxX + EDGE_EPSILON && y + h <= maxY + EDGE_EPSILON;
  if (!inside) return { bbox: null, error: invalidBbox('bbox', 'bbox is not inside the frame', frame) };
  return { bbox: [x, y, w, h], error: null };
};

const checkFrame = (frame: unknown, meta: SessionMeta | null): DocModelError | null => {
  if (typeof frame !== 'number' || !Number.isInteger(frame) || frame < 0) {
    return invalidFrame('frame', 'frame must be an integer >= 0');
  }
  if (meta && frame >= meta.frameCount) {
    return invalidFrame('frame', `frame must be < frameCount (${meta.frameCount})`, { frameCount: meta.frameCount });
  }
  return null;
};

const checkLabel = (label: unknown, labels: LabelNames): DocModelError | null => {
  if (!isNonEmptyString(label)) return invalidValue('label', 'label must be a non-empty string');
  return hasLabelName(labels, label) ? null : unknownLabel('label', `no label named '${label}' in this session`);
};

const checkTrackId = (trackId: unknown, tracks: TrackIds): DocModelError | null => {
  if (trackId === undefined || trackId === null) return null;
  if (!isNonEmptyString(trackId)) return invalidValue('trackId', 'trackId must be a non-empty string or null');
  return hasTrackId(tracks, trackId) ? null : unknownTrack('trackId', `no track '${trackId}' in this session`);
};

/** Checks of the fields that need no context; `undefined` means "not given" and passes. */
const checkPlainFields = (input: Partial<Record<keyof AnnotationInput, unknown>>, errors: DocModelError[]): void => {
  const { detectionId, attributes, occluded, outside, status, source } = input;
  if (detectionId !== undefined && detectionId !== null && !isNonEmptyString(detectionId)) {
    errors.push(invalidValue('detectionId', 'detectionId must be a non-empty string or null'));
  }
  if (attributes !== undefined && !isPlainObject(attributes)) {
    errors.push(invalidValue('attributes', 'attributes must be an object'));
  }
  if (occluded !== undefined && typeof occluded !== 'boolean') {
    errors.push(invalidValue('occluded', 'occluded must be a boolean'));
  }
  if (outside !== undefined && typeof outside !== 'boolean') {
    errors.push(invalidValue('outside', 'outside must be a boolean'));
  }
  if (status !== undefined && !isAnnotationStatus(status)) {
    errors.push(invalidValue('status', `status must be one of ${ANNOTATION_STATUSES.join(', ')}`));
  }
  if (source !== undefined && !isAnnotationSource(source)) {
    errors.push(invalidValue('source', `source must be one of ${ANNOTATION_SOURCES.join(', ')}`));
  }
};

export interface InputCheck {
  errors: DocModelError[];
  /** The box to store (clipped when asked), or null when invalid. */
  bbox: BBox | null;
}

/** Validates a new annotation and returns the box to store. */
export const checkAnnotationInput = (
  { meta, labels, tracks }: AnnotationContext,
  input: AnnotationInput,
  opts: ValidateAnnotationOptions = {},
): InputCheck => {
  const errors: DocModelError[] = [];
  if (input.id !== undefined) {
    if (!isNonEmptyString(input.id)) errors.push(invalidValue('id', 'id must be a non-empty string'));
    else if (opts.idTaken?.(input.id)) errors.push(duplicateId('id', `an annotation '${input.id}' already exists`));
  }
  const frameError = checkFrame(input.frame, meta);
  if (frameError) errors.push(frameError);
  const box = checkBbox(input.bbox, meta, opts);
  if (box.error) errors.push(box.error);
  const labelError = checkLabel(input.label, labels);
  if (labelError) errors.push(labelError);
  const trackError = checkTrackId(input.trackId, tracks);
  if (trackError) errors.push(trackError);
  checkPlainFields(input, errors);
  if (!frameError && !trackError && input.trackId && opts.keyframeTaken?.(input.trackId, input.frame)) {
    errors.push(duplicateKeyframe('frame', `track '${input.trackId}' already has a keyframe on frame ${input.frame}`));
  }
  return { errors, bbox: box.bbox };
};

/** Every problem with a new annotation, empty when it can be added. */
export const validateAnnotationInput = (
  context: AnnotationContext,
  input: AnnotationInput,
  opts: ValidateAnnotationOptions = {},
): DocModelError[] => checkAnnotationInput(context, input, opts).errors;

/**
 * Validates only the fields a patch carries (a status change must not fail because the label
 * was removed since). `keyframeTaken` is asked about the (trackId, frame) the patch results in;
 * `current` gives the values the patch leaves alone.
 */
export const checkAnnotationPatch = (
  { meta, labels, tracks }: AnnotationContext,
  patch: AnnotationPatch,
  current: { frame: number; trackId: string | null },
  opts: ValidateAnnotationOptions = {},
): InputCheck => {
  const errors: DocModelError[] = [];
  const frameError = patch.frame === undefined ? null : checkFrame(patch.frame, meta);
  if (frameError) errors.push(frameError);
  let bbox: BBox | null = null;
  if (patch.bbox !== undefined) {
    const box = checkBbox(patch.bbox, meta, opts);
    if (box.error) errors.push(box.error);
    bbox = box.bbox;
  }
  if (patch.label !== undefined) {
    const labelError = checkLabel(patch.label, labels);
    if (labelError) errors.push(labelError);
  }
  const trackError = patch.trackId === undefined ? null : checkTrackId(patch.trackId, tracks);
  if (trackError) errors.push(trackError);
  checkPlainFields(patch, errors);
  const moves = patch.frame !== undefined || patch.trackId !== undefined;
  const trackId = patch.trackId === undefined ? current.trackId : patch.trackId;
  const frame = patch.frame ?? current.frame;
  if (moves && !frameError && !trackError && trackId && opts.keyframeTaken?.(trackId, frame)) {
    errors.push(duplicateKeyframe('frame', `track '${trackId}' already has a keyframe on frame ${frame}`));
  }
  return { errors, bbox };
};
