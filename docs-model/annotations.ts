/**
 * Annotations of a session document: one nested Y.Map per annotation inside `annotations`, so
 * concurrent edits of different fields (one person moves the box, another relabels) both win.
 * Writes set only the keys whose value changes. Every write takes the transaction origin in its
 * last argument (`{ by, origin }`), since the server tags each change with a typed origin.
 *
 *   const a = addAnnotation(doc, { frame: 3, bbox: [10, 10, 40, 30], label: 'car' }, { by: 'alice' })
 *   updateAnnotation(doc, a.id, { label: 'truck' }, { by: 'bob' })
 *   listAnnotations(doc, { fromFrame: 0, toFrame: 10, label: 'truck' }) // → [{ id: a.id, … }]
 */
import * as Y from 'yjs';
import {
  checkAnnotationInput,
  checkAnnotationPatch,
  type AnnotationContext,
  type ValidateAnnotationOptions,
} from './annotation-validation.ts';
import { invalidContent, notFound, type DocModelError } from './errors.ts';
import { getLabels } from './labels.ts';
import { ANNOTATION, SESSION } from './keys.ts';
import { getMeta } from './meta.ts';
import { CHECK_STEP_ITEMS, runStaged, stepsOver, type StagedWrite } from './staged-write.ts';
import type {
  Annotation,
  AnnotationFilter,
  AnnotationInput,
  AnnotationPatch,
  AnnotationSource,
  AnnotationStatus,
  BBox,
} from './types.ts';
import { isAnnotationSource, isAnnotationStatus } from './types.ts';
import { cloneValue, compareStrings, isFiniteNumber, isPlainObject, newId, sameValue } from './values.ts';

export interface AnnotationWriteOptions {
  /** Clip a box that crosses the frame edge instead of refusing it. */
  clip?: boolean;
}

/** Who writes, when, and how: the last argument of every annotation write. */
export interface AnnotationWrite extends AnnotationWriteOptions {
  /** The author, stored as `createdBy` / `updatedBy`. */
  by: string;
  /** The time stored as `createdAt` / `updatedAt` (ms since epoch); now when left out. */
  now?: number;
  /** The Yjs transaction origin (the server's typed origin, a client's undo scope). */
  origin?: unknown;
  /** Annotations per step of a planned write (`planAddAnnotations`); WRITE_STEP_ITEMS when left out. */
  stepItems?: number;
}

/** The options of `addAnnotations` (the same as every write's). */
export type BulkAnnotationOptions = AnnotationWrite;

/** One problem of a batch, tied to the position of its input. */
export interface IndexedError {
  index: number;
  error: DocModelError;
}

export const annotationsMap = (doc: Y.Doc): Y.Map<Y.Map<unknown>> => doc.getMap(SESSION.annotations);

const PATCHABLE = [
  'frame', 'bbox', 'label', 'trackId', 'detectionId', 'attributes', 'occluded', 'outside', 'status',
] as const satisfies readonly (keyof AnnotationPatch)[];


const isBbox = (v: unknown): v is BBox => Array.isArray(v) && v.length === 4 && v.every(isFiniteNumber);
const stringOr = <T>(v: unknown, fallback: T): string | T => (typeof v === 'string' ? v : fallback);

/**
 * Plain copy of one annotation Y.Map; null when a peer left it without a usable frame, box or
 * label (clients write the document directly, so readers cannot assume it is well formed).
 */
