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
 * truth crosses once per thread: the thread keeps it by content hash (kept-truths.ts), and a
 * score against a release it holds posts the hash; when it no longer does (it ended idle, died,
 * or let the release go), the truth is loaded and sent again.
 *
 *   await worker.score({ contentHash, load: () => releaseTruth(content) }, detections, opts)
 */
import type { Worker } from 'node:worker_threads';
import { DocModelError } from '../../docs-model/index.ts';
import type { ReleaseContent } from '../../docs-model/release-content.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import { ThreadJobs } from '../../persistence/thread-jobs.ts';
import { startBundledThread } from '../../persistence/worker-thread.ts';
import type { Logger } from '../../shared/logger.ts';
import type { GroundTruthReply, GroundTruthRequest, GroundTruthThreadData, PostedTruth, SealedRelease, ThrownError } from './ground-truth-thread.ts';
import { packDetections, packedBuffers } from './detection-columns.ts';
import { KEPT_TRUTH_ANNOTATIONS, KeptTruths } from './kept-truths.ts';
import type { DetectionScores, TruthSource } from './test-runs/run-scoring.ts';

/** A release's ground truth: named by its content hash, loaded only when the thread does not hold it. */
export interface ReleaseTruth {
  contentHash: string;
  load(): Promise<TruthSource>;
}

export type { SealedRelease } from './ground-truth-thread.ts';

export interface GroundTruthWorker {
  /** What `scoreDetections(source, detections, opts)` returns or throws, computed in the thread. */
  score(truth: TruthSource | ReleaseTruth, detections: readonly DetectionRecord[], opts: { iouThreshold?: number }): Promise<DetectionScores>;
  /** `releaseContentHash(content)` and `storedReleaseBytes(content)`, computed in the thread. */
  seal(content: ReleaseContent): Promise<SealedRelease>;
  /** Counters for tests: threads started so far, and ended once idle; release truths sent whole. */
  stats(): { workersStarted: number; workersEnded: number; truthsSent: number };
  /** Fails pending jobs and stops the thread. Idempotent. */
  close(): Promise<void>;
}

export class GroundTruthWorkerClosedError extends Error {
  readonly code = 'ground_truth_worker_closed';
  override readonly name = 'GroundTruthWorkerClosedError';
}

/** The thread does not hold the release truth a score named by hash alone: send it whole. */
class TruthNotKept extends Error {}

/** The thread's error as the class it was thrown as. */
function rebuilt(error: ThrownError): Error {
  if (error.kind === 'doc-model') return new DocModelError(error.code, error.field, error.message, error.details);
  if (error.kind === 'not-kept') return new TruthNotKept(error.hash);
  const err = new Error(error.message);
  err.name = error.name;
  if (error.stack !== undefined) err.stack = error.stack;
  return err;
}

/** The annotations as an array: a structured clone takes no iterator. */
const posted = (source: TruthSource): PostedTruth => ({ ...source, annotations: Array.isArray(source.annotations) ? source.annotations : [...source.annotations] });

export function createGroundTruthWorker(opts: { logger?: Logger; idleMs?: number; keptAnnotations?: number } = {}): GroundTruthWorker {
  const budget = opts.keptAnnotations ?? KEPT_TRUTH_ANNOTATIONS;
  const jobs: ThreadJobs<DetectionScores | SealedRelease> = new ThreadJobs(
    {
      name: 'ground-truth',
      start: () => startBundledThread('ground-truth-thread', new URL('.', import.meta.url), { workerData: { keptAnnotations: budget } satisfies GroundTruthThreadData }),
      closed: () => new GroundTruthWorkerClosedError('the ground-truth worker is closed'),
      ...opts,
    },
    (reply: GroundTruthReply) => (reply.ok ? jobs.resolve(reply.id, reply.value) : jobs.reject(reply.id, rebuilt(reply.error))),
  );
  // What the current thread holds, as far as this side knows: the same keeps in the order they
  // were posted (a seal's at its answer). A wrong guess costs a round trip, not a wrong score.
  let held: { thread: Worker | null; truths: KeptTruths<true> } = { thread: null, truths: new KeptTruths(budget) };
  const heldOn = (thread: Worker): KeptTruths<true> => {
    if (held.thread !== thread) held = { thread, truths: new KeptTruths(budget) };
    return held.truths;
  };
  let truthsSent = 0;

  const postScore = (truth: { hash?: string; source?: PostedTruth }, detections: readonly DetectionRecord[], scoreOpts: { iouThreshold?: number }) =>
    jobs.run((thread, id) => {
      const packed = packDetections(detections);
      thread.postMessage({ id, type: 'score', truth, detections: packed, opts: scoreOpts } satisfies GroundTruthRequest, packedBuffers(packed));
      if (truth.hash === undefined) return;
      if (truth.source) heldOn(thread).keep(truth.hash, truth.source.annotations.length, true);
      else heldOn(thread).get(truth.hash);
    }) as Promise<DetectionScores>;

  return {
    async score(truth, detections, scoreOpts) {
      if (!('contentHash' in truth)) return postScore({ source: posted(truth) }, detections, scoreOpts);
      const hash = truth.contentHash;
      if (held.truths.has(hash)) {
        try {
          return await postScore({ hash }, detections, scoreOpts);
        } catch (err) {
          if (!(err instanceof TruthNotKept)) throw err;
        }
      }
      const source = posted(await truth.load());
      truthsSent++;
      return postScore({ hash, source }, detections, scoreOpts);
    },
    seal(content) {
      let sentTo: Worker | null = null;
      const sealed = jobs.run((thread, id) => {
        thread.postMessage({ id, type: 'seal', content } satisfies GroundTruthRequest);
        sentTo = thread;
      }) as Promise<SealedRelease>;
      return sealed.then((value) => {
        if (sentTo) heldOn(sentTo).keep(value.contentHash, content.annotations.length, true);
        return value;
      });
    },
    stats: () => ({ ...jobs.stats(), truthsSent }),
    close: () => jobs.close(),
  };
}
