/**
 * Tracks of a session document: one nested Y.Map per track inside `tracks`. The annotations
 * that carry a track's id are its keyframes; the boxes between them are computed when read
 * (interpolation.ts), never stored.
 *
 *   const t = addTrack(doc, { label: 'pedestrian' })
 *   addAnnotation(doc, { frame: 0, bbox: [0, 0, 10, 20], label: 'pedestrian', trackId: t.id }, { by: 'alice' })
 *   trackKeyframes(doc, t.id) // → [the annotation on frame 0]
 */
import * as Y from 'yjs';
import { annotationsMap, compareAnnotations, readAnnotation, setChanged, type PutResult } from './annotations.ts';
import { newestFirst } from './delete-order.ts';
import { duplicateId, invalidValue, notFound, unknownLabel, type DocModelError } from './errors.ts';
import { ANNOTATION, SESSION, TRACK } from './keys.ts';
import { getLabels } from './labels.ts';
import type { Annotation, LabelDef, OriginOptions, Track, TrackInput, TrackPatch } from './types.ts';
import { cloneValue, compareStrings, isNonEmptyString, isPlainObject, newId, sameValue } from './values.ts';

export const tracksMap = (doc: Y.Doc): Y.Map<Y.Map<unknown>> => doc.getMap(SESSION.tracks);

const INTERPOLATIONS: readonly string[] = ['linear', 'none'];

/** Plain copy of one track Y.Map; null when a peer left it without a label. */
export const readTrack = (id: string, map: unknown): Track | null => {
  if (!(map instanceof Y.Map)) return null;
  const label: unknown = map.get(TRACK.label);
  if (typeof label !== 'string') return null;
  const attributes: unknown = map.get(TRACK.attributes);
  return {
    id,
    label,
    attributes: isPlainObject(attributes) ? cloneValue(attributes) : {},
    interpolation: map.get(TRACK.interpolation) === 'none' ? 'none' : 'linear',
  };
};

/** Every problem with a new track or a track patch (only the fields it carries). */
export const validateTrackInput = (
  labels: Readonly<Record<string, LabelDef>>,
  input: TrackInput | TrackPatch,
  opts: { idTaken?: (id: string) => boolean } = {},
): DocModelError[] => {
  const errors: DocModelError[] = [];
  if ('id' in input && input.id !== undefined) {
    if (!isNonEmptyString(input.id)) errors.push(invalidValue('id', 'id must be a non-empty string'));
    else if (opts.idTaken?.(input.id)) errors.push(duplicateId('id', `a track '${input.id}' already exists`));
  }
  if (input.label !== undefined) {
    if (!isNonEmptyString(input.label)) errors.push(invalidValue('label', 'label must be a non-empty string'));
    else if (!Object.hasOwn(labels, input.label)) {
      errors.push(unknownLabel('label', `no label named '${input.label}' in this session`));
    }
  }
  if (input.attributes !== undefined && !isPlainObject(input.attributes)) {
    errors.push(invalidValue('attributes', 'attributes must be an object'));
  }
  if (input.interpolation !== undefined && !INTERPOLATIONS.includes(input.interpolation)) {
    errors.push(invalidValue('interpolation', `interpolation must be one of ${INTERPOLATIONS.join(', ')}`));
  }
  return errors;
};

/** Writes a full track, touching only changed keys. Callers run it inside a transaction. */
export const putTrack = (doc: Y.Doc, track: Track): PutResult => {
  const all = tracksMap(doc);
  let map = all.get(track.id);
  let result: PutResult = 'unchanged';
  if (!(map instanceof Y.Map)) {
    map = new Y.Map<unknown>();
    all.set(track.id, map);
    result = 'created';
  }
  for (const [key, value] of Object.entries(track)) {
    if (map.has(key) && sameValue(map.get(key), value)) continue;
    map.set(key, cloneValue(value));
    if (result === 'unchanged') result = 'updated';
  }
  return result;
};