export const readAnnotation = (id: string, map: unknown): Annotation | null => {
  if (!(map instanceof Y.Map)) return null;
  const frame: unknown = map.get(ANNOTATION.frame);
  const bbox: unknown = map.get(ANNOTATION.bbox);
  const label: unknown = map.get(ANNOTATION.label);
  if (typeof frame !== 'number' || !Number.isInteger(frame) || !isBbox(bbox) || typeof label !== 'string') return null;
  const status: unknown = map.get(ANNOTATION.status);
  const source: unknown = map.get(ANNOTATION.source);
  const attributes: unknown = map.get(ANNOTATION.attributes);
  const createdAt: unknown = map.get(ANNOTATION.createdAt);
  const updatedAt: unknown = map.get(ANNOTATION.updatedAt);
  return {
    id,
    frame,
    bbox: [bbox[0], bbox[1], bbox[2], bbox[3]],
    label,
    trackId: stringOr(map.get(ANNOTATION.trackId), null),
    detectionId: stringOr(map.get(ANNOTATION.detectionId), null),
    attributes: isPlainObject(attributes) ? cloneValue(attributes) : {},
    occluded: map.get(ANNOTATION.occluded) === true,
    outside: map.get(ANNOTATION.outside) === true,
    status: isAnnotationStatus(status) ? status : 'draft',
    source: isAnnotationSource(source) ? source : 'manual',
    createdBy: stringOr(map.get(ANNOTATION.createdBy), ''),
    updatedBy: stringOr(map.get(ANNOTATION.updatedBy), ''),
    createdAt: isFiniteNumber(createdAt) ? createdAt : 0,
    updatedAt: isFiniteNumber(updatedAt) ? updatedAt : 0,
  };
};

/** Sets the keys of `values` whose value differs; true when anything was written. */
export const setChanged = (map: Y.Map<unknown>, values: object): boolean => {
  let changed = false;
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || (map.has(key) && sameValue(map.get(key), value))) continue;
    map.set(key, cloneValue(value));
    changed = true;
  }
  return changed;
};

export type PutResult = 'created' | 'updated' | 'unchanged';

/**
 * Writes a full annotation: into its existing Y.Map, touching only changed keys, or as a new
 * Y.Map. Callers run it inside a transaction; used by add and by session import (upsert).
 */
export const putAnnotation = (doc: Y.Doc, annotation: Annotation): PutResult => {
  const all = annotationsMap(doc);
  const existing = all.get(annotation.id);
  if (existing instanceof Y.Map) return setChanged(existing, annotation) ? 'updated' : 'unchanged';
  const map = new Y.Map<unknown>();
  all.set(annotation.id, map);
  setChanged(map, annotation);
  return 'created';
};

/** `keyframeTaken` over the document, built once per call and skipping `exceptId`. */
export const keyframeIndex = (doc: Y.Doc, exceptId?: string): ((trackId: string, frame: number) => boolean) => {
  let index: Set<string> | null = null;
  return (trackId, frame) => {
    if (!index) {
      index = new Set();
      for (const [id, map] of annotationsMap(doc).entries()) {
        const trackOf: unknown = map.get(ANNOTATION.trackId);
        if (id !== exceptId && typeof trackOf === 'string') index.add(`${trackOf}\u0000${String(map.get(ANNOTATION.frame))}`);
      }
    }
    return index.has(`${trackId}\u0000${frame}`);
  };
};

const trackIdSet = (doc: Y.Doc): Set<string> => new Set(doc.getMap(SESSION.tracks).keys());

const contextOf = (doc: Y.Doc): AnnotationContext => ({
  meta: getMeta(doc),
  labels: getLabels(doc),
  tracks: trackIdSet(doc),
});

/** The annotation to store for a valid input, written by `by` at `now`. */
export const buildAnnotation = (
  input: AnnotationInput,
  bbox: BBox,
  { by, now }: { by: string; now: number },
): Annotation => ({
  id: input.id ?? newId(),
  frame: input.frame,
  bbox,
  label: input.label,
  trackId: input.trackId ?? null,
  detectionId: input.detectionId ?? null,
  attributes: cloneValue(input.attributes ?? {}),
  occluded: input.occluded ?? false,
  outside: input.outside ?? false,
  status: input.status ?? 'draft',
  source: input.source ?? 'manual',
  createdBy: by,
  updatedBy: by,
  createdAt: now,
  updatedAt: now,
});

