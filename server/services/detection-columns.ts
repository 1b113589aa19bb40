/**
 * Detections as columns, to cross between threads (the ground-truth and import-parse threads):
 * typed arrays, transferred, and arrays of strings. 50 000 detections as objects took ~20 ms of
 * the main thread to serialize and 40-75 ms to deserialize, each in one piece; as columns, ~5-8 ms
 * to pack and about as long to unpack.
 *
 *   const packed = packDetections(detections)              // in a thread; packDetectionsInSlices on the event loop
 *   worker.postMessage({ detections: packed }, packedBuffers(packed))
 *   unpackDetections(packed)   // the same detections on the other side (unpackDetectionsInSlices)
 */
import type { BBox } from '../../docs-model/types.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import { finishInSlices } from '../base/loop-slices.ts';

/** Detections as columns: row k is frames[k], boxes[4k..4k+3], scores[k], labels[labelIndex[k]], … */
export interface PackedDetections {
  frames: Int32Array;
  boxes: Float64Array;
  scores: Float64Array;
  labelIndex: Int32Array;
  labels: string[];
  detectionIds: (string | null)[];
  trackIds: (string | null)[];
}

/** The typed arrays' buffers, to transfer rather than copy. */
export const packedBuffers = (p: PackedDetections): ArrayBuffer[] => [p.frames.buffer, p.boxes.buffer, p.scores.buffer, p.labelIndex.buffer] as ArrayBuffer[];

/** Rows packed or unpacked between two checks of the slice's time (loop-slices.ts). */
const ROWS_PER_STEP = 1024;

function* packing(found: readonly DetectionRecord[]): Generator<void, PackedDetections> {
  const n = found.length;
  const packed: PackedDetections = {
    frames: new Int32Array(n),
    boxes: new Float64Array(n * 4),
    scores: new Float64Array(n),
    labelIndex: new Int32Array(n),
    labels: [],
    detectionIds: new Array<string | null>(n),
    trackIds: new Array<string | null>(n),
  };
  const labelAt = new Map<string, number>();
  for (let k = 0; k < n; k++) {
    const d = found[k]!;
    packed.frames[k] = d.frame;
    packed.boxes.set(d.bbox, k * 4);
    packed.scores[k] = d.score;
    let label = labelAt.get(d.label);
    if (label === undefined) labelAt.set(d.label, (label = packed.labels.push(d.label) - 1));
    packed.labelIndex[k] = label;
    packed.detectionIds[k] = d.detectionId;
    packed.trackIds[k] = d.trackId ?? null;
    if (k % ROWS_PER_STEP === ROWS_PER_STEP - 1) yield;
  }
  return packed;
}

function* unpacking(p: PackedDetections): Generator<void, DetectionRecord[]> {
  const out: DetectionRecord[] = new Array(p.frames.length);
  for (let k = 0; k < p.frames.length; k++) {
    const bbox: BBox = [p.boxes[4 * k]!, p.boxes[4 * k + 1]!, p.boxes[4 * k + 2]!, p.boxes[4 * k + 3]!];
    out[k] = { frame: p.frames[k]!, bbox, label: p.labels[p.labelIndex[k]!]!, score: p.scores[k]!, detectionId: p.detectionIds[k]!, trackId: p.trackIds[k]! };
    if (k % ROWS_PER_STEP === ROWS_PER_STEP - 1) yield;
  }
  return out;
}

function drained<R>(steps: Generator<void, R>): R {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** In one piece (in a worker thread): 50 000 detections in ~5-8 ms, their columns' serialization included. */
export const packDetections = (found: readonly DetectionRecord[]): PackedDetections => drained(packing(found));

export const unpackDetections = (p: PackedDetections): DetectionRecord[] => drained(unpacking(p));

/**
 * On the event loop, in slices of ~5 ms with a turn between them: 50 000 detections took 5-7.5 ms
 * to pack in one piece (a CPU profile of bench:stalls), 100 000 twice that, beside every socket.
 */
export const packDetectionsInSlices = (found: readonly DetectionRecord[]): Promise<PackedDetections> => finishInSlices(packing(found));

export const unpackDetectionsInSlices = (p: PackedDetections): Promise<DetectionRecord[]> => finishInSlices(unpacking(p));
