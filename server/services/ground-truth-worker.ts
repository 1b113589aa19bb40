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
 * as columns (detection-columns.ts), the stored bytes come back transferred.
 */
import { DocModelError } from '../../docs-model/index.ts';
import type { ReleaseContent } from '../../docs-model/release-content.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import { ThreadJobs } from '../../persistence/thread-jobs.ts';
import { startBundledThread } from '../../persistence/worker-thread.ts';
import type { Logger } from '../../shared/logger.ts';
import type { GroundTruthReply, GroundTruthRequest, SealedRelease, ThrownError } from './ground-truth-thread.ts';
import { packDetections, packedBuffers } from './detection-columns.ts';
import type { DetectionScores, TruthSource } from './test-runs/run-scoring.ts';

export type { SealedRelease } from './ground-truth-thread.ts';

export interface GroundTruthWorker {
  /** What `scoreDetections(source, detections, opts)` returns or throws, computed in the thread. */
  score(source: TruthSource, detections: readonly DetectionRecord[], opts: { iouThreshold?: number }): Promise<DetectionScores>;
  /** `releaseContentHash(content)` and `storedReleaseBytes(content)`, computed in the thread. */
  seal(content: ReleaseContent): Promise<SealedRelease>;
  /** Counters for tests: threads started so far, and ended once idle. */
  stats(): { workersStarted: number; workersEnded: number };
  /** Fails pending jobs and stops the thread. Idempotent. */
  close(): Promise<void>;
}

export class GroundTruthWorkerClosedError extends Error {
  readonly code = 'ground_truth_worker_closed';
  override readonly name = 'GroundTruthWorkerClosedError';
}

/** The thread's error as the class it was thrown as. */
function rebuilt(error: ThrownError): Error {
  if (error.kind === 'doc-model') return new DocModelError(error.code, error.field, error.message, error.details);
  const err = new Error(error.message);
  err.name = error.name;
  if (error.stack !== undefined) err.stack = error.stack;
  return err;
}

export function createGroundTruthWorker(opts: { logger?: Logger; idleMs?: number } = {}): GroundTruthWorker {
  const jobs: ThreadJobs<DetectionScores | SealedRelease> = new ThreadJobs(
    {
      name: 'ground-truth',
      start: () => startBundledThread('ground-truth-thread', new URL('.', import.meta.url)),
      closed: () => new GroundTruthWorkerClosedError('the ground-truth worker is closed'),
      ...opts,
    },
    (reply: GroundTruthReply) => (reply.ok ? jobs.resolve(reply.id, reply.value) : jobs.reject(reply.id, rebuilt(reply.error))),
  );
  return {
    score(source, detections, scoreOpts) {
      return jobs.run((thread, id) => {
        const packed = packDetections(detections);
        // The annotations as an array: a structured clone takes no iterator.
        const annotations = Array.isArray(source.annotations) ? source.annotations : [...source.annotations];
        thread.postMessage({ id, type: 'score', source: { ...source, annotations }, detections: packed, opts: scoreOpts } satisfies GroundTruthRequest, packedBuffers(packed));
      }) as Promise<DetectionScores>;
    },
    seal(content) {
      return jobs.run((thread, id) => thread.postMessage({ id, type: 'seal', content } satisfies GroundTruthRequest)) as Promise<SealedRelease>;
    },
    stats: () => jobs.stats(),
    close: () => jobs.close(),
  };
}
