/**
 * The frozen content of a ground-truth release: a session as plain data (meta, labels, tracks,
 * annotations, exactly as `readSession` gives them), its canonical form and hash, its counts, and
 * its stored encoding. Pure and browser-safe; the hash uses Web Crypto, present in browsers and
 * in Node ≥ 19 as `globalThis.crypto`.
 *
 *   const content = freezeSession(doc)                 // what every export of the release reads
 *   const hash = await releaseContentHash(content)     // 'sha256:…' over canonicalReleaseBytes
 *   const bytes = encodeReleaseContent(content)        // stored (the server compresses them)
 *   decodeReleaseContent(bytes)                        // deep-equal to `content`, key order kept
 *   formats.coco.export(content, opts, { loss })           // byte-identical to exporting the session then
 *
 * Two forms, on purpose:
 * - The frozen content keeps the document's order of labels and of attribute keys, because the
 *   exporters write them in that order (COCO category ids follow the label order, frame-walk.ts
 *   `labelOrder`), so a release exports byte for byte as the session did.
 * - The canonical form (RFC 8785 JSON over sorted ids) is what the hash covers: the ground truth
 *   itself — geometry, labels, tracks, flags, status, attributes, and the video it is on. It leaves
 *   out what only records history: insertion order, authors, timestamps, `source`, and which
 *   session or project holds the content, so equal ground truth hashes equal however it was made.
 *   Timestamps do decide one thing: which of two keyframes a track shows when peers put two on one
 *   frame (interpolation.ts `orderKeyframes`); the losing keyframe is marked `superseded` instead.
 */
import type * as Y from 'yjs';
import { canonicalJson } from './canonical-json.ts';
import { invalidContent, invalidMeta } from './errors.ts';
import type { SessionContent } from './formats/content.ts';
import { frameSpan } from './formats/frame-walk.ts';
import { orderKeyframes } from './interpolation.ts';
import { readSession } from './session.ts';
import type { Annotation, LabelDef, SessionMeta, Track } from './types.ts';
import { compareStrings, isPlainObject } from './values.ts';

/** A session frozen for a release: what the exporters read (meta is always there). */
export type ReleaseContent = SessionContent;

export const RELEASE_CONTENT_FORMAT = 'annosync-release';
export const RELEASE_CONTENT_VERSION = 1;

export interface LabelCounts {
  annotations: number;
  boxes: number;
}

export interface ReleaseCounts {
  annotations: number;
  tracks: number;
  /** Boxes an export writes: tracks expanded per frame, nothing on or after an `outside` keyframe. */
  boxes: number;
  perLabel: Record<string, LabelCounts>;
}

/** The session's content now; DocModelError 'invalid_meta' when the server never wrote its meta. */
export const freezeSession = (doc: Y.Doc): ReleaseContent => {
  const { meta, labels, tracks, annotations } = readSession(doc);
  if (!meta) throw invalidMeta('meta', 'the session has no video meta yet: nothing to release');
  return { meta, labels, tracks, annotations };
};

type CanonicalAnnotation = Omit<Annotation, 'source' | 'createdBy' | 'updatedBy' | 'createdAt' | 'updatedAt'> & { superseded?: true };

export interface CanonicalRelease {
  format: typeof RELEASE_CONTENT_FORMAT;
  version: typeof RELEASE_CONTENT_VERSION;
  meta: Pick<SessionMeta, 'videoId' | 'width' | 'height' | 'fps' | 'frameCount'>;
  labels: Record<string, LabelDef>;
  tracks: Track[];
  annotations: CanonicalAnnotation[];
}

/** Ids of keyframes another keyframe of their track on the same frame hides. */
const supersededKeyframes = (content: ReleaseContent): Set<string> => {
  const tracks = new Set(content.tracks.map((t) => t.id));
  const byKey = new Map<string, Annotation[]>();
  for (const a of content.annotations) {
    if (a.trackId === null || !tracks.has(a.trackId)) continue;
    const key = `${a.trackId}\u0000${a.frame}`;
    const list = byKey.get(key);
    if (list) list.push(a);
    else byKey.set(key, [a]);
  }
  const out = new Set<string>();
  for (const list of byKey.values()) {
    if (list.length < 2) continue;
    const shown = orderKeyframes(list)[0]!.id;
    for (const a of list) if (a.id !== shown) out.add(a.id);
  }
  return out;
};

const byId = <T extends { id: string }>(a: T, b: T): number => compareStrings(a.id, b.id);

/** The ground truth of the content, sorted by id (RFC 8785 sorts the keys when written). */
export const canonicalRelease = (content: ReleaseContent): CanonicalRelease => {
  const { videoId, width, height, fps, frameCount } = content.meta;
  const superseded = supersededKeyframes(content);
  return {
    format: RELEASE_CONTENT_FORMAT,
    version: RELEASE_CONTENT_VERSION,
    meta: { videoId, width, height, fps, frameCount },
    labels: content.labels,
    tracks: [...content.tracks].sort(byId).map(({ id, label, attributes, interpolation }) => ({ id, label, attributes, interpolation })),
    annotations: [...content.annotations].sort(byId).map((a) => {
      const { id, frame, bbox, label, trackId, detectionId, attributes, occluded, outside, status } = a;
      const out: CanonicalAnnotation = { id, frame, bbox, label, trackId, detectionId, attributes, occluded, outside, status };
      if (superseded.has(id)) out.superseded = true;
      return out;
    }),
  };
};

