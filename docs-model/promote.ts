/**
 * Pre-labels: what promoting a model run's detections into a session writes (docs/formats.md,
 * "Pre-labels from a run"). Pure: the server runs the plan through `writeSession` in one
 * transaction of the live document.
 *
 *   const plan = planPromotion(detections, { annotations, tracks, labels, frameCount }, { runId, model, minScore: 0.5 })
 *   writeSession(ydoc, plan.content, { mode: 'merge', by, keepPastEdge: true, origin })
 *
 * - A detection without a track id becomes one draft box; detections sharing a track id (and a
 *   label: a track has one) become one track. Each run of consecutive frames is a stretch of
 *   keyframes — every frame, or with `keyframes: 'auto'` only the frames the linear interpolation
 *   between kept keyframes misses by more than `tolerancePx` (1 px) on x, y, w or h (Ramer–Douglas–
 *   Peucker over frames, so every dropped frame is within the tolerance of the box the track
 *   interpolates there) — and a gap, or the end, is an `outside` keyframe on the frame after.
 * - Every box is `source: 'model'`, `status: 'draft'`, linked by `detectionId` (the detection's own
 *   id, else `<runId>:<index>` with index its position in the run) and carries
 *   `attributes.model = { name, version, score }`.
 * - Ids are derived from the run (`<runId>.d<index>`, `<runId>.t<trackId>`), and a detection is left
 *   out when its box, its track or its link is already in the session: promoting twice creates
 *   nothing new.
 * - `mode: 'skip-matched'` leaves out detections that already match a ground-truth box of their
 *   label at IoU ≥ 0.5 (tracks expanded per frame; rejected, outside and ignored boxes are not
 *   ground truth, as in the evaluation).
 */
import type { SessionContentInput } from './session.ts';
import { boxIou } from './tracking/sequence.ts';
import { trackingGroundTruth } from './tracking/inputs.ts';
import type { Annotation, AnnotationInput, BBox, LabelDef, Track, TrackInput } from './types.ts';
import { compareStrings } from './values.ts';

export interface PromotableDetection {
  frame: number;
  bbox: BBox;
  label: string;
  score: number;
  detectionId: string | null;
  trackId?: string | null;
}

export interface PromoteOptions {
  runId: string;
  model: { name: string; version: string };
  minScore?: number;
  /** Inclusive, 0-based. */
  frames?: { from: number; to: number };
  labels?: readonly string[];
  mode?: 'merge' | 'skip-matched';
  keyframes?: 'all' | 'auto';
  /** The `auto` tolerance in pixels (default 1). */
  tolerancePx?: number;
  /** The IoU at which `skip-matched` takes a detection as already annotated (default 0.5). */
  matchIou?: number;
}

export interface PromoteSession {
  annotations: readonly Annotation[];
  tracks: readonly Track[];
  labels: Readonly<Record<string, LabelDef>>;
  frameCount?: number;
}

export interface PromoteCounts {
  /** Detections of the run, and those the filters (minScore, frames, labels) kept. */
  detections: number;
  selected: number;
  /** Left out by skip-matched. */
  skippedMatched: number;
  /** Left out because a previous promotion wrote them (or an annotation links them already). */
  alreadyPromoted: number;
  /** Detections that became a box: a draft, a keyframe, or (auto) a frame the track interpolates. */
  promoted: number;
  annotations: number;
  keyframes: number;
  outsideKeyframes: number;
  /** Tracked detections not written as keyframes (keyframes=auto): the track interpolates them. */
  interpolated: number;
  tracks: number;
  labelsAdded: string[];
}

export interface PromotePlan {
  content: Required<Pick<SessionContentInput, 'labels' | 'tracks' | 'annotations'>>;
  counts: PromoteCounts;
}

interface Indexed extends PromotableDetection {
  index: number;
  link: string;
}

const linkOf = (runId: string, d: PromotableDetection, index: number): string => d.detectionId ?? `${runId}:${index}`;

/** Indices of the frames to keep as keyframes: the ends, and where interpolation misses by more than `tol`. */
export function autoKeyframes(boxes: readonly { frame: number; bbox: BBox }[], tol = 1): number[] {
  const n = boxes.length;
  if (n <= 2) return boxes.map((_, k) => k);
  const keep = new Uint8Array(n);
  keep[0] = keep[n - 1] = 1;
  const stack: [number, number][] = [[0, n - 1]];
  while (stack.length) {
    const [i, j] = stack.pop()!;
    const a = boxes[i]!;
    const b = boxes[j]!;
    let worst = -1;
    let at = -1;
    for (let k = i + 1; k < j; k++) {
      const c = boxes[k]!;
      const t = (c.frame - a.frame) / (b.frame - a.frame);
      let miss = 0;
      for (let q = 0; q < 4; q++) miss = Math.max(miss, Math.abs(a.bbox[q]! + (b.bbox[q]! - a.bbox[q]!) * t - c.bbox[q]!));
      if (miss > worst) {
        worst = miss;
        at = k;
      }
    }
    if (worst > tol) {
      keep[at] = 1;
      stack.push([i, at], [at, j]);
    }
  }
  const out: number[] = [];
  for (let k = 0; k < n; k++) if (keep[k]) out.push(k);
  return out;
}