/** Checks new annotations one by one against the document and the ones checked before them (`checkBatch`). */
const batchChecker = (
  doc: Y.Doc,
  opts: AnnotationWriteOptions,
): { errors: IndexedError[]; bboxes: (BBox | null)[]; check: (input: AnnotationInput, index: number) => void } => {
  const meta = getMeta(doc);
  const labels = getLabels(doc);
  const tracks = trackIdSet(doc);
  const all = annotationsMap(doc);
  const docKeyframe = keyframeIndex(doc);
  const batchIds = new Set<string>();
  const batchKeyframes = new Set<string>();
  const errors: IndexedError[] = [];
  const bboxes: (BBox | null)[] = [];
  const validateOpts: ValidateAnnotationOptions = {
    clip: opts.clip ?? false,
    idTaken: (id) => all.has(id) || batchIds.has(id),
    keyframeTaken: (trackId, frame) => docKeyframe(trackId, frame) || batchKeyframes.has(`${trackId}\u0000${frame}`),
  };
  const check = (input: AnnotationInput, index: number): void => {
    const checked = checkAnnotationInput({ meta, labels, tracks }, input, validateOpts);
    for (const error of checked.errors) errors.push({ index, error });
    bboxes[index] = checked.bbox;
    if (typeof input.id === 'string') batchIds.add(input.id);
    if (typeof input.trackId === 'string') batchKeyframes.add(`${input.trackId}\u0000${input.frame}`);
  };
  return { errors, bboxes, check };
};

/**
 * Every problem of a batch against the document, including ids and keyframes repeated inside
 * the batch. `bboxes[i]` is the box to store for input i (clipped when asked).
 */
const checkBatch = (doc: Y.Doc, inputs: readonly AnnotationInput[], opts: AnnotationWriteOptions): { errors: IndexedError[]; bboxes: (BBox | null)[] } => {
  const checker = batchChecker(doc, opts);
  inputs.forEach(checker.check);
  return checker;
};

/** Every problem of a batch of new annotations against the document, each with its input's index. */
export const validateAnnotationInputs = (
  doc: Y.Doc,
  inputs: readonly AnnotationInput[],
  opts: AnnotationWriteOptions = {},
): IndexedError[] => checkBatch(doc, inputs, opts).errors;

/** Adds one annotation; throws the first DocModelError when the input is invalid. */
export const addAnnotation = (doc: Y.Doc, input: AnnotationInput, write: AnnotationWrite): Annotation => {
  const { errors, bboxes } = checkBatch(doc, [input], write);
  const bbox = bboxes[0];
  if (errors[0]) throw errors[0].error;
  if (!bbox) throw new Error('unreachable: a valid input has a box');
  const annotation = buildAnnotation(input, bbox, { by: write.by, now: write.now ?? Date.now() });
  doc.transact(() => putAnnotation(doc, annotation), write.origin);
  return annotation;
};

/**
 * Adds many annotations in ONE transaction, all or nothing: every input is validated first, and
 * a DocModelError 'invalid_content' listing each problem (`details.errors[i].index`) is thrown
 * before anything is written.
 */
export const addAnnotations = (doc: Y.Doc, inputs: readonly AnnotationInput[], write: AnnotationWrite): Annotation[] =>
  runStaged(doc, planAddAnnotations(doc, inputs, write), write.origin);

/** `addAnnotations` checked and written in steps (staged-write.ts); refuses as it does, before any write step. */
export const planAddAnnotations = (doc: Y.Doc, inputs: readonly AnnotationInput[], write: AnnotationWrite): StagedWrite<Annotation[]> => {
  const checker = batchChecker(doc, write);
  let created: Annotation[] = [];
  const checks = [
    ...stepsOver(inputs, checker.check, CHECK_STEP_ITEMS),
    () => {
      const { errors, bboxes } = checker;
      if (errors.length > 0) {
        throw invalidContent('annotations', `${errors.length} problem(s) in ${inputs.length} annotation(s)`, {
          errors: errors.map(({ index, error }) => ({ index, ...error.toJSON() })),
        });
      }
      const now = write.now ?? Date.now();
      created = inputs.map((input, i) => buildAnnotation(input, bboxes[i] as BBox, { by: write.by, now }));
    },
  ];
  return {
    checks,
    steps: () => stepsOver(created, (annotation) => putAnnotation(doc, annotation), write.stepItems),
    result: () => created,
  };
};

