/**
 * What changed between two releases of a session (or a release and the live document, frozen
 * with `freezeSession`): annotations and tracks added, removed and changed — each changed field
 * with `from` and `to`, and the IoU of a moved box — and the per-label counts on both sides.
 * Authorship and timestamps are not compared: like the content hash (release-content.ts), the
 * diff is about the ground truth, so an edit that was undone shows as no change.
 *
 *   const d = diffReleases(older, newer, { limit: 100 })
 *   d.summary.annotations // { added: 3, removed: 1, changed: 2 }
 *   d.changes             // tracks first, then annotations, each by id; d.nextCursor for the rest
 *   diffReleases(older, newer, { summary: true }) // counts only
 */
import { iou } from './evaluation.ts';
import { invalidValue } from './errors.ts';
import { releaseCounts, type ReleaseContent } from './release-content.ts';
import type { Annotation, Track } from './types.ts';
import { compareStrings, sameValue } from './values.ts';

export const ANNOTATION_DIFF_FIELDS = ['frame', 'bbox', 'label', 'trackId', 'detectionId', 'attributes', 'occluded', 'outside', 'status'] as const;
export const TRACK_DIFF_FIELDS = ['label', 'attributes', 'interpolation'] as const;

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export type DiffChange =
  | { type: 'annotation'; change: 'added'; id: string; annotation: Annotation }
  | { type: 'annotation'; change: 'removed'; id: string; annotation: Annotation }
  /** `iou` when the box changed: of the box before and after (on their own frames). */
  | { type: 'annotation'; change: 'changed'; id: string; frame: number; label: string; fields: FieldChange[]; iou?: number }
  | { type: 'track'; change: 'added' | 'removed'; id: string; track: Track }
  | { type: 'track'; change: 'changed'; id: string; fields: FieldChange[] };

export interface ChangeCounts {
  added: number;
  removed: number;
  changed: number;
}

export interface LabelDiffCounts {
  from: { annotations: number; boxes: number };
  to: { annotations: number; boxes: number };
}

export interface DiffSummary {
  annotations: ChangeCounts;
  tracks: ChangeCounts;
  /** Every label either side has, sorted; a side without it counts 0. */
  perLabel: Record<string, LabelDiffCounts>;
}

export interface ReleaseDiff {
  summary: DiffSummary;
  /** Absent with `summary: true`. */
  changes?: DiffChange[];
  nextCursor?: string | null;
}

export interface DiffOptions {
  /** Changes per page; default 100, at most 1000. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Counts only. */
  summary?: boolean;
}

export const DIFF_PAGE_DEFAULT = 100;
export const DIFF_PAGE_MAX = 1000;

const fieldChanges = <T extends object>(a: T, b: T, fields: readonly (keyof T & string)[]): FieldChange[] => {
  const out: FieldChange[] = [];
  for (const field of fields) if (!sameValue(a[field], b[field])) out.push({ field, from: a[field], to: b[field] });
  return out;
};

/** Tracks sort before annotations; within each, ids in code-unit order. */
const rank = (c: { type: string }): number => (c.type === 'track' ? 0 : 1);
const compareKeys = (a: [number, string], b: [number, string]): number => a[0] - b[0] || compareStrings(a[1], b[1]);

const encodeCursor = (key: [number, string]): string => encodeURIComponent(`${key[0]}:${key[1]}`);
const decodeCursor = (cursor: string): [number, string] => {
  let text: string;
  try {
    text = decodeURIComponent(cursor);
  } catch {
    text = '';
  }
  const m = /^([01]):([\s\S]*)$/.exec(text);
  if (!m) throw invalidValue('cursor', 'cursor is not one this diff gave');
  return [Number(m[1]), m[2]!];
};

/** Items compared per step of `diffReleaseSteps`. */
const STEP_ITEMS = 500;

