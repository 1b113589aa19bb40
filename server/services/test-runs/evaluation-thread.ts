/**
 * The worker side of evaluation-scorer.ts: scores a run's detections against its ground truth
 * (run-scoring.ts) off the event loop. Started only by `createEvaluationScorer` (through
 * persistence/worker-thread.ts's `startBundledThread`).
 *
 * Protocol: a request is `{ id, source, detections: PackedDetections, opts }`; the answer
 * `{ id, ok: true, scores }` or `{ id, ok: false, error }` with what scoring threw, as data (a
 * DocModelError keeps its code, field and details, so the route answers the same 422).
 */
import { parentPort } from 'node:worker_threads';
import { DocModelError, type DocModelErrorCode } from '../../../docs-model/index.ts';
import { runAtBackgroundPriority } from '../../../persistence/thread-priority.ts';
import { scoreDetections, unpackDetections, type DetectionScores, type PackedDetections, type TruthSource } from './run-scoring.ts';

export interface ScoreRequest {
  id: number;
  source: TruthSource;
  detections: PackedDetections;
  opts: { iouThreshold?: number };
}

export type ScoreError =
  | { kind: 'doc-model'; code: DocModelErrorCode; field: string; message: string; details?: unknown }
  | { kind: 'other'; name: string; message: string; stack?: string };

export type ScoreReply = { id: number; ok: true; scores: DetectionScores } | { id: number; ok: false; error: ScoreError };

export function asScoreError(err: unknown): ScoreError {
  if (err instanceof DocModelError) return { kind: 'doc-model', code: err.code, field: err.field, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) };
  if (err instanceof Error) return { kind: 'other', name: err.name, message: err.message, ...(err.stack === undefined ? {} : { stack: err.stack }) };
  return { kind: 'other', name: 'Error', message: String(err) };
}

const port = parentPort;
if (port) {
  // Scoring is batch work; the event loop's core comes first (persistence/thread-priority.ts).
  runAtBackgroundPriority();
  port.on('message', ({ id, source, detections, opts }: ScoreRequest) => {
    let reply: ScoreReply;
    try {
      reply = { id, ok: true, scores: scoreDetections(source, unpackDetections(detections), opts) };
    } catch (err) {
      reply = { id, ok: false, error: asScoreError(err) };
    }
    port.postMessage(reply);
  });
}
