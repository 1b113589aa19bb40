/**
 * Undo and redo of this client's own edits. A `Y.UndoManager` over the annotation and track maps
 * that tracks only local transactions: those without an origin (docs-model writes called without
 * one) and those made with the session's `origin`. Remote content arrives with the provider as its
 * origin and stored content with y-indexeddb's, so undo never removes another annotator's work.
 *
 *   const undo = createUndo(doc, origin)
 *   addAnnotation(doc, input, { by: 'ada' })
 *   undo.stopCapturing() // the next edit is a step of its own
 *   undo.undo()
 */
import * as Y from 'yjs';
import { annotationsMap } from '../docs-model/annotations.ts';
import { tracksMap } from '../docs-model/tracks.ts';

export interface UndoOptions {
  /** Edits closer together than this (ms) are one step; `stopCapturing()` ends a step at once. Default 500. */
  captureTimeout?: number;
}

export function createUndo(doc: Y.Doc, origin: object, opts: UndoOptions = {}): Y.UndoManager {
  return new Y.UndoManager([annotationsMap(doc), tracksMap(doc)], {
    trackedOrigins: new Set<unknown>([null, origin]),
    captureTimeout: opts.captureTimeout ?? 500,
  });
}
