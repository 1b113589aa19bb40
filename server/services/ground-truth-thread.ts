/**
 * The worker side of ground-truth-worker.ts: the pure, CPU-long work on ground truth, off the event
 * loop. Scores a run's detections against its ground truth (test-runs/run-scoring.ts), and seals a
 * frozen release: its content hash and its stored bytes. Started only by `createGroundTruthWorker`
 * (through persistence/worker-thread.ts's `startBundledThread`).
 *
 * Protocol: a request is `{ id, type: 'score', truth, found, opts }` or `{ id, type: 'seal',
 * content }`; the answer `{ id, ok: true, value }` (for a seal, its stored bytes transferred) or
 * `{ id, ok: false, error }` with what was thrown, as data (a DocModelError keeps its code, field
 * and details, so the route answers the same 422).
 *
 * What a score is scored on may be kept here between jobs (kept-inputs.ts): a release's ground
 * truth by its content hash (from its seal, or a score that sent it), a run's detections by their
 * name. `truth` is `{ source }` (the live session's), `{ hash, source }` (kept under hash), or
 * `{ hash }` alone; `found` likewise `{ packed }`, `{ name, packed }` or `{ name }`. One named alone
 * that this thread no longer holds (it started since, or let it go) is answered with the error
 * `{ kind: 'not-kept' }`, and the main thread sends it whole.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DocModelError, type Annotation, type DocModelErrorCode } from '../../docs-model/index.ts';
import { releaseContentHash, type ReleaseContent } from '../../docs-model/release-content.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import { storedReleaseBytes } from '../../persistence/repositories/releases.ts';
import { runAtBackgroundPriority } from '../../persistence/thread-priority.ts';
import { unpackDetections, type PackedDetections } from './detection-columns.ts';
import { KeptInputs } from './kept-inputs.ts';
import { releaseTruth, scoreDetections, type DetectionScores, type TruthSource } from './test-runs/run-scoring.ts';

/** A ground truth as it crosses: its annotations an array (a structured clone takes no iterator). */
export type PostedTruth = TruthSource & { annotations: Annotation[] };

export interface ScoreInputs {
  truth: { hash?: string; source?: PostedTruth };
  found: { name?: string; packed?: PackedDetections };
}

export type GroundTruthRequest =
  | ({ id: number; type: 'score'; opts: { iouThreshold?: number } } & ScoreInputs)
  | { id: number; type: 'seal'; content: ReleaseContent };

/** What the thread is started with (`workerData`): the budgets of what it keeps (kept-inputs.ts). */
export interface GroundTruthThreadData {
  keptAnnotations: number;
  keptDetections: number;
}

/** A release's content as it is kept: what identifies it, and its bytes as the database stores them. */
export interface SealedRelease {
  contentHash: string;
  stored: Uint8Array;
}

export type ThrownError =
  | { kind: 'doc-model'; code: DocModelErrorCode; field: string; message: string; details?: unknown }
  | { kind: 'other'; name: string; message: string; stack?: string }
  | { kind: 'not-kept'; name: string };

export type GroundTruthReply = { id: number; ok: true; value: DetectionScores | SealedRelease } | { id: number; ok: false; error: ThrownError };

function asData(err: unknown): ThrownError {
  if (err instanceof DocModelError) return { kind: 'doc-model', code: err.code, field: err.field, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
  if (err instanceof Error) return { kind: 'other', name: err.name, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }) };
  return { kind: 'other', name: 'Error', message: String(err) };
}

class NotKept extends Error {}

const port = parentPort;
if (port) {
  // Batch work; the event loop's core comes first (persistence/thread-priority.ts).
  runAtBackgroundPriority();
  const { keptAnnotations, keptDetections } = workerData as GroundTruthThreadData;
  const truths = new KeptInputs<TruthSource>(keptAnnotations);
  const runs = new KeptInputs<DetectionRecord[]>(keptDetections);
  const truthOf = ({ hash, source }: ScoreInputs['truth']): TruthSource => {
    if (source && hash !== undefined) truths.keep(hash, source.annotations.length, source);
    const truth = source ?? (hash === undefined ? undefined : truths.get(hash));
    if (!truth) throw new NotKept(hash);
    return truth;
  };
  const foundOf = ({ name, packed }: ScoreInputs['found']): DetectionRecord[] => {
    const found = packed ? unpackDetections(packed) : name === undefined ? undefined : runs.get(name);
    if (!found) throw new NotKept(name);
    if (packed && name !== undefined) runs.keep(name, found.length, found);
    return found;
  };
  port.on('message', (request: GroundTruthRequest) => {
    void (async () => {
      try {
        if (request.type === 'score') {
          const value = scoreDetections(truthOf(request.truth), foundOf(request.found), request.opts);
          port.postMessage({ id: request.id, ok: true, value } satisfies GroundTruthReply);
        } else {
          // A copy that owns its buffer (zlib's may be a view into a larger one), to transfer.
          const stored = new Uint8Array(storedReleaseBytes(request.content));
          const value: SealedRelease = { contentHash: await releaseContentHash(request.content), stored };
          // A run made on a new release is scored against it next.
          truths.keep(value.contentHash, request.content.annotations.length, releaseTruth(request.content));
          port.postMessage({ id: request.id, ok: true, value } satisfies GroundTruthReply, [stored.buffer]);
        }
      } catch (err) {
        const error: ThrownError = err instanceof NotKept ? { kind: 'not-kept', name: err.message } : asData(err);
        port.postMessage({ id: request.id, ok: false, error } satisfies GroundTruthReply);
      }
    })();
  });
}