/** Emits each pair by id; a step (a yield) every STEP_ITEMS pairs. */
function* diffById<T extends { id: string }>(from: readonly T[], to: readonly T[], emit: (a: T | undefined, b: T | undefined) => void): Generator<void> {
  const before = new Map(from.map((x) => [x.id, x]));
  let n = 0;
  for (const b of to) {
    emit(before.get(b.id), b);
    before.delete(b.id);
    if (++n % STEP_ITEMS === 0) yield;
  }
  for (const a of before.values()) {
    emit(a, undefined);
    if (++n % STEP_ITEMS === 0) yield;
  }
}

/** `diffReleaseSteps` run to its end at once. */
export function diffReleases(from: ReleaseContent, to: ReleaseContent, opts: DiffOptions = {}): ReleaseDiff {
  const steps = diffReleaseSteps(from, to, opts);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The diff as steps of a few hundred items each, for a caller that runs them in slices of the event
 * loop: 10 000 annotations against 10 000 take 25-50 ms in all.
 */
export function* diffReleaseSteps(from: ReleaseContent, to: ReleaseContent, opts: DiffOptions = {}): Generator<void, ReleaseDiff> {
  const limit = opts.limit ?? DIFF_PAGE_DEFAULT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > DIFF_PAGE_MAX) throw invalidValue('limit', `limit must be an integer in 1…${DIFF_PAGE_MAX}`);
  const after = opts.cursor === undefined ? null : decodeCursor(opts.cursor);
  const summary: DiffSummary = { annotations: { added: 0, removed: 0, changed: 0 }, tracks: { added: 0, removed: 0, changed: 0 }, perLabel: {} };
  const changes: DiffChange[] = [];
  const keep = (c: DiffChange): void => {
    if (opts.summary) return;
    if (after && compareKeys([rank(c), c.id], after) <= 0) return;
    changes.push(c);
  };

  yield* diffById(from.tracks, to.tracks, (a, b) => {
    if (a && b) {
      const fields = fieldChanges(a, b, TRACK_DIFF_FIELDS);
      if (fields.length === 0) return;
      summary.tracks.changed++;
      keep({ type: 'track', change: 'changed', id: b.id, fields });
    } else if (b) {
      summary.tracks.added++;
      keep({ type: 'track', change: 'added', id: b.id, track: b });
    } else if (a) {
      summary.tracks.removed++;
      keep({ type: 'track', change: 'removed', id: a.id, track: a });
    }
  });
  yield* diffById(from.annotations, to.annotations, (a, b) => {
    if (a && b) {
      const fields = fieldChanges(a, b, ANNOTATION_DIFF_FIELDS);
      if (fields.length === 0) return;
      summary.annotations.changed++;
      const change: DiffChange = { type: 'annotation', change: 'changed', id: b.id, frame: b.frame, label: b.label, fields };
      if (fields.some((f) => f.field === 'bbox')) change.iou = iou(a.bbox, b.bbox);
      keep(change);
    } else if (b) {
      summary.annotations.added++;
      keep({ type: 'annotation', change: 'added', id: b.id, annotation: b });
    } else if (a) {
      summary.annotations.removed++;
      keep({ type: 'annotation', change: 'removed', id: a.id, annotation: a });
    }
  });

  yield;
  const fromCounts = releaseCounts(from).perLabel;
  const toCounts = releaseCounts(to).perLabel;
  const zero = { annotations: 0, boxes: 0 };
  const labels = [...new Set([...Object.keys(fromCounts), ...Object.keys(toCounts)])].sort(compareStrings);
  summary.perLabel = Object.fromEntries(
    labels.map((l) => [l, { from: Object.hasOwn(fromCounts, l) ? fromCounts[l]! : zero, to: Object.hasOwn(toCounts, l) ? toCounts[l]! : zero }]),
  );
  if (opts.summary) return { summary };

  yield;
  changes.sort((x, y) => compareKeys([rank(x), x.id], [rank(y), y.id]));
  const page = changes.slice(0, limit);
  const last = page[page.length - 1];
  return { summary, changes: page, nextCursor: changes.length > limit && last ? encodeCursor([rank(last), last.id]) : null };
}
