/**
 * A small scored scene for the ground-truth thread's tests: boxes of two labels over 100 frames,
 * some rejected, some linked to detections, a track of two keyframes; detections near most boxes
 * with scores, links and track ids.
 */
import type { Annotation, Track } from '../../docs-model/index.ts';
import type { DetectionRecord } from '../../persistence/repositories/detections.ts';
import type { TruthSource } from '../../server/services/test-runs/run-scoring.ts';

const annotation = (k: number, extra: Partial<Annotation> = {}): Annotation =>
  ({
    id: `a${k}`,
    frame: k % 100,
    bbox: [(k * 37) % 600, 10 + (k % 5) * 80, 40, 40],
    label: k % 3 ? 'car' : 'person',
    status: k % 11 === 0 ? 'rejected' : k % 2 ? 'validated' : 'draft',
    attributes: {},
    trackId: null,
    detectionId: k % 7 === 0 ? `d${k}` : null,
    createdBy: 'test',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  }) as Annotation;

/** 1 000 boxes, a track of keyframes among them, and detections near most of them with scores, links and track ids. */
export function scene(count = 1000): { source: TruthSource; found: DetectionRecord[] } {
  const annotations = Array.from({ length: count }, (_, k) => annotation(k));
  const tracks: Track[] = [{ id: 't1', label: 'car', attributes: {}, createdBy: 'test', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' } as unknown as Track];
  annotations.push(annotation(count, { frame: 0, trackId: 't1', label: 'car' }), annotation(count + 1, { frame: 50, trackId: 't1', label: 'car' }));
  const found: DetectionRecord[] = annotations.map((a, k) => ({
    frame: a.frame,
    bbox: [a.bbox[0] + (k % 4), a.bbox[1], 40, 40 - (k % 3)],
    label: k % 9 === 0 ? 'person' : a.label,
    score: ((k * 13) % 100) / 100,
    detectionId: k % 7 === 0 ? `d${k}` : null,
    trackId: `o${k}`,
  }));
  return { source: { annotations, tracks, frameCount: 100 }, found };
}

