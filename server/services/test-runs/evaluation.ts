/**
 * A run's evaluation against the ground truth of its session: the
 * session's annotations with every track expanded per frame (interpolated boxes included, as an
 * export gives them), then `evaluateDetections`. Rejected annotations stay out of the metrics but
 * still report their verdict to the detections linked to them.
 *
 *   const gt = groundTruthBoxes(index.all(), listTracks(ydoc), meta.frameCount)
 *   evaluateDetections(gt, detections)
 *   await evaluateRun(sources, run)   // the same, from the run's stored detections and live session
 */
import {
  evaluateDetections,
  expandTrack,
  getMeta,
  listTracks,
  orderKeyframes,
  type Annotation,
  type DetectionBox,
  type Evaluation,
  type GroundTruthBox,
  type Track,
} from '../../../docs-model/index.ts';
import { evaluateRunTracking, hasTrackIds, type TrackingEvaluation } from '../../../docs-model/tracking/index.ts';
import { parseDocName } from '../../../docs-model/protocol.ts';
import type { DetectionRepository } from '../../../persistence/repositories/detections.ts';
import type { SessionRepository } from '../../../persistence/repositories/sessions.ts';
import type { TestRunRecord } from '../../../persistence/repositories/test-runs.ts';
import { NotFoundError } from '../../base/errors.ts';
import type { DocRegistry } from '../../documents/doc-registry.ts';
import type { Projection } from '../../followers/projection.ts';

export interface RunEvaluation extends Evaluation {
  groundTruth: { sessionId: string; annotations: number };
  detections: number;
  /** CLEAR MOT, identity and HOTA, when some detection carries a track id (docs/formats.md, "Tracking metrics"). */
  tracking?: TrackingEvaluation;
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

export interface RunEvaluationSources {
  sessions: SessionRepository;
  detections: DetectionRepository;
  registry: DocRegistry;
  projection: Projection;
}

/** The run's stored detections against its session's live ground truth. */
export async function evaluateRun(deps: RunEvaluationSources, run: TestRunRecord, opts: { iouThreshold?: number } = {}): Promise<RunEvaluation> {
  const session = await deps.sessions.get(run.sessionId);
  const name = session ? parseDocName(session.docName) : null;
  if (!session || !name) throw new NotFoundError(`the ground-truth session '${run.sessionId}' is gone`);
  const [stored, truth] = await Promise.all([
    deps.detections.list(run.id),
    deps.registry.read(name, (ydoc, doc) => {
      const index = deps.projection.indexOf(doc);
      const annotations = index ? index.all() : [];
      return groundTruthBoxes(annotations, listTracks(ydoc), getMeta(ydoc)?.frameCount);
    }),
  ]);
  const found: DetectionBox[] = stored;
  const result = evaluateDetections(truth, found, opts);
  // A second read of the document only for tracker output: the same ground truth, tracks kept whole.
  const tracking = hasTrackIds(stored)
    ? await deps.registry.read(name, (ydoc, doc) =>
        evaluateRunTracking(deps.projection.indexOf(doc)?.all() ?? [], listTracks(ydoc), getMeta(ydoc)?.frameCount, stored, opts),
      )
    : null;
  return {
    ...result,
    ...(tracking ? { tracking } : {}),
    groundTruth: { sessionId: run.sessionId, annotations: truth.reduce((n, g) => (g.status === 'rejected' ? n : n + 1), 0) },
    detections: found.length,
  };
}
