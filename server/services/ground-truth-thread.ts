/**
 * The worker side of ground-truth-worker.ts: the pure, CPU-long work on ground truth, off the event
 * loop. Scores a run's detections against its ground truth (test-runs/run-scoring.ts), and seals a
 * frozen release: its content hash and its stored bytes. Started only by `createGroundTruthWorker`
 * (through persistence/worker-thread.ts's `startBundledThread`).
 *
 * Protocol: a request is `{ id, type: 'score', source, detections: PackedDetections, opts }` or
 * `{ id, type: 'seal', content }`; the answer `{ id, ok: true, value }` (for a seal, its stored
 * bytes transferred) or `{ id, ok: false, error }` with what was thrown, as data (a DocModelError
 * keeps its code, field and details, so the route answers the same 422).
 */
import { parentPort } from 'node:worker_threads';
import { DocModelError, type DocModelErrorCode } from '../../docs-model/index.ts';
import { releaseContentHash, type ReleaseContent } from '../../docs-model/release-content.ts';
import { storedReleaseBytes } from '../../persistence/repositories/releases.ts';
import { runAtBackgroundPriority } from '../../persistence/thread-priority.ts';
import { unpackDetections, type PackedDetections } from './detection-columns.ts';
import { scoreDetections, type DetectionScores, type TruthSource } from './test-runs/run-scoring.ts';

export type GroundTruthRequest =
  | { id: number; type: 'score'; source: TruthSource; detections: PackedDetections; opts: { iouThreshold?: number } }
  | { id: number; type: 'seal'; content: ReleaseContent };

/** A release's content as it is kept: what identifies it, and its bytes as the database stores them. */
export interface SealedRelease {
  contentHash: string;
  stored: Uint8Array;
}

export type ThrownError =
  | { kind: 'doc-model'; code: DocModelErrorCode; field: string; message: string; details?: unknown }
  | { kind: 'other'; name: string; message: string; stack?: string };

export type GroundTruthReply = { id: number; ok: true; value: DetectionScores | SealedRelease } | { id: number; ok: false; error: ThrownError };

function asData(err: unknown): ThrownError {
  if (err instanceof DocModelError) return { kind: 'doc-model', code: err.code, field: err.field, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
  if (err instanceof Error) return { kind: 'other', name: err.name, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }) };
  return { kind: 'other', name: 'Error', message: String(err) };
}

const port = parentPort;
if (port) {
  // Batch work; the event loop's core comes first (persistence/thread-priority.ts).
  runAtBackgroundPriority();
  port.on('message', (request: GroundTruthRequest) => {
    void (async () => {
      try {
        if (request.type === 'score') {
          const value = scoreDetections(request.source, unpackDetections(request.detections), request.opts);
          port.postMessage({ id: request.id, ok: true, value } satisfies GroundTruthReply);
        } else {
          // A copy that owns its buffer (zlib's may be a view into a larger one), to transfer.
          const stored = new Uint8Array(storedReleaseBytes(request.content));
          const value: SealedRelease = { contentHash: await releaseContentHash(request.content), stored };
          port.postMessage({ id: request.id, ok: true, value } satisfies GroundTruthReply, [stored.buffer]);
        }
      } catch (err) {
        port.postMessage({ id: request.id, ok: false, error: asData(err) } satisfies GroundTruthReply);
      }
    })();
  });
}
