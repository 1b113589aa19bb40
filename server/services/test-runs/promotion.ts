/**
 * Pre-labels: a run's detections written into its session as draft annotations and tracks, as one
 * change of the live document with the origin `model` (connected annotators see the boxes at once,
 * as one update; the history records them as the model's, made by the caller). What is written is
 * `planPromotion`'s (docs-model/promote.ts); the plan is made while the change holds the document
 * (DocRegistry.transactInSteps), against the document as it is, so two promotions at once still
 * create each box once.
 *
 *   await promoteRun(deps, run, { minScore: 0.5, keyframes: 'auto' }, actor)   // → PromoteCounts
 */
import { getLabels, getMeta, listAnnotations, listTracks, planWriteSession, type StagedWrite } from '../../../docs-model/index.ts';
import { planPromotion, type PromoteCounts, type PromoteOptions } from '../../../docs-model/promote.ts';
import type { DetectionRepository } from '../../../persistence/repositories/detections.ts';
import type { TestRunRecord } from '../../../persistence/repositories/test-runs.ts';
import type { DocRegistry } from '../../documents/doc-registry.ts';
import type { Dashboards } from '../../followers/dashboards.ts';
import { findSession, type RecordSources } from '../records.ts';
import { sessionDocName } from '../session-documents.ts';

export interface PromotionSources extends RecordSources {
  detections: DetectionRepository;
  registry: DocRegistry;
  dashboards: Dashboards;
}

export type PromoteRequest = Omit<PromoteOptions, 'runId' | 'model' | 'tolerancePx' | 'matchIou'>;

export async function promoteRun(deps: PromotionSources, run: TestRunRecord, request: PromoteRequest, actor: string): Promise<PromoteCounts & { sessionId: string }> {
  const session = await findSession(deps, run.sessionId);
  const detections = await deps.detections.list(run.id);
  const opts: PromoteOptions = { ...request, runId: run.id, model: run.model };
  // Thousands of detections are a large write: checked and written in steps (DocRegistry.transactInSteps).
  const counts = await deps.registry.transactInSteps(
    sessionDocName(session),
    actor,
    (ydoc): StagedWrite<PromoteCounts> => {
      const meta = getMeta(ydoc);
      const plan = planPromotion(
        detections,
        { annotations: listAnnotations(ydoc), tracks: listTracks(ydoc), labels: getLabels(ydoc), ...(meta ? { frameCount: meta.frameCount } : {}) },
        opts,
      );
      if (plan.counts.annotations === 0) return { steps: () => [], result: () => plan.counts };
      // Boxes were checked when the run stored them; MOT tracker boxes past the edge stay as stored.
      const write = planWriteSession(ydoc, plan.content, { mode: 'merge', by: actor, keepPastEdge: true });
      return { ...write, result: () => plan.counts };
    },
    'model',
  );
  if (counts.annotations > 0) deps.dashboards.touch(session.projectId);
  return { ...counts, sessionId: session.id };
}