/** RFC 8785 text of the canonical form, UTF-8: equal ground truth, equal bytes. */
export const canonicalReleaseBytes = (content: ReleaseContent): Uint8Array =>
  new TextEncoder().encode(canonicalJson(canonicalRelease(content)));

const hex = (bytes: ArrayBuffer): string => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

/** `sha256:<64 hex digits>` of the canonical bytes (Web Crypto, so a browser can check a release). */
export const releaseContentHash = async (content: ReleaseContent): Promise<string> => {
  const bytes = canonicalReleaseBytes(content);
  return `sha256:${hex(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))}`;
};

/**
 * Annotations, tracks, export boxes, and both per label (a track's boxes count under the track's
 * label). Boxes are counted by segment, not walked frame by frame: a visible keyframe draws one box
 * on every frame up to the next keyframe, or to the end of the export's frame span
 * (frame-walk.ts `frameSpan`); an outside keyframe draws none — what `walkFrames` yields, in
 * O(annotations) instead of O(frames × tracks).
 */
export const releaseCounts = (content: ReleaseContent): ReleaseCounts => {
  const perLabel = new Map<string, LabelCounts>();
  const of = (label: string): LabelCounts => {
    let c = perLabel.get(label);
    if (!c) perLabel.set(label, (c = { annotations: 0, boxes: 0 }));
    return c;
  };
  const tracks = new Map(content.tracks.map((t) => [t.id, t]));
  const keyframes = new Map<string, Annotation[]>();
  let boxes = 0;
  for (const a of content.annotations) {
    of(a.label).annotations++;
    const track = a.trackId === null ? undefined : tracks.get(a.trackId);
    if (track) {
      const list = keyframes.get(track.id);
      if (list) list.push(a);
      else keyframes.set(track.id, [a]);
    } else if (!a.outside) {
      of(a.label).boxes++;
      boxes++;
    }
  }
  const end = frameSpan(content);
  for (const [id, list] of keyframes) {
    const ordered = orderKeyframes(list);
    let n = 0;
    ordered.forEach((k, i) => {
      if (!k.outside) n += (ordered[i + 1]?.frame ?? end) - k.frame;
    });
    of(tracks.get(id)!.label).boxes += n;
    boxes += n;
  }
  const labels = [...perLabel.keys()].sort(compareStrings);
  return {
    annotations: content.annotations.length,
    tracks: content.tracks.length,
    boxes,
    // fromEntries defines own properties, so a label named '__proto__' stays a label.
    perLabel: Object.fromEntries(labels.map((l) => [l, perLabel.get(l)!])),
  };
};

/** The stored form: JSON that keeps the document's key order (JSON.parse keeps it too). */
export const encodeReleaseContent = (content: ReleaseContent): Uint8Array =>
  new TextEncoder().encode(
    JSON.stringify({ format: RELEASE_CONTENT_FORMAT, version: RELEASE_CONTENT_VERSION, content: { meta: content.meta, labels: content.labels, tracks: content.tracks, annotations: content.annotations } }),
  );

/** Reads what `encodeReleaseContent` wrote; DocModelError 'invalid_content' for anything else. */
export const decodeReleaseContent = (bytes: Uint8Array): ReleaseContent => {
  let root: unknown;
  try {
    root = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw invalidContent('content', `release content is not JSON: ${(err as Error).message}`);
  }
  return releaseContentOf(root);
};

/** The parsed stored form as content; DocModelError 'invalid_content' when it is not what `encodeReleaseContent` writes. */
export const releaseContentOf = (root: unknown): ReleaseContent => {
  if (!isPlainObject(root) || root.format !== RELEASE_CONTENT_FORMAT) throw invalidContent('format', `release content is not '${RELEASE_CONTENT_FORMAT}'`);
  if (root.version !== RELEASE_CONTENT_VERSION) throw invalidContent('version', `release content version ${String(root.version)} is not ${RELEASE_CONTENT_VERSION}`);
  const c = root.content;
  if (!isPlainObject(c) || !isPlainObject(c.meta) || !isPlainObject(c.labels) || !Array.isArray(c.tracks) || !Array.isArray(c.annotations)) {
    throw invalidContent('content', 'release content needs meta, labels, tracks and annotations');
  }
  return { meta: c.meta as unknown as SessionMeta, labels: c.labels as Record<string, LabelDef>, tracks: c.tracks as Track[], annotations: c.annotations as Annotation[] };
};

const ANNOTATIONS_KEY = '"annotations"';

/**
 * Where the annotations array lies in a text `encodeReleaseContent` wrote: `content`'s last member,
 * so the text ends with the array's `]` and then `}}`. Found by a scan of what comes before it
 * (meta, labels, tracks: small), tracking strings and nesting; null for a text of any other shape.
 * What a reader that parses the array apart (in slices) needs; the text less that array, with `[]`
 * in its place, parses to the rest.
 */
export const releaseAnnotationsSpan = (text: string): { start: number; end: number } | null => {
  if (!text.endsWith(']}}')) return null;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote (a backslash escapes the character after it).
      const from = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (depth === 2 && i - from + 1 === ANNOTATIONS_KEY.length && text.startsWith(ANNOTATIONS_KEY, from) && text.startsWith(':[', i + 1)) {
        return { start: i + 2, end: text.length - 2 };
      }
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
};