/** Adds a track; throws the first DocModelError when the input is invalid. */
export const addTrack = (doc: Y.Doc, input: TrackInput, origin?: unknown): Track => {
  if (input.label === undefined) throw invalidValue('label', 'label is required');
  const all = tracksMap(doc);
  const errors = validateTrackInput(getLabels(doc), input, { idTaken: (id) => all.has(id) });
  if (errors[0]) throw errors[0];
  const track: Track = {
    id: input.id ?? newId(),
    label: input.label,
    attributes: cloneValue(input.attributes ?? {}),
    interpolation: input.interpolation ?? 'linear',
  };
  doc.transact(() => putTrack(doc, track), origin);
  return track;
};

/** Annotation Y.Maps whose trackId is `trackId`. */
const keyframeMaps = (doc: Y.Doc, trackId: string): Y.Map<unknown>[] =>
  [...annotationsMap(doc).values()].filter((map) => map instanceof Y.Map && map.get(ANNOTATION.trackId) === trackId);

/**
 * Changes the given fields of a track (only those that differ). A new label is also written on
 * its keyframes in the same transaction, so listing annotations agrees with the exported boxes.
 */
export const updateTrack = (doc: Y.Doc, id: string, patch: TrackPatch, opts: OriginOptions = {}): Track => {
  const map = tracksMap(doc).get(id);
  const current = readTrack(id, map);
  if (!(map instanceof Y.Map) || !current) throw notFound('id', `no track '${id}'`);
  const labelChanges = patch.label !== undefined && patch.label !== current.label;
  const errors = validateTrackInput(labelChanges ? getLabels(doc) : { [current.label]: {} }, patch);
  if (errors[0]) throw errors[0];
  doc.transact(() => {
    for (const key of ['label', 'attributes', 'interpolation'] as const) {
      const value = patch[key];
      if (value !== undefined && !sameValue(map.get(key), value)) map.set(key, cloneValue(value));
    }
    if (labelChanges && patch.label !== undefined) {
      for (const keyframe of keyframeMaps(doc, id)) setChanged(keyframe, { label: patch.label });
    }
  }, opts.origin);
  return readTrack(id, map) ?? current;
};

/**
 * Deletes a track; true when it existed. Its keyframes are deleted with `withKeyframes`, else
 * kept as standalone annotations (trackId set to null) rather than left pointing nowhere.
 */
export const deleteTrack = (
  doc: Y.Doc,
  id: string,
  opts: OriginOptions & { withKeyframes?: boolean } = {},
): boolean => {
  const all = tracksMap(doc);
  if (!all.has(id)) return false;
  doc.transact(() => {
    const annotations = annotationsMap(doc);
    const keyframes: string[] = [];
    for (const [annotationId, map] of annotations.entries()) {
      if (map instanceof Y.Map && map.get(ANNOTATION.trackId) === id) keyframes.push(annotationId);
    }
    for (const annotationId of opts.withKeyframes ? newestFirst(annotations, keyframes) : keyframes) {
      if (opts.withKeyframes) annotations.delete(annotationId);
      else annotations.get(annotationId)?.set(ANNOTATION.trackId, null);
    }
    all.delete(id);
  }, opts.origin);
  return true;
};

export const getTrack = (doc: Y.Doc, id: string): Track | null => readTrack(id, tracksMap(doc).get(id));

/** All tracks, sorted by id. */
export const listTracks = (doc: Y.Doc): Track[] => {
  const out: Track[] = [];
  for (const [id, map] of tracksMap(doc).entries()) {
    const track = readTrack(id, map);
    if (track) out.push(track);
  }
  return out.sort((a, b) => compareStrings(a.id, b.id));
};

/** The track's keyframe annotations, sorted by frame then id. */
export const trackKeyframes = (doc: Y.Doc, trackId: string): Annotation[] => {
  const out: Annotation[] = [];
  for (const [id, map] of annotationsMap(doc).entries()) {
    if (!(map instanceof Y.Map) || map.get(ANNOTATION.trackId) !== trackId) continue;
    const a = readAnnotation(id, map);
    if (a) out.push(a);
  }
  return out.sort(compareAnnotations);
};
