/**
 * Deterministic session content for the benchmarks: annotations shaped as docs/architecture.md ("Documents") draws them
 * (one Y.Map per annotation inside the `annotations` Y.Map), so both servers hold the same bytes.
 *
 *   addAnnotations(doc, { count: 100, seed: 7, prefix: 'a' });
 *   annotationCount(doc) // → 100
 *
 * The key names come from docs-model; the Y.Maps are written directly rather than through its
 * functions so the fixture stays byte-identical across runs (fixed ids and timestamps).
 */
import * as Y from 'yjs';
import { ANNOTATION, SESSION } from '../../docs-model/keys.ts';
import { seededRandom } from './stats.ts';

const LABELS = ['car', 'pedestrian', 'cyclist', 'truck', 'bus', 'traffic-light'] as const;
const STATUSES = ['draft', 'validated', 'rejected'] as const;

export interface FixtureOptions {
  count: number;
  seed: number;
  /** Id prefix, so several batches into one document do not collide. */
  prefix: string;
  /** Start index of the ids (for batching). */
  from?: number;
}

export function addAnnotations(doc: Y.Doc, options: FixtureOptions): void {
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const annotations = doc.getMap<Y.Map<unknown>>(SESSION.annotations);
  const from = options.from ?? 0;
  const at = 1_700_000_000_000;
  doc.transact(() => {
    for (let i = from; i < from + options.count; i++) {
      const id = `${options.prefix}-${i}`;
      const map = new Y.Map<unknown>();
      const w = 20 + Math.round(random() * 200);
      const h = 20 + Math.round(random() * 200);
      map.set(ANNOTATION.id, id);
      map.set(ANNOTATION.frame, i % 3000);
      map.set(ANNOTATION.bbox, [Math.round(random() * 1700), Math.round(random() * 860), w, h]);
      map.set(ANNOTATION.label, pick(LABELS));
      map.set(ANNOTATION.trackId, random() < 0.5 ? `t-${i % 97}` : null);
      map.set(ANNOTATION.detectionId, random() < 0.3 ? `d-${i}` : null);
      map.set(ANNOTATION.attributes, random() < 0.5 ? { truncated: random() < 0.5 } : {});
      map.set(ANNOTATION.occluded, random() < 0.2);
      map.set(ANNOTATION.outside, false);
      map.set(ANNOTATION.status, pick(STATUSES));
      map.set(ANNOTATION.source, 'manual');
      map.set(ANNOTATION.createdBy, 'bench');
      map.set(ANNOTATION.updatedBy, 'bench');
      map.set(ANNOTATION.createdAt, at + i);
      map.set(ANNOTATION.updatedAt, at + i);
      annotations.set(id, map);
    }
  });
}

export function annotationCount(doc: Y.Doc): number {
  return doc.getMap(SESSION.annotations).size;
}
