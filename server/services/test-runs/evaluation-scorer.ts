/**
 * Scoring runs off the event loop: the metrics of run-scoring.ts computed in one long-lived worker
 * thread (evaluation-thread.ts). A run's evaluation is hundreds of milliseconds of pure CPU for a
 * large run (docs/architecture.md, "Reading over REST"), asked for by a CI gate, a comparison, or
 * a run's completion, and on the main thread every socket of every document waited for it.
 *
 *   const scorer = createEvaluationScorer({ logger })
 *   const scores = await scorer.score(source, detections, { iouThreshold: 0.5 })  // throws what scoring threw
 *   …
 *   await scorer.close()
 *
 * Requests are answered in order by one thread (persistence/thread-jobs.ts: started on the first,
 * ended when idle, replaced when it dies); a second would share the same cores.
 */
import { DocModelError } from '../../../docs-model/index.ts';
import type { DetectionRecord } from '../../../persistence/repositories/detections.ts';
import { ThreadJobs } from '../../../persistence/thread-jobs.ts';
import { startBundledThread } from '../../../persistence/worker-thread.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { ScoreError, ScoreReply, ScoreRequest } from './evaluation-thread.ts';
import { packDetections, packedBuffers, type DetectionScores, type TruthSource } from './run-scoring.ts';

export interface EvaluationScorer {
  /** What `scoreDetections(source, detections, opts)` returns or throws, computed in the thread. */
  score(source: TruthSource, detections: readonly DetectionRecord[], opts: { iouThreshold?: number }): Promise<DetectionScores>;
  /** Counters for tests: threads started so far, and ended once idle. */
  stats(): { workersStarted: number; workersEnded: number };
  /** Fails pending requests and stops the thread. Idempotent. */
  close(): Promise<void>;
}

export class EvaluationScorerClosedError extends Error {
  readonly code = 'evaluation_scorer_closed';
  override readonly name = 'EvaluationScorerClosedError';
}

/** The thread's error as the class it was thrown as. */
function rebuilt(error: ScoreError): Error {
  if (error.kind === 'doc-model') return new DocModelError(error.code, error.field, error.message, error.details);
  const err = new Error(error.message);
  err.name = error.name;
  if (error.stack !== undefined) err.stack = error.stack;
  return err;
}

export function createEvaluationScorer(opts: { logger?: Logger; idleMs?: number } = {}): EvaluationScorer {
  const jobs: ThreadJobs<DetectionScores> = new ThreadJobs(
    {
      name: 'evaluation',
      start: () => startBundledThread('evaluation-thread', new URL('.', import.meta.url)),
      closed: () => new EvaluationScorerClosedError('the evaluation scorer is closed'),
      ...opts,
    },
    (reply: ScoreReply) => (reply.ok ? jobs.resolve(reply.id, reply.scores) : jobs.reject(reply.id, rebuilt(reply.error))),
  );
  return {
    score(source, detections, scoreOpts) {
      return jobs.run((thread, id) => {
        const packed = packDetections(detections);
        // The annotations as an array: a structured clone takes no iterator.
        const annotations = Array.isArray(source.annotations) ? source.annotations : [...source.annotations];
        thread.postMessage({ id, source: { ...source, annotations }, detections: packed, opts: scoreOpts } satisfies ScoreRequest, packedBuffers(packed));
      });
    },
    stats: () => jobs.stats(),
    close: () => jobs.close(),
  };
}
