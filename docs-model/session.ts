/**
 * A whole session document as plain data: read for exports, written for imports (one
 * transaction, all or nothing), and initialised by the server when a session is created.
 *
 *   const content = readSession(doc)              // { meta, labels, tracks, annotations }
 *   writeSession(other, content, { mode: 'replace', origin: 'import' }) // `other` now holds the same content
 */
import * as Y from 'yjs';
import {
  annotationsMap,
  buildAnnotation,
  keyframeIndex,
  listAnnotations,
  putAnnotation,
  setChanged,
  type PutResult,
} from './annotations.ts';
import { checkAnnotationInput } from './annotation-validation.ts';
import { newestFirst } from './delete-order.ts';
import { invalidContent, invalidValue, type DocModelError } from './errors.ts';
import { getLabels, validateLabel } from './labels.ts';
import { getMeta, setMeta, validateMeta } from './meta.ts';
import { ANNOTATION, SESSION } from './keys.ts';
import { listTracks, putTrack, tracksMap, validateTrackInput } from './tracks.ts';
import type { Annotation, AnnotationInput, LabelDef, OriginOptions, SessionMeta, Track, TrackInput } from './types.ts';
import { cloneValue, newId } from './values.ts';
import { CHECK_STEP_ITEMS, runStaged, stepsOver, type StagedWrite } from './staged-write.ts';

export interface SessionContent {
  meta: SessionMeta | null;
  labels: Record<string, LabelDef>;
  /** Sorted by id. */
  tracks: Track[];
  /** Sorted by frame, then id. */
  annotations: Annotation[];
}

/** An annotation to write: an input, optionally with its authorship (an `Annotation` fits). */
export type AnnotationImport = AnnotationInput &
  Partial<Pick<Annotation, 'createdBy' | 'updatedBy' | 'createdAt' | 'updatedAt'>>;

/** What writeSession takes; a `SessionContent` fits. Absent parts are left alone (merge) or emptied (replace). */
export interface SessionContentInput {
  /** Written when given; the route decides whether an import may change it. */
  meta?: SessionMeta | null;
  labels?: Record<string, LabelDef>;
  tracks?: TrackInput[];
  annotations?: AnnotationImport[];
}

export interface WriteSessionOptions {
  /** merge: add and update by id, keep the rest. replace: afterwards the document holds exactly `content`. */
  mode: 'merge' | 'replace';
  /** Author of created/changed annotations that do not name one. Default 'import'. */
  by?: string;
  now?: number;
  /** Clip boxes that cross the frame edge instead of refusing them. */
  clip?: boolean;
  /** Keep boxes that reach past the frame edge as given (MOT imports); see ValidateAnnotationOptions. */
  keepPastEdge?: boolean;
  /** The Yjs transaction origin of the one transaction. */
  origin?: unknown;
  /** Annotations per step of a planned write (`planWriteSession`); WRITE_STEP_ITEMS when left out. */
  stepItems?: number;
}

export interface WriteCounts {
  created: number;
  updated: number;
  deleted: number;
}

export interface WriteSessionResult {
  labels: WriteCounts;
  tracks: WriteCounts;
  annotations: WriteCounts;
}

export const readSession = (doc: Y.Doc): SessionContent => ({
  meta: getMeta(doc),
  labels: getLabels(doc),
  tracks: listTracks(doc),
  annotations: listAnnotations(doc),
});

/** A problem of session content, located by part and position. */
interface LocatedError {
  part: 'meta' | 'labels' | 'tracks' | 'annotations';
  index?: number;
  name?: string;
  error: DocModelError;
}

const counts = (): WriteCounts => ({ created: 0, updated: 0, deleted: 0 });
const count = (c: WriteCounts, result: PutResult): void => {
  if (result === 'created') c.created++;
  else if (result === 'updated') c.updated++;
};

const keyOf = (trackId: string, frame: number): string => `${trackId}\u0000${frame}`;

/**
 * Validates everything against the document as it will be after the write, then writes it in
 * ONE transaction; throws DocModelError 'invalid_content' (details.errors: every problem with
 * its part and index) before writing anything.
 */