/** Every problem of a patch to an existing annotation (not_found when there is none). */
export const validateAnnotationPatch = (
  doc: Y.Doc,
  id: string,
  patch: AnnotationPatch,
  opts: AnnotationWriteOptions = {},
): DocModelError[] => {
  const current = getAnnotation(doc, id);
  if (!current) return [notFound('id', `no annotation '${id}'`)];
  return checkAnnotationPatch(contextOf(doc), patch, current, {
    clip: opts.clip ?? false,
    keyframeTaken: keyframeIndex(doc, id),
  }).errors;
};

/**
 * Changes the given fields of an annotation, writing only those whose value differs (so a
 * concurrent edit of another field survives); `updatedBy`/`updatedAt` change only if something
 * did. Throws not_found, or the first validation error.
 */
export const updateAnnotation = (doc: Y.Doc, id: string, patch: AnnotationPatch, write: AnnotationWrite): Annotation => {
  const map = annotationsMap(doc).get(id);
  const current = readAnnotation(id, map);
  if (!(map instanceof Y.Map) || !current) throw notFound('id', `no annotation '${id}'`);
  const check = checkAnnotationPatch(contextOf(doc), patch, current, {
    clip: write.clip ?? false,
    keyframeTaken: keyframeIndex(doc, id),
  });
  if (check.errors[0]) throw check.errors[0];
  const values: Partial<Annotation> = {};
  for (const key of PATCHABLE) {
    if (patch[key] !== undefined) Object.assign(values, { [key]: patch[key] });
  }
  if (check.bbox) values.bbox = check.bbox;
  doc.transact(() => {
    if (setChanged(map, values)) setChanged(map, { updatedBy: write.by, updatedAt: write.now ?? Date.now() });
  }, write.origin);
  return readAnnotation(id, map) ?? current;
};

/** Deletes an annotation; true when it existed. */
export const deleteAnnotation = (doc: Y.Doc, id: string, origin?: unknown): boolean => {
  const all = annotationsMap(doc);
  if (!all.has(id)) return false;
  doc.transact(() => all.delete(id), origin);
  return true;
};

export const getAnnotation = (doc: Y.Doc, id: string): Annotation | null =>
  readAnnotation(id, annotationsMap(doc).get(id));

const matches = (a: Annotation, f: AnnotationFilter): boolean =>
  (f.frame === undefined || a.frame === f.frame) &&
  (f.fromFrame === undefined || a.frame >= f.fromFrame) &&
  (f.toFrame === undefined || a.frame <= f.toFrame) &&
  (f.label === undefined || a.label === f.label) &&
  (f.trackId === undefined || a.trackId === f.trackId) &&
  (f.detectionId === undefined || a.detectionId === f.detectionId) &&
  (f.status === undefined || a.status === f.status);

export const compareAnnotations = (a: Annotation, b: Annotation): number =>
  a.frame - b.frame || compareStrings(a.id, b.id);

/** Annotations matching every given filter field (frame range inclusive), sorted by frame then id. */
export const listAnnotations = (doc: Y.Doc, filter: AnnotationFilter = {}): Annotation[] => {
  const out: Annotation[] = [];
  for (const [id, map] of annotationsMap(doc).entries()) {
    const a = readAnnotation(id, map);
    if (a && matches(a, filter)) out.push(a);
  }
  return out.sort(compareAnnotations);
};
