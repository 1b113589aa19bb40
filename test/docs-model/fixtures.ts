/**
 * Small session documents for the docs-model tests (not a test file itself).
 */
import * as Y from 'yjs';
import { initSession } from '../../docs-model/index.ts';
import type { Annotation, SessionMeta, Track } from '../../docs-model/index.ts';

export const META: SessionMeta = {
  sessionId: 's1',
  projectId: 'p1',
  videoId: 'v1',
  width: 100,
  height: 50,
  fps: 25,
  frameCount: 20,
};

/** A doc with META and the labels car, truck, person. */
export const sessionDoc = (): Y.Doc => {
  const doc = new Y.Doc();
  initSession(doc, { meta: META, labels: { car: { color: '#f00' }, truck: {}, person: { attributes: { kind: 'adult' } } } });
  return doc;
};

/** Sends each doc's missing updates to the other, as two peers do on reconnect. */
export const exchange = (a: Y.Doc, b: Y.Doc): void => {
  const toB = Y.encodeStateAsUpdate(a, Y.encodeStateVector(b));
  const toA = Y.encodeStateAsUpdate(b, Y.encodeStateVector(a));
  Y.applyUpdate(b, toB);
  Y.applyUpdate(a, toA);
};

export const track = (over: Partial<Track> = {}): Track => ({
  id: 't1',
  label: 'car',
  attributes: {},
  interpolation: 'linear',
  ...over,
});

/** A keyframe annotation of track t1 on `frame` with `bbox`. */
export const keyframe = (frame: number, bbox: Annotation['bbox'], over: Partial<Annotation> = {}): Annotation => ({
  id: `k${frame}`,
  frame,
  bbox,
  label: 'car',
  trackId: 't1',
  detectionId: null,
  attributes: {},
  occluded: false,
  outside: false,
  status: 'draft',
  source: 'manual',
  createdBy: 'alice',
  updatedBy: 'alice',
  createdAt: 0,
  updatedAt: 0,
  ...over,
});