export const writeSession = (doc: Y.Doc, content: SessionContentInput, opts: WriteSessionOptions): WriteSessionResult =>
  runStaged(doc, planWriteSession(doc, content, opts), opts.origin);

/**
 * `writeSession` checked and written in steps (staged-write.ts): the annotations checked
 * `CHECK_STEP_ITEMS` at a time (meta, labels and tracks at once, here), every refusal thrown by the
 * last check; then meta, labels and tracks written, the annotations a replace removes, and the
 * annotations, `opts.stepItems` per step.
 */
export const planWriteSession = (
  doc: Y.Doc,
  content: SessionContentInput,
  opts: WriteSessionOptions,
): StagedWrite<WriteSessionResult> => {
  const replace = opts.mode === 'replace';
  const by = opts.by ?? 'import';
  const now = opts.now ?? Date.now();
  const errors: LocatedError[] = [];

  const metaErrors = content.meta ? validateMeta(content.meta) : [];
  for (const error of metaErrors) errors.push({ part: 'meta', error });
  // Boxes and frames are not also reported against a meta that is itself refused.
  const meta = metaErrors.length > 0 ? null : (content.meta ?? getMeta(doc));

  const newLabels = content.labels ?? {};
  for (const [name, def] of Object.entries(newLabels)) {
    for (const error of validateLabel(name, def)) errors.push({ part: 'labels', name, error });
  }
  const labels = replace ? newLabels : { ...getLabels(doc), ...newLabels };

  const trackIds = new Set(replace ? [] : tracksMap(doc).keys());
  const seenTracks = new Set<string>();
  const tracks: Track[] = (content.tracks ?? []).map((input, index) => {
    const problems = validateTrackInput(labels, input, { idTaken: (id) => seenTracks.has(id) });
    if (input.label === undefined) problems.push(invalidValue('label', 'label is required'));
    for (const error of problems) errors.push({ part: 'tracks', index, error });
    const track: Track = {
      id: input.id ?? newId(),
      label: input.label,
      attributes: cloneValue(input.attributes ?? {}),
      interpolation: input.interpolation ?? 'linear',
    };
    seenTracks.add(track.id);
    trackIds.add(track.id);
    return track;
  });

  const inputs = content.annotations ?? [];
  const incomingIds = new Set(inputs.flatMap((a) => (typeof a.id === 'string' ? [a.id] : [])));
  // Keyframes that stay in the document: none on replace, else those not overwritten here.
  const docKeyframe = replace ? () => false : keyframeIndexExcept(doc, incomingIds);
  const seenIds = new Set<string>();
  const seenKeyframes = new Set<string>();
  const annotations: AnnotationImport[] = [];
  const checkOne = (input: AnnotationImport, index: number): void => {
    const check = checkAnnotationInput({ meta, labels, tracks: trackIds }, input, {
      clip: opts.clip ?? false,
      keepPastEdge: opts.keepPastEdge ?? false,
      idTaken: (id) => seenIds.has(id),
      keyframeTaken: (trackId, frame) => docKeyframe(trackId, frame) || seenKeyframes.has(keyOf(trackId, frame)),
    });
    for (const error of check.errors) errors.push({ part: 'annotations', index, error });
    if (typeof input.id === 'string') seenIds.add(input.id);
    if (typeof input.trackId === 'string') seenKeyframes.add(keyOf(input.trackId, input.frame));
    annotations[index] = { ...input, id: input.id ?? newId(), bbox: check.bbox ?? input.bbox };
  };
  const refuseAny = (): void => {
    if (errors.length === 0) return;
    throw invalidContent('content', `${errors.length} problem(s) in the session content`, {
      errors: errors.map(({ error, ...where }) => ({ ...where, ...error.toJSON() })),
    });
  };

  const result: WriteSessionResult = { labels: counts(), tracks: counts(), annotations: counts() };
  const first = (): void => {
    if (content.meta) setMeta(doc, content.meta); // joins the step's transaction
    writeLabels(doc, newLabels, replace, result.labels);
    if (replace) deleteAbsent(tracksMap(doc), new Set(tracks.map((t) => t.id)), result.tracks);
    for (const track of tracks) count(result.tracks, putTrack(doc, track));
  };
  const steps = (): Array<() => void> => {
    const all = annotationsMap(doc);
    const keep = new Set(annotations.map((a) => a.id as string));
    const removed = replace ? newestFirst(all, [...all.keys()].filter((id) => !keep.has(id))) : [];
    const remove = (id: string): void => {
      all.delete(id);
      result.annotations.deleted++;
    };
    return [
      first,
      ...stepsOver(removed, remove, opts.stepItems),
      ...stepsOver(annotations, (input) => count(result.annotations, putImported(doc, input, by, now)), opts.stepItems),
    ];
  };
  return { checks: [...stepsOver(inputs, checkOne, CHECK_STEP_ITEMS), refuseAny], steps, result: () => result };
};

