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
  getMeta,
  listTracks,
  type Annotation,
  type DetectionBox,
  type Evaluation,
  type GroundTruthBox,
  type Track,
} from '../../../docs-model/index.ts';
import { walkGroundTruth } from '../../../docs-model/ground-truth.ts';
import { evaluateRunTracking, hasTrackIds, type TrackingEvaluation } from '../../../docs-model/tracking/index.ts';
import { parseDocName } from '../../../docs-model/protocol.ts';
import { evaluationDetails, type EvaluationDetails } from '../../../docs-model/evaluation-details.ts';
import type { ConfusionMatrix } from '../../../docs-model/confusion-matrix.ts';
import type { PrecisionRecallCurves } from '../../../docs-model/precision-recall.ts';
import type { ReleaseContent } from '../../../docs-model/release-content.ts';
import type { DetectionRecord, DetectionRepository } from '../../../persistence/repositories/detections.ts';
import type { SessionRepository } from '../../../persistence/repositories/sessions.ts';
import type { TestRunRecord } from '../../../persistence/repositories/test-runs.ts';
import { NotFoundError } from '../../base/errors.ts';
import type { DocRegistry } from '../../documents/doc-registry.ts';
import type { Projection } from '../../followers/projection.ts';

export interface RunEvaluation extends Evaluation {
  /** `releaseId` and `contentHash` name the release scored against (absent for runs made before releases). */
  groundTruth: { sessionId: string; annotations: number; releaseId?: string; contentHash?: string };
  detections: number;
  /** Error analysis (docs/releases.md): confusion over the labels plus background, PR curves per label. */
  confusion: ConfusionMatrix;
  curves: PrecisionRecallCurves;
  /** CLEAR MOT, identity and HOTA, when some detection carries a track id (docs/formats.md, "Tracking metrics"). */
  tracking?: TrackingEvaluation;
}

/** A run scored: the evaluation, its details (true positives for a comparison) and the ground truth they index. */
export interface ScoredRun {
  evaluation: RunEvaluation;
  details: EvaluationDetails;
  truth: GroundTruthBox[];
}

/** What the ground truth is made of: a release's content or the live session's, read once. */
interface TruthSource {
  annotations: Iterable<Annotation>;
  tracks: readonly Track[];
  frameCount: number | undefined;
}

/**
 * Annotations without a track as they are; a track's keyframes expanded to one box per visible
 * frame. An interpolated box takes its status from the keyframe before it (so a rejected keyframe
 * rejects the stretch it starts) and links no detection; a keyframe keeps its own id and link.
 */
export function groundTruthBoxes(annotations: Iterable<Annotation>, tracks: readonly Track[], frameCount?: number): GroundTruthBox[] {
  const out: GroundTruthBox[] = [];
  for (const { box, from, drawn } of walkGroundTruth(annotations, tracks, frameCount)) {
    out.push({
      frame: box.frame,
      bbox: box.bbox,
      label: box.label,
      annotationId: drawn ? from.id : null,
      detectionId: drawn ? from.detectionId : null,
      status: from.status,
    });
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
  /** The frozen content and hash of a release (services/releases.ts). */
  releases: { content(id: string): Promise<ReleaseContent>; find(id: string): Promise<{ contentHash: string }> };
}

/** The run's stored detections against its release, or, for a run made before releases, its session's live ground truth. */
export async function evaluateRun(deps: RunEvaluationSources, run: TestRunRecord, opts: { iouThreshold?: number } = {}): Promise<RunEvaluation> {
  return (await scoreRun(deps, run, opts)).evaluation;
}

export async function scoreRun(deps: RunEvaluationSources, run: TestRunRecord, opts: { iouThreshold?: number } = {}): Promise<ScoredRun> {
  if (run.releaseId !== null) {
    const [release, content, stored] = await Promise.all([deps.releases.find(run.releaseId), deps.releases.content(run.releaseId), deps.detections.list(run.id)]);
    const source = { annotations: content.annotations, tracks: content.tracks, frameCount: content.meta.frameCount };
    return scored(run, source, stored, opts, { releaseId: run.releaseId, contentHash: release.contentHash });
  }
  const session = await deps.sessions.get(run.sessionId);
  const name = session ? parseDocName(session.docName) : null;
  if (!session || !name) throw new NotFoundError(`the ground-truth session '${run.sessionId}' is gone`);
  const [stored, source] = await Promise.all([
    deps.detections.list(run.id),
    deps.registry.read(name, (ydoc, doc): TruthSource => {
      const index = deps.projection.indexOf(doc);
      return { annotations: index ? [...index.all()] : [], tracks: listTracks(ydoc), frameCount: getMeta(ydoc)?.frameCount };
    }),
  ]);
  return scored(run, source, stored, opts, {});
}

function scored(
  run: TestRunRecord,
  source: TruthSource,
  found: DetectionRecord[],
  opts: { iouThreshold?: number },
  release: { releaseId?: string; contentHash?: string },
): ScoredRun {
  const truth = groundTruthBoxes(source.annotations, source.tracks, source.frameCount);
  const result = evaluateDetections(truth, found, opts);
  const details = evaluationDetails(truth, found, opts);
  // Tracker output is scored on the same ground truth, tracks kept whole.
  const tracking = hasTrackIds(found) ? evaluateRunTracking(source, found, opts) : null;
  const evaluation: RunEvaluation = {
    ...result,
    ...(tracking ? { tracking } : {}),
    groundTruth: { sessionId: run.sessionId, ...release, annotations: truth.reduce((n, g) => (g.status === 'rejected' ? n : n + 1), 0) },
    detections: found.length,
    confusion: details.confusion,
    curves: details.curves,
  };
  return { evaluation, details, truth };
}
