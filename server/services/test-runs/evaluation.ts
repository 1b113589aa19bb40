/**
 * A run's evaluation against the ground truth of its session: the
 * session's annotations with every track expanded per frame (interpolated boxes included, as an
 * export gives them), then `evaluateDetections`. Rejected annotations stay out of the metrics but
 * still report their verdict to the detections linked to them. The metrics are computed in the
 * ground-truth thread (../ground-truth-worker.ts); this reads their inputs and names what they were
 * computed against.
 *
 *   await evaluateRun(sources, run)   // from the run's stored detections and its release (or live session)
 */
import { getMeta, listTracks, type Evaluation, type GroundTruthBox } from '../../../docs-model/index.ts';
import type { TrackingEvaluation } from '../../../docs-model/tracking/index.ts';
import { parseDocName } from '../../../docs-model/protocol.ts';
import type { EvaluationDetails } from '../../../docs-model/evaluation-details.ts';
import type { ConfusionMatrix } from '../../../docs-model/confusion-matrix.ts';
import type { PrecisionRecallCurves } from '../../../docs-model/precision-recall.ts';
import type { ReleaseContent } from '../../../docs-model/release-content.ts';
import type { DetectionRepository } from '../../../persistence/repositories/detections.ts';
import type { SessionRepository } from '../../../persistence/repositories/sessions.ts';
import type { TestRunRecord } from '../../../persistence/repositories/test-runs.ts';
import { NotFoundError } from '../../base/errors.ts';
import type { DocRegistry } from '../../documents/doc-registry.ts';
import type { Projection } from '../../followers/projection.ts';
import type { GroundTruthWorker, ReleaseTruth, RunDetections } from '../ground-truth-worker.ts';
import { groundTruthBoxes, releaseTruth, type TruthSource } from './run-scoring.ts';

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
  scorer: Pick<GroundTruthWorker, 'score'>;
}

/** The run's stored detections against its release, or, for a run made before releases, its session's live ground truth. */
export async function evaluateRun(deps: RunEvaluationSources, run: TestRunRecord, opts: { iouThreshold?: number } = {}): Promise<RunEvaluation> {
  return (await scoreWithSource(deps, run, opts)).evaluation;
}

/** The evaluation with its details and the ground-truth boxes they index (a comparison needs them). */
export async function scoreRun(deps: RunEvaluationSources, run: TestRunRecord, opts: { iouThreshold?: number } = {}): Promise<ScoredRun> {
  const { evaluation, details, source } = await scoreWithSource(deps, run, opts);
  // A walk over the annotations, on this thread (~2 ms for 10 000): only a comparison asks.
  const { annotations, tracks, frameCount } = await source.load();
  return { evaluation, details, truth: groundTruthBoxes(annotations, tracks, frameCount) };
}

/** `source` loads the ground truth scored against (a release's content is read only then). */
type Scored = Omit<ScoredRun, 'truth'> & { source: { load(): Promise<TruthSource> } };

async function scoreWithSource(deps: RunEvaluationSources, run: TestRunRecord, opts: { iouThreshold?: number }): Promise<Scored> {
  // The ground-truth thread may hold the run's detections, or the release's ground truth, already
  // (../ground-truth-worker.ts): then they are not read here at all. What names the detections
  // comes from the run's row, not from `run`, which may be a copy this process held while another
  // took an upload.
  const releaseId = run.releaseId;
  const [visible, release] = await Promise.all([deps.detections.visibleSet(run.id), releaseId === null ? null : deps.releases.find(releaseId)]);
  const { count, created } = visible;
  const found: RunDetections = { name: `${run.id} ${created} ${count}`, count, load: () => deps.detections.list(run.id) };
  if (releaseId !== null && release !== null) {
    const source: ReleaseTruth = { contentHash: release.contentHash, load: async () => releaseTruth(await deps.releases.content(releaseId)) };
    return scored(deps, run, { source, found, release: { releaseId, contentHash: release.contentHash } }, opts);
  }
  const session = await deps.sessions.get(run.sessionId);
  const name = session ? parseDocName(session.docName) : null;
  if (!session || !name) throw new NotFoundError(`the ground-truth session '${run.sessionId}' is gone`);
  const live = await deps.registry.read(name, (ydoc, doc): TruthSource => {
    const index = deps.projection.indexOf(doc);
    return { annotations: index ? [...index.all()] : [], tracks: listTracks(ydoc), frameCount: getMeta(ydoc)?.frameCount };
  });
  return scored(deps, run, { source: live, found, release: {} }, opts);
}

/** `found` scored against `source`, named by the run and the release it was scored against. */
async function scored(
  deps: RunEvaluationSources,
  run: TestRunRecord,
  { source, found, release }: { source: TruthSource | ReleaseTruth; found: RunDetections; release: { releaseId?: string; contentHash?: string } },
  opts: { iouThreshold?: number },
): Promise<Scored> {
  const { result, details, tracking, truthCount, detectionCount } = await deps.scorer.score(source, found, opts);
  const evaluation: RunEvaluation = {
    ...result,
    ...(tracking ? { tracking } : {}),
    groundTruth: { sessionId: run.sessionId, ...release, annotations: truthCount },
    detections: detectionCount,
    confusion: details.confusion,
    curves: details.curves,
  };
  return { evaluation, details, source: 'contentHash' in source ? source : { load: async () => source } };
}
