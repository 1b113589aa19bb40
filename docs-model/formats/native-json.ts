/**
 * Native JSON: everything a session document holds (meta, labels, tracks, every annotation field)
 * under a schema version, so that export then import yields identical content.
 *
 *   const bytes = collect(exportNativeJson(content))
 *   parseNativeJson(bytes).content // same meta, labels, tracks and annotations
 */
import type { Annotation, LabelDef, SessionMeta, Track } from '../types.ts';
import type { ExportOptions, ExportSession, ExportTarget, ImportContext, ImportedAnnotation, ImportResult, SessionContent } from './content.ts';
import { chunked } from './chunker.ts';
import { isFiniteNumber } from './imported.ts';
import { isAnnotationStatus } from '../types.ts';
import { emptyLoss } from './loss.ts';
import { problem, type Problem } from './problems.ts';
import { parseSafeJson, type SafeJsonLimits } from './safe-json.ts';

export const NATIVE_SCHEMA_VERSION = 1;
export const NATIVE_FORMAT = 'annosync-session';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The native format holds everything: options are accepted for a uniform registry and ignored. */
export function* exportNativeJson(content: SessionContent, _opts: ExportOptions = {}, _target: ExportTarget = {}): Generator<Uint8Array> {
  yield* chunked(nativeText(content));
}

function* nativeText(content: SessionContent): Generator<string> {
  yield `{"format":"${NATIVE_FORMAT}","schemaVersion":${NATIVE_SCHEMA_VERSION},`;
  yield `"meta":${JSON.stringify(content.meta)},"labels":${JSON.stringify(content.labels)},"tracks":[`;
  for (const [k, t] of content.tracks.entries()) yield (k ? ',\n' : '\n') + JSON.stringify(t);
  yield '],"annotations":[';
  for (const [k, a] of content.annotations.entries()) yield (k ? ',\n' : '\n') + JSON.stringify(a);
  yield ']}\n';
}

const META_NUMBERS = ['width', 'height', 'fps', 'frameCount'] as const;
const META_STRINGS = ['sessionId', 'projectId', 'videoId'] as const;

/**
 * Several sessions: `{ format: 'annosync-project', schemaVersion, projectId, sessions: [<session export>…] }`
 * (`projectId` only when `opts.projectId` is given).
 */
export function* exportNativeProject(
  sessions: ExportSession[],
  opts: ExportOptions & { projectId?: string } = {},
  { loss = emptyLoss('json') }: ExportTarget = {},
): Generator<Uint8Array> {
  const text = new TextEncoder();
  const { projectId } = opts;
  const id = projectId === undefined ? '' : `"projectId":${JSON.stringify(projectId)},`;
  yield text.encode(`{"format":"annosync-project","schemaVersion":${NATIVE_SCHEMA_VERSION},${id}"sessions":[`);
  for (const [k, { content }] of sessions.entries()) {
    if (k) yield text.encode(',');
    yield* exportNativeJson(content, opts, { loss });
  }
  yield text.encode(']}\n');
}

