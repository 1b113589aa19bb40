/**
 * Session meta: the video the session annotates, written by the server at creation.
 *
 *   setMeta(doc, { sessionId, projectId, videoId, width: 1920, height: 1080, fps: 25, frameCount: 500 })
 *   getMeta(doc)?.frameCount // → 500
 */
import type * as Y from 'yjs';
import { invalidMeta, type DocModelError } from './errors.ts';
import { META, SESSION } from './keys.ts';
import type { SessionMeta } from './types.ts';
import { isFiniteNumber, isNonEmptyString } from './values.ts';

const metaMap = (doc: Y.Doc): Y.Map<unknown> => doc.getMap(SESSION.meta);

/** Every problem with a meta value, empty when it is valid. */
export const validateMeta = (meta: SessionMeta): DocModelError[] => {
  const errors: DocModelError[] = [];
  for (const key of ['sessionId', 'projectId', 'videoId'] as const) {
    if (!isNonEmptyString(meta[key])) errors.push(invalidMeta(key, `${key} must be a non-empty string`));
  }
  for (const key of ['width', 'height', 'fps'] as const) {
    if (!isFiniteNumber(meta[key]) || meta[key] <= 0) errors.push(invalidMeta(key, `${key} must be a number > 0`));
  }
  if (!Number.isInteger(meta.frameCount) || meta.frameCount < 0) {
    errors.push(invalidMeta('frameCount', 'frameCount must be an integer >= 0'));
  }
  return errors;
};

/** Writes every meta field (only those that change). Throws the first DocModelError if invalid. */
export const setMeta = (doc: Y.Doc, meta: SessionMeta, origin?: unknown): void => {
  const errors = validateMeta(meta);
  if (errors[0]) throw errors[0];
  doc.transact(() => {
    const map = metaMap(doc);
    for (const key of Object.values(META)) {
      if (map.get(key) !== meta[key]) map.set(key, meta[key]);
    }
  }, origin);
};

/** The meta, or null while it is absent or incomplete (e.g. before the server wrote it). */
export const getMeta = (doc: Y.Doc): SessionMeta | null => {
  const map = metaMap(doc);
  const meta = {
    sessionId: map.get(META.sessionId),
    projectId: map.get(META.projectId),
    videoId: map.get(META.videoId),
    width: map.get(META.width),
    height: map.get(META.height),
    fps: map.get(META.fps),
    frameCount: map.get(META.frameCount),
  };
  const { sessionId, projectId, videoId, width, height, fps, frameCount } = meta;
  if (
    typeof sessionId !== 'string' ||
    typeof projectId !== 'string' ||
    typeof videoId !== 'string' ||
    !isFiniteNumber(width) ||
    !isFiniteNumber(height) ||
    !isFiniteNumber(fps) ||
    !isFiniteNumber(frameCount)
  ) {
    return null;
  }
  return { sessionId, projectId, videoId, width, height, fps, frameCount };
};