export function planPromotion(detections: readonly PromotableDetection[], session: PromoteSession, opts: PromoteOptions): PromotePlan {
  const { runId, model } = opts;
  const counts: PromoteCounts = {
    detections: detections.length,
    selected: 0,
    skippedMatched: 0,
    alreadyPromoted: 0,
    promoted: 0,
    annotations: 0,
    keyframes: 0,
    outsideKeyframes: 0,
    interpolated: 0,
    tracks: 0,
    labelsAdded: [],
  };
  const labelFilter = opts.labels ? new Set(opts.labels) : null;
  const selected: Indexed[] = [];
  detections.forEach((d, index) => {
    if (opts.minScore !== undefined && d.score < opts.minScore) return;
    if (opts.frames && (d.frame < opts.frames.from || d.frame > opts.frames.to)) return;
    if (labelFilter && !labelFilter.has(d.label)) return;
    selected.push({ ...d, index, link: linkOf(runId, d, index) });
  });
  counts.selected = selected.length;

  let candidates = selected;
  if (opts.mode === 'skip-matched') {
    const byFrame = new Map<number, { bbox: BBox; label: string }[]>();
    for (const g of trackingGroundTruth(session.annotations, session.tracks, session.frameCount)) {
      const list = byFrame.get(g.frame);
      if (list) list.push(g);
      else byFrame.set(g.frame, [g]);
    }
    const iou = opts.matchIou ?? 0.5;
    candidates = selected.filter((d) => !(byFrame.get(d.frame) ?? []).some((g) => g.label === d.label && boxIou(g.bbox, d.bbox) >= iou));
    counts.skippedMatched = selected.length - candidates.length;
  }

  const annotationIds = new Set(session.annotations.map((a) => a.id));
  const links = new Set<string>();
  for (const a of session.annotations) if (a.detectionId !== null) links.add(a.detectionId);
  const trackIds = new Set(session.tracks.map((t) => t.id));
  const boxAttributes = (score: number) => ({ model: { name: model.name, version: model.version, score } });
  const annotations: AnnotationInput[] = [];
  const tracks: TrackInput[] = [];
  const labelsUsed = new Set<string>();

  // Tracked detections grouped by tracker id and label (a track has one label).
  const groups = new Map<string, Indexed[]>();
  const labelsPerTracker = new Map<string, Set<string>>();
  for (const d of candidates) {
    if (d.trackId == null) {
      const id = `${runId}.d${d.index}`;
      if (annotationIds.has(id) || links.has(d.link)) {
        counts.alreadyPromoted++;
        continue;
      }
      annotations.push({ id, frame: d.frame, bbox: d.bbox, label: d.label, detectionId: d.link, status: 'draft', source: 'model', attributes: boxAttributes(d.score) });
      labelsUsed.add(d.label);
      counts.promoted++;
      continue;
    }
    const key = `${d.trackId}\u0000${d.label}`;
    const list = groups.get(key);
    if (list) list.push(d);
    else groups.set(key, [d]);
    let names = labelsPerTracker.get(d.trackId);
    if (!names) labelsPerTracker.set(d.trackId, (names = new Set()));
    names.add(d.label);
  }

  const keys = [...groups.keys()].sort(compareStrings);
  for (const key of keys) {
    const list = groups.get(key)!;
    const { trackId: trackerId, label } = list[0]! as Indexed & { trackId: string };
    const trackId = `${runId}.t${trackerId}${labelsPerTracker.get(trackerId)!.size > 1 ? `.${label}` : ''}`;
    if (trackIds.has(trackId)) {
      counts.alreadyPromoted += list.length;
      continue;
    }
    // One box per frame: a tracker that wrote one id twice on a frame keeps its higher score.
    const perFrame = new Map<number, Indexed>();
    for (const d of list) {
      const seen = perFrame.get(d.frame);
      if (!seen || d.score > seen.score) perFrame.set(d.frame, d);
    }
    const ordered = [...perFrame.values()].sort((a, b) => a.frame - b.frame);
    tracks.push({ id: trackId, label, interpolation: 'linear', attributes: { model: { name: model.name, version: model.version } } });
    counts.tracks++;
    labelsUsed.add(label);
    counts.promoted += ordered.length;
    // Runs of consecutive frames.
    let start = 0;
    for (let k = 1; k <= ordered.length; k++) {
      if (k < ordered.length && ordered[k]!.frame === ordered[k - 1]!.frame + 1) continue;
      const stretch = ordered.slice(start, k);
      const kept = opts.keyframes === 'auto' ? autoKeyframes(stretch, opts.tolerancePx ?? 1) : stretch.map((_, q) => q);
      counts.interpolated += stretch.length - kept.length;
      for (const q of kept) {
        const d = stretch[q]!;
        annotations.push({ id: `${trackId}.f${d.frame}`, frame: d.frame, bbox: d.bbox, label, trackId, detectionId: d.link, status: 'draft', source: 'model', attributes: boxAttributes(d.score) });
        counts.keyframes++;
      }
      const after = stretch[stretch.length - 1]!.frame + 1;
      if (session.frameCount === undefined || after < session.frameCount) {
        const last = stretch[stretch.length - 1]!;
        annotations.push({ id: `${trackId}.f${after}`, frame: after, bbox: last.bbox, label, trackId, outside: true, status: 'draft', source: 'model', attributes: { model: { name: model.name, version: model.version } } });
        counts.outsideKeyframes++;
      }
      start = k;
    }
  }
  counts.annotations = annotations.length;
  const added = [...labelsUsed].filter((l) => !Object.hasOwn(session.labels, l)).sort(compareStrings);
  counts.labelsAdded = added;
  return { content: { labels: Object.fromEntries(added.map((l) => [l, {}])), tracks, annotations }, counts };
}