export const parseNativeJson = (input: string | Uint8Array, ctx: ImportContext = {}, limits: SafeJsonLimits = {}): ImportResult => {
  const warnings: Problem[] = [];
  const errors: Problem[] = [];
  const parsed = parseSafeJson(input, limits);
  errors.push(...parsed.problems);
  const root = parsed.value;
  const empty: ImportResult = { content: { labels: {}, addedLabels: [], tracks: [], annotations: [] }, warnings, errors, frameRule: 'native' };
  if (!isObj(root)) {
    if (root !== undefined) errors.push(problem('json_invalid', 'a native export is a JSON object', '/'));
    return empty;
  }
  if (root.schemaVersion !== NATIVE_SCHEMA_VERSION) {
    errors.push(problem('schema_version', `schemaVersion ${JSON.stringify(root.schemaVersion)} is not ${NATIVE_SCHEMA_VERSION}`, '/schemaVersion'));
    return empty;
  }
  // A number the reader refused (1e309) is already reported at its pointer: not again at its parent.
  const reported = parsed.problems.map((p) => p.place);
  const bad = (at: string, message: string): void => {
    if (!reported.some((p) => p === at || p.startsWith(`${at}/`))) errors.push(problem('json_invalid', message, at));
  };

  const meta: Partial<SessionMeta> = {};
  if (isObj(root.meta)) {
    for (const key of META_NUMBERS) {
      const v = root.meta[key];
      if (isFiniteNumber(v) && v >= 0) meta[key] = v;
      else if (v !== undefined) bad(`/meta/${key}`, `${key} must be a non-negative number`);
    }
    for (const key of META_STRINGS) {
      const v = root.meta[key];
      if (typeof v === 'string') meta[key] = v;
      else if (v !== undefined) bad(`/meta/${key}`, `${key} must be a string`);
    }
  } else if (root.meta !== undefined) bad('/meta', 'meta must be an object');

  const labels: Record<string, LabelDef> = {};
  if (isObj(root.labels)) {
    for (const [name, def] of Object.entries(root.labels)) {
      if (!isObj(def)) bad(`/labels/${name}`, 'a label definition is an object');
      else if (def.color !== undefined && typeof def.color !== 'string') bad(`/labels/${name}/color`, 'color must be a string');
      else if (def.attributes !== undefined && !isObj(def.attributes)) bad(`/labels/${name}/attributes`, 'attributes must be an object');
      else labels[name] = def as LabelDef;
    }
  } else bad('/labels', 'labels must be an object');

  const tracks: Track[] = [];
  const trackIds = new Set<string>();
  (Array.isArray(root.tracks) ? root.tracks : (bad('/tracks', 'tracks must be an array'), [])).forEach((t: unknown, k) => {
    const at = `/tracks/${k}`;
    if (!isObj(t) || typeof t.id !== 'string' || typeof t.label !== 'string' || !isObj(t.attributes) || (t.interpolation !== 'linear' && t.interpolation !== 'none')) {
      return bad(at, 'a track is { id, label, attributes, interpolation: linear|none }');
    }
    if (trackIds.has(t.id)) return void errors.push(problem('duplicate_id', `track id ${t.id} appears twice`, `${at}/id`));
    trackIds.add(t.id);
    tracks.push({ id: t.id, label: t.label, attributes: t.attributes, interpolation: t.interpolation });
  });

  const annotations: ImportedAnnotation[] = [];
  const ids = new Set<string>();
  const used = new Map<string, string>();
  (Array.isArray(root.annotations) ? root.annotations : (bad('/annotations', 'annotations must be an array'), [])).forEach((a: unknown, k) => {
    const at = `/annotations/${k}`;
    const ann = checkAnnotation(a, at, bad);
    if (!ann) return;
    if (ids.has(ann.id)) return void errors.push(problem('duplicate_id', `annotation id ${ann.id} appears twice`, `${at}/id`));
    ids.add(ann.id);
    if (ann.trackId !== null && !trackIds.has(ann.trackId)) errors.push(problem('unknown_track', `track ${ann.trackId} is not in tracks`, `${at}/trackId`));
    if (!used.has(ann.label)) used.set(ann.label, `${at}/label`);
    annotations.push(ann);
  });
  for (const [k, t] of tracks.entries()) if (!used.has(t.label)) used.set(t.label, `/tracks/${k}/label`);

  const known = ctx.labels ?? {};
  const addedLabels: string[] = [];
  for (const [label, at] of used) if (!Object.hasOwn(labels, label)) errors.push(problem('unknown_label', `label "${label}" is used but not defined in labels`, at));
  for (const label of Object.keys(labels)) {
    if (Object.hasOwn(known, label)) continue;
    addedLabels.push(label);
    if (ctx.strictLabels) errors.push(problem('unknown_label', `label "${label}" is not in the session`, `/labels/${label}`));
    else warnings.push(problem('label_added', `label "${label}" is added to the session`, `/labels/${label}`));
  }
  return { content: { labels, addedLabels, tracks, annotations, meta }, warnings, errors, frameRule: 'native' };
};

const checkAnnotation = (a: unknown, at: string, bad: (at: string, message: string) => void): Annotation | null => {
  if (!isObj(a)) return bad(at, 'an annotation is an object'), null;
  let ok = true;
  const need = (key: string, test: (v: unknown) => boolean, what: string): void => {
    if (!test(a[key])) {
      bad(`${at}/${key}`, `${key} must be ${what}`);
      ok = false;
    }
  };
  const str = (v: unknown): boolean => typeof v === 'string';
  const strOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
  const bool = (v: unknown): boolean => typeof v === 'boolean';
  const time = (v: unknown): boolean => isFiniteNumber(v);
  need('id', (v) => typeof v === 'string' && v !== '', 'a non-empty string');
  need('frame', (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0, 'an integer ≥ 0');
  need('bbox', (v) => Array.isArray(v) && v.length === 4 && v.every(isFiniteNumber) && (v[2] as number) > 0 && (v[3] as number) > 0, '[x, y, w, h] with w, h > 0');
  need('label', str, 'a string');
  need('trackId', strOrNull, 'a string or null');
  need('detectionId', strOrNull, 'a string or null');
  need('attributes', isObj, 'an object');
  need('occluded', bool, 'a boolean');
  need('outside', bool, 'a boolean');
  need('status', isAnnotationStatus, 'draft, validated or rejected');
  need('source', (v) => v === 'manual' || v === 'import' || v === 'model', 'manual, import or model');
  need('createdBy', str, 'a string');
  need('updatedBy', str, 'a string');
  need('createdAt', time, 'a number (ms since epoch)');
  need('updatedAt', time, 'a number (ms since epoch)');
  if (!ok) return null;
  const { id, frame, bbox, label, trackId, detectionId, attributes, occluded, outside, status, source, createdBy, updatedBy, createdAt, updatedAt } =
    a as unknown as Annotation;
  return { id, frame, bbox: [bbox[0], bbox[1], bbox[2], bbox[3]], label, trackId, detectionId, attributes, occluded, outside, status, source, createdBy, updatedBy, createdAt, updatedAt };
};
