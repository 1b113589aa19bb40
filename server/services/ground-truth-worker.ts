/**
 * The long pure work on ground truth, off the event loop, in one long-lived worker thread
 * (ground-truth-thread.ts): a run's metrics (test-runs/run-scoring.ts), and a frozen release's
 * hash and stored bytes. On the main thread every socket of every document waited for them: a
 * run's evaluation of 50 000 detections against 10 000 annotations held the loop 110-190 ms,
 * 220-490 ms with track ids; a release of 10 000 annotations 45-55 ms for its hash and 15-65 for
 * its compressed encoding, at every run created (docs/architecture.md, "Reading over REST").
 *
 *   const worker = createGroundTruthWorker({ logger })
 *   const scores = await worker.score(source, detections, { iouThreshold: 0.5 })  // throws what scoring threw
 *   const { contentHash, stored } = await worker.seal(content)
 *   …
 *   await worker.close()
 *
 * Jobs are answered in order by one thread (persistence/thread-jobs.ts: started on the first,
 * ended when idle, replaced when it dies); a second would share the same cores. Detections cross
 * as columns (detection-columns.ts), the stored bytes come back transferred. A release's ground
 * truth and a run's detections cross once per thread: the thread keeps them (kept-inputs.ts), and
 * a score on inputs it holds posts their names (score-inputs.ts); when it no longer does (it ended
 * idle, died, or let them go), they are loaded and sent again.
 *
 *   await worker.score({ contentHash, load: async () => releaseTruth(content) }, { name, count, load: () => list(runId) }, opts)
 */
import type { Worker } from 'node:worker_threads';
import { DocModelError } from '../../docs-model/index.ts';
import type { ReleaseContent } from '../../docs-model/release-content.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import { ThreadJobs } from '../../persistence/thread-jobs.ts';
import { startBundledThread } from '../../persistence/worker-thread.ts';
import type { Logger } from '../../shared/logger.ts';
import type { GroundTruthReply, GroundTruthRequest, GroundTruthThreadData, ScoreInputs, SealedRelease, ThrownError } from './ground-truth-thread.ts';
import { packedBuffers } from './detection-columns.ts';
import { KEPT_ANNOTATIONS, KEPT_DETECTIONS } from './kept-inputs.ts';
import { HeldInputs, type ReleaseTruth, type RunDetections } from './score-inputs.ts';
import type { DetectionScores, TruthSource } from './test-runs/run-scoring.ts';

export type { SealedRelease } from './ground-truth-thread.ts';
export type { ReleaseTruth, RunDetections } from './score-inputs.ts';

export interface GroundTruthWorker {
  /** What `scoreDetections(source, detections, opts)` returns or throws, computed in the thread. */
  score(truth: TruthSource | ReleaseTruth, detections: readonly DetectionRecord[] | RunDetections, opts: { iouThreshold?: number }): Promise<DetectionScores>;
  /** `releaseContentHash(content)` and `storedReleaseBytes(content)`, computed in the thread. */
  seal(content: ReleaseContent): Promise<SealedRelease>;
  /** Counters for tests: threads started, and ended once idle; release truths and run detections sent whole; scores sent again after the thread said it no longer held an input. */
  stats(): { workersStarted: number; workersEnded: number; truthsSent: number; runsSent: number; sentAgain: number };
  /** Fails pending jobs and stops the thread. Idempotent. */
  close(): Promise<void>;
}

export class GroundTruthWorkerClosedError extends Error {
  readonly code = 'ground_truth_worker_closed';
  override readonly name = 'GroundTruthWorkerClosedError';
}

/** The thread does not hold an input a score named alone: send it whole. */
class InputNotKept extends Error {}

/** The thread's error as the class it was thrown as. */
function rebuilt(error: ThrownError): Error {
  if (error.kind === 'doc-model') return new DocModelError(error.code, error.field, error.message, error.details);
  if (error.kind === 'not-kept') return new InputNotKept(error.name);
  const err = new Error(error.message);
  err.name = error.name;
  if (error.stack !== undefined) err.stack = error.stack;
  return err;
}

export function createGroundTruthWorker(opts: { logger?: Logger; idleMs?: number; keptAnnotations?: number; keptDetections?: number } = {}): GroundTruthWorker {
  const budgets = { annotations: opts.keptAnnotations ?? KEPT_ANNOTATIONS, detections: opts.keptDetections ?? KEPT_DETECTIONS };
  const jobs: ThreadJobs<DetectionScores | SealedRelease> = new ThreadJobs(
    {
      name: 'ground-truth',
      start: () =>
        startBundledThread('ground-truth-thread', new URL('.', import.meta.url), {
          workerData: { keptAnnotations: budgets.annotations, keptDetections: budgets.detections } satisfies GroundTruthThreadData,
        }),
      closed: () => new GroundTruthWorkerClosedError('the ground-truth worker is closed'),
      ...opts,
    },
    (reply: GroundTruthReply) => (reply.ok ? jobs.resolve(reply.id, reply.value) : jobs.reject(reply.id, rebuilt(reply.error))),
  );
  const held = new HeldInputs(budgets);

  const post = (inputs: ScoreInputs, scoreOpts: { iouThreshold?: number }) =>
    jobs.run((thread, id) => {
      const transfer = inputs.found.packed ? packedBuffers(inputs.found.packed) : [];
      thread.postMessage({ id, type: 'score', ...inputs, opts: scoreOpts } satisfies GroundTruthRequest, transfer);
      held.posted(thread, inputs);
    }) as Promise<DetectionScores>;

  return {
    async score(truth, detections, scoreOpts) {
      const inputs = await held.inputs(truth, detections);
      if (!HeldInputs.byName(inputs)) return post(inputs, scoreOpts);
      try {
        return await post(inputs, scoreOpts);
      } catch (err) {
        if (!(err instanceof InputNotKept)) throw err;
      }
      held.sent.again++;
      return post(await held.inputs(truth, detections, true), scoreOpts);
    },
    seal(content) {
      let sentTo: Worker | null = null;
      const sealed = jobs.run((thread, id) => {
        thread.postMessage({ id, type: 'seal', content } satisfies GroundTruthRequest);
        sentTo = thread;
      }) as Promise<SealedRelease>;
      return sealed.then((value) => {
        if (sentTo) held.sealed(sentTo, value.contentHash, content.annotations.length);
        return value;
      });
    },
    stats: () => ({ ...jobs.stats(), truthsSent: held.sent.truths, runsSent: held.sent.runs, sentAgain: held.sent.again }),
    close: () => jobs.close(),
  };
}
