/**
 * What all importers share once a file is read: flat per-frame boxes become content. Boxes of one
 * track keep their keyframes (the `keyframe` flag our exports and CVAT write; every box when a file
 * has no flag), and each gap in a track becomes an `outside` keyframe so that re-expanding the track
 * does not paint boxes where the file had none (CVAT semantics). Unknown labels are added
 * and reported, or refused with strictLabels.
 */
import type { AnnotationStatus, Attributes, BBox, Interpolation, LabelDef, Track } from '../types.ts';
import type { ImportContext, ImportedAnnotation, ImportedContent } from './content.ts';
import { problem, type Problem } from './problems.ts';

export interface FlatBox {
  id: string;
  frame: number;
  bbox: BBox;
  label: string;
  trackId: string | null;
  /** null: the file does not say. */
  keyframe: boolean | null;
  occluded: boolean;
  status?: AnnotationStatus;
  detectionId?: string | null;
  attributes: Attributes;
  interpolation?: Interpolation;
  place: string;
}


const toAnnotation = (b: FlatBox): ImportedAnnotation => {
  const out: ImportedAnnotation = {
    id: b.id,
    frame: b.frame,
    bbox: b.bbox,
    label: b.label,
    trackId: b.trackId,
    detectionId: b.detectionId ?? null,
    attributes: b.attributes,
    occluded: b.occluded,
    outside: false,
    source: 'import',
  };
  if (b.status) out.status = b.status;
  return out;
};

export interface BuildContentOptions {
  /**
   * One past the last frame of the video (a track that stops before it gets an outside keyframe
   * after its last box).
   */
  frameEnd: number;
  /** The import's problems, added to. */
  warnings: Problem[];
  errors: Problem[];
  labelDefs?: Record<string, LabelDef>;
}

export const buildContent = (
  boxes: FlatBox[],
  ctx: ImportContext,
  { frameEnd, warnings, errors, labelDefs = {} }: BuildContentOptions,
): ImportedContent => {
  const annotations: ImportedAnnotation[] = [];
  const byTrack = new Map<string, FlatBox[]>();
  const ids = new Set<string>();
  const usedLabels = new Map<string, string>();
  for (const b of boxes) {
    if (ids.has(b.id)) errors.push(problem('duplicate_id', `annotation id ${b.id} appears twice`, b.place));
    ids.add(b.id);
    if (!usedLabels.has(b.label)) usedLabels.set(b.label, b.place);
    if (b.trackId === null) annotations.push(toAnnotation(b));
    else {
      const list = byTrack.get(b.trackId) ?? [];
      list.push(b);
      byTrack.set(b.trackId, list);
    }
  }

  const tracks: Track[] = [];
  for (const [trackId, list] of byTrack) {
    list.sort((a, b) => a.frame - b.frame);
    const flagged = list.some((b) => b.keyframe === true);
    let prev: FlatBox | undefined;
    let kept: FlatBox | undefined;
    for (const b of list) {
      if (prev && prev.frame === b.frame) {
        errors.push(problem('duplicate_track_frame', `track ${trackId} has two boxes on frame ${b.frame}`, b.place));
        continue;
      }
      const gap = prev !== undefined && b.frame > prev.frame + 1;
      if (gap) annotations.push(outsideAfter(prev!, kept!, trackId));
      // The first box after a gap starts a new visible run, so it must be a keyframe.
      if (!flagged || b.keyframe === true || gap || !prev) {
        annotations.push(toAnnotation(b));
        kept = b;
      }
      prev = b;
    }
    if (prev && prev.frame + 1 < frameEnd) annotations.push(outsideAfter(prev, kept!, trackId));
    const first = list[0]!;
    tracks.push({
      id: trackId,
      label: first.label,
      attributes: {},
      interpolation: list.some((b) => b.interpolation === 'none') ? 'none' : 'linear',
    });
  }

  const known = ctx.labels ?? {};
  const labels: Record<string, LabelDef> = {};
  const addedLabels: string[] = [];
  for (const [label, place] of usedLabels) {
    labels[label] = known[label] ?? labelDefs[label] ?? {};
    if (Object.hasOwn(known, label)) continue;
    addedLabels.push(label);
    if (ctx.strictLabels) errors.push(problem('unknown_label', `label "${label}" is not in the session`, place));
    else warnings.push(problem('label_added', `label "${label}" is added to the session`, place));
  }
  return { labels, addedLabels, tracks, annotations };
};

/**
 * The outside keyframe after a track's last box on a run. Boxes are interpolated towards an
 * outside keyframe too (CVAT), so its box is extrapolated from the run's keyframe through the
 * last box: re-expanding then gives the same boxes as the file.
 */
const outsideAfter = (last: FlatBox, keyframe: FlatBox, trackId: string): ImportedAnnotation => {
  const span = last.frame - keyframe.frame;
  const linear = span > 0 && last.interpolation !== 'none' && keyframe.interpolation !== 'none';
  const guess = keyframe.bbox.map((v, i) => v + ((last.bbox[i]! - v) * (span + 1)) / span) as BBox;
  // A box that shrinks to nothing is no valid box: hold the last one (the tail then differs slightly).
  const bbox = linear && guess[2] > 0 && guess[3] > 0 ? guess : last.bbox;
  return outsideAt(last, bbox, trackId);
};

const outsideAt = (last: FlatBox, bbox: BBox, trackId: string): ImportedAnnotation => ({
  id: `${trackId}:outside:${last.frame + 1}`,
  frame: last.frame + 1,
  bbox,
  label: last.label,
  trackId,
  detectionId: null,
  attributes: {},
  occluded: false,
  outside: true,
  source: 'import',
});

/** Clips a box to the image; null when nothing of it is inside. */
export const clipBox = (bbox: BBox, width: number, height: number): BBox | null => {
  // Inside already: returned untouched, since (x + w) - x need not be w in floating point.
  if (bbox[0] >= 0 && bbox[1] >= 0 && bbox[0] + bbox[2] <= width && bbox[1] + bbox[3] <= height) return bbox;
  const x0 = Math.max(0, bbox[0]);
  const y0 = Math.max(0, bbox[1]);
  const x1 = Math.min(width, bbox[0] + bbox[2]);
  const y1 = Math.min(height, bbox[1] + bbox[3]);
  if (x1 <= x0 || y1 <= y0) return null;
  return [x0, y0, x1 - x0, y1 - y0];
};

export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Strict decimal number text: '12abc', 'NaN', 'Infinity', '1e309' and '' are not numbers. */
export const parseNumberText = (s: string): number | null => {
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(s)) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};

const decoder = new TextDecoder('utf-8');

/** Lines without BOM, CR or trailing whitespace, numbered from 1; blank lines skipped. */
export const textLines = (bytes: Uint8Array): { line: number; text: string }[] =>
  decoder
    .decode(bytes)
    .split('\n')
    .map((t, k) => ({ line: k + 1, text: t.replace(/\s+$/, '') }))
    .filter((l) => l.text !== '');

/** Finder's zips carry `__MACOSX/…` and `._name` AppleDouble files: binary metadata, not annotations. */
export const isMacMetadata = (path: string): boolean => path.startsWith('__MACOSX/') || path.slice(path.lastIndexOf('/') + 1).startsWith('._');
