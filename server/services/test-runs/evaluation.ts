/**
 * A run's evaluation against the ground truth of its session: the
 * session's annotations with every track expanded per frame (interpolated boxes included, as an
 * export gives them), then `evaluateDetections`. Rejected annotations stay out of the metrics but
 * still report their verdict to the detections linked to them.
 *
 *   const gt = groundTruthBoxes(index.all(), listTracks(ydoc), meta.frameCount)
 *   evaluateDetections(gt, detections)
 */
import {
  expandTrack,
  orderKeyframes,
  type Annotation,
  type Evaluation,
  type GroundTruthBox,
  type Track,
} from '../../../docs-model/index.ts';

export interface RunEvaluation extends Evaluation {
  groundTruth: { sessionId: string; annotations: number };
  detections: number;
}

/**
 * Annotations without a track as they are; a track's keyframes expanded to one box per visible
 * frame. An interpolated box takes its status from the keyframe before it (so a rejected keyframe
 * rejects the stretch it starts) and links no detection; a keyframe keeps its own id and link.
 */
export function groundTruthBoxes(annotations: Iterable<Annotation>, tracks: readonly Track[], frameCount?: number): GroundTruthBox[] {
  const trackById = new Map(tracks.map((t) => [t.id, t]));
  const keyframes = new Map<string, Annotation[]>();
  const out: GroundTruthBox[] = [];
  for (const a of annotations) {
    if (a.trackId !== null && trackById.has(a.trackId)) {
      const list = keyframes.get(a.trackId);
      if (list) list.push(a);
      else keyframes.set(a.trackId, [a]);
      continue;
    }
    out.push({ frame: a.frame, bbox: a.bbox, label: a.label, annotationId: a.id, detectionId: a.detectionId, status: a.status });
  }
  for (const [trackId, list] of keyframes) {
    const track = trackById.get(trackId) as Track;
    const ordered = orderKeyframes(list);
    let k = 0;
    for (const box of expandTrack(track, list, frameCount === undefined ? {} : { frameCount })) {
      while (k + 1 < ordered.length && ordered[k + 1]!.frame <= box.frame) k++;
      const from = ordered[k]!;
      const own = box.keyframe ? from : null;
      out.push({
        frame: box.frame,
        bbox: box.bbox,
        label: box.label,
        annotationId: own ? own.id : null,
        detectionId: own ? own.detectionId : null,
        status: from.status,
      });
    }
  }
  return out;
}

/** The run's stored summary: everything but the (possibly long) list of links. */
export function evaluationSummary(evaluation: RunEvaluation): Record<string, unknown> {
  const { linked, ...summary } = evaluation;
  return { ...summary, linkedCount: linked?.length ?? 0 };
}
