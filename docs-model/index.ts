/**
 * docs-model: the shape of a session document and pure functions over it. Imports only yjs and
 * lib0, so it runs unchanged in a browser (test/docs-model/browser-bundle.test.ts checks).
 *
 *   import * as Y from 'yjs'
 *   import { initSession, addAnnotation, listAnnotations } from './docs-model/index.ts'
 *   const doc = new Y.Doc()
 *   initSession(doc, { meta, labels: { car: { color: '#f00' } } })
 *   addAnnotation(doc, { frame: 0, bbox: [10, 10, 40, 30], label: 'car' }, { by: 'alice' })
 *   listAnnotations(doc, { label: 'car' }) // → [{ id, frame: 0, … }]
 */
export type * from './types.ts';
export { ANNOTATION_SOURCES, ANNOTATION_STATUSES, GROUND_TRUTH_STATUSES, SESSION_STATUSES, isAnnotationSource, isAnnotationStatus } from './types.ts';
export {
  DocModelError,
  type DocModelErrorCode,
} from './errors.ts';
export { getMeta, setMeta, validateMeta } from './meta.ts';
export { getLabels, hasLabel, removeLabel, setLabel, validateLabel } from './labels.ts';
export {
  checkBbox,
  validateAnnotationInput,
  type AnnotationContext,
  type LabelNames,
  type TrackIds,
  type ValidateAnnotationOptions,
} from './annotation-validation.ts';
export {
  addAnnotation,
  addAnnotations,
  deleteAnnotation,
  planAddAnnotations,
  getAnnotation,
  listAnnotations,
  updateAnnotation,
  validateAnnotationInputs,
  validateAnnotationPatch,
  type AnnotationWrite,
  type AnnotationWriteOptions,
  type BulkAnnotationOptions,
  type IndexedError,
} from './annotations.ts';
export {
  addTrack,
  deleteTrack,
  getTrack,
  listTracks,
  trackKeyframes,
  updateTrack,
  validateTrackInput,
} from './tracks.ts';
export { boxesAtFrame, expandTrack, orderKeyframes, type ExpandTrackOptions } from './interpolation.ts';
export {
  initSession,
  planWriteSession,
  readSession,
  writeSession,
  type AnnotationImport,
  type SessionContent,
  type SessionContentInput,
  type WriteCounts,
  type WriteSessionOptions,
  type WriteSessionResult,
} from './session.ts';
export { CHECK_STEP_ITEMS, runStaged, stepsOver, WRITE_STEP_ITEMS, type StagedWrite } from './staged-write.ts';
export * from './evaluation.ts';
export * from './test-run-doc.ts';
export * from './dashboard-doc.ts';
export {
  evaluateRunTracking,
  evaluateTracking,
  hasTrackIds,
  trackingDetections,
  trackingGroundTruth,
  type GroundTruthSource,
  type TrackedDetection,
  type TrackingBox,
  type TrackingEvaluation,
  type TrackingMetrics,
  type TrackingOptions,
} from './tracking/index.ts';