const keyframeIndexExcept = (doc: Y.Doc, overwritten: ReadonlySet<string>): ((trackId: string, frame: number) => boolean) => {
  const index = keyframeIndex(doc);
  const overwrittenKeys = new Set<string>();
  for (const id of overwritten) {
    const map = annotationsMap(doc).get(id);
    const trackId: unknown = map?.get(ANNOTATION.trackId);
    if (typeof trackId === 'string') overwrittenKeys.add(keyOf(trackId, Number(map?.get(ANNOTATION.frame))));
  }
  return (trackId, frame) => !overwrittenKeys.has(keyOf(trackId, frame)) && index(trackId, frame);
};

const deleteAbsent = <T>(map: Y.Map<T>, keep: ReadonlySet<string>, c: WriteCounts): void => {
  for (const key of [...map.keys()]) {
    if (keep.has(key)) continue;
    map.delete(key);
    c.deleted++;
  }
};

const writeLabels = (doc: Y.Doc, labels: Record<string, LabelDef>, replace: boolean, c: WriteCounts): void => {
  const map = doc.getMap<unknown>(SESSION.labels);
  if (replace) deleteAbsent(map, new Set(Object.keys(labels)), c);
  for (const [name, def] of Object.entries(labels)) {
    const had = map.has(name);
    if (setChanged(map, { [name]: def })) c[had ? 'updated' : 'created']++;
  }
};

/**
 * Upserts one imported annotation, taken as a whole (absent optional fields get their defaults),
 * except `source` ('import' when new, else kept) and authorship: given values are written;
 * otherwise an existing annotation keeps its creation and gets `by`/`now` only if it changed.
 */
const putImported = (doc: Y.Doc, input: AnnotationImport, by: string, now: number): PutResult => {
  const id = input.id as string;
  const existing: unknown = annotationsMap(doc).get(id);
  const base = buildAnnotation({ ...input, id }, input.bbox, { by, now });
  if (!(existing instanceof Y.Map)) {
    return putAnnotation(doc, {
      ...base,
      source: input.source ?? 'import',
      createdBy: input.createdBy ?? by,
      createdAt: input.createdAt ?? now,
      updatedBy: input.updatedBy ?? input.createdBy ?? by,
      updatedAt: input.updatedAt ?? input.createdAt ?? now,
    });
  }
  const { createdBy: _cb, createdAt: _ca, updatedBy: _ub, updatedAt: _ua, source, ...fields } = base;
  // An existing annotation keeps where it came from unless the content says otherwise.
  const changed = setChanged(existing, input.source === undefined ? fields : { ...fields, source });
  const authorship: Partial<Annotation> = {};
  if (input.createdBy !== undefined) authorship.createdBy = input.createdBy;
  if (input.createdAt !== undefined) authorship.createdAt = input.createdAt;
  authorship.updatedBy = input.updatedBy ?? (changed ? by : undefined);
  authorship.updatedAt = input.updatedAt ?? (changed ? now : undefined);
  const touched = setChanged(existing, authorship);
  return changed || touched ? 'updated' : 'unchanged';
};

/** Writes meta and labels of a new session in one transaction (idempotent: only changes are written). */
export const initSession = (
  doc: Y.Doc,
  { meta, labels }: { meta: SessionMeta; labels: Record<string, LabelDef> },
  opts: OriginOptions = {},
): void => {
  writeSession(doc, { meta, labels }, { mode: 'merge', origin: opts.origin });
};
