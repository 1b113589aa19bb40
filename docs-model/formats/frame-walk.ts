/**
 * Walks a session frame by frame, in order, with every box an export writes on that frame:
 * standalone annotations as drawn, and tracks expanded to one box per frame (issue 4). Tracks are
 * expanded one window of frames at a time, so memory holds one window of boxes, not the video.
 *
 *   for (const { frame, boxes } of walkFrames(content, {})) …
 */
import type { Annotation, Attributes, AnnotationSource, AnnotationStatus, BBox, Track } from '../types.ts';
import { expandTrack, type ExportOptions, type SessionContent } from './content.ts';

/** One box as exporters see it. Interpolated boxes have no annotation id, status or source. */
export interface ExportBox {
  frame: number;
  bbox: BBox;
  label: string;
  trackId: string | null;
  annotationId: string | null;
  detectionId: string | null;
  occluded: boolean;
  keyframe: boolean;
  status: AnnotationStatus | null;
  source: AnnotationSource | null;
  attributes: Attributes;
}

export interface FrameBoxes {
  frame: number;
  boxes: ExportBox[];
}

/**
 * Frames per expansion window: 100 tracks × 32 frames = 3 200 boxes held at once. Wider windows
 * are no faster, and their boxes live long enough to be promoted to the old generation: at 128
 * frames a 900 000-box walk grew the heap to 105 MB, at 32 to 44 MB (issue 4, RSS < 200 MB).
 */
export const WINDOW = 32;

const fromAnnotation = (a: Annotation, keyframe: boolean): ExportBox => ({
  frame: a.frame,
  bbox: a.bbox,
  label: a.label,
  trackId: a.trackId,
  annotationId: a.id,
  detectionId: a.detectionId,
  occluded: a.occluded,
  keyframe,
  status: a.status,
  source: a.source,
  attributes: a.attributes,
});

interface TrackPlan {
  track: Track;
  keyframes: Annotation[];
  byId: Map<string, Annotation>;
  first: number;
}

/** Frames 0 … frameCount - 1, and further if an annotation lies past the declared count. */
export const frameSpan = (content: SessionContent): number => {
  let end = content.meta.frameCount;
  for (const a of content.annotations) if (a.frame >= end) end = a.frame + 1;
  return end;
};

export function* walkFrames(content: SessionContent, opts: ExportOptions = {}): Generator<FrameBoxes> {
  const end = frameSpan(content);
  const tracks = new Map(content.tracks.map((t) => [t.id, t]));
  const standalone = new Map<number, ExportBox[]>();
  const plans = new Map<string, TrackPlan>();
  for (const a of content.annotations) {
    const track = a.trackId === null ? undefined : tracks.get(a.trackId);
    if (!track || opts.keyframesOnly) {
      if (a.outside) continue; // an outside keyframe marks an absence; it draws no box
      const list = standalone.get(a.frame) ?? [];
      list.push(fromAnnotation(a, a.trackId !== null));
      standalone.set(a.frame, list);
      continue;
    }
    let plan = plans.get(track.id);
    if (!plan) plans.set(track.id, (plan = { track, keyframes: [], byId: new Map(), first: Infinity }));
    plan.keyframes.push(a);
    plan.byId.set(a.id, a);
    plan.first = Math.min(plan.first, a.frame);
  }
  for (const list of standalone.values()) list.sort((x, y) => (x.annotationId! < y.annotationId! ? -1 : 1));
  const ordered = [...plans.values()].sort((x, y) => x.first - y.first || (x.track.id < y.track.id ? -1 : 1));

  for (let start = 0; start < end; start += WINDOW) {
    const stop = Math.min(end, start + WINDOW);
    const window: ExportBox[][] = Array.from({ length: stop - start }, () => []);
    for (const plan of ordered) {
      if (plan.first >= stop) break;
      // toFrame one past the window works whether the expander's bound is inclusive or not.
      for (const b of expandTrack(plan.track, plan.keyframes, { fromFrame: start, toFrame: stop, frameCount: end })) {
        if (b.frame < start || b.frame >= stop) continue;
        const kf = b.annotationId === null ? undefined : plan.byId.get(b.annotationId);
        window[b.frame - start]!.push(
          kf
            ? fromAnnotation({ ...kf, bbox: b.bbox }, true)
            : {
                frame: b.frame,
                bbox: b.bbox,
                label: b.label,
                trackId: b.trackId,
                annotationId: null,
                detectionId: null,
                occluded: b.occluded,
                keyframe: false,
                status: null,
                source: null,
                attributes: b.attributes,
              },
        );
      }
    }
    for (let f = start; f < stop; f++) {
      const own = standalone.get(f);
      const boxes = own ? [...own, ...window[f - start]!] : window[f - start]!;
      yield { frame: f, boxes };
    }
  }
}

/** Stable label order: the session's labels as stored, then any other used label, sorted. */
export const labelOrder = (content: SessionContent): string[] => {
  const names = Object.keys(content.labels);
  const known = new Set(names);
  const extra = new Set<string>();
  for (const t of content.tracks) if (!known.has(t.label)) extra.add(t.label);
  for (const a of content.annotations) if (!known.has(a.label)) extra.add(a.label);
  return [...names, ...[...extra].sort()];
};

/** One label order for several sessions (project exports): each session's order, first seen first. */
export const projectLabelOrder = (sessions: readonly { content: SessionContent }[]): string[] => {
  const labels = new Set<string>();
  for (const s of sessions) for (const l of labelOrder(s.content)) labels.add(l);
  return [...labels];
};
