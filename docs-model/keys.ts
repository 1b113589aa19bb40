/**
 * The Y.Map key names of a session document (docs/architecture.md, "Documents").
 * Only docs-model reads these; everything else calls its functions, so a key is renamed here
 * and nowhere else.
 *
 *   doc.getMap(SESSION.annotations).get(id) // → Y.Map with the ANNOTATION keys
 */

/** Top-level shared types of a `session:<id>` document. */
export const SESSION = {
  meta: 'meta',
  labels: 'labels',
  annotations: 'annotations',
  tracks: 'tracks',
} as const;

/** Keys of `meta`. */
export const META = {
  sessionId: 'sessionId',
  projectId: 'projectId',
  videoId: 'videoId',
  width: 'width',
  height: 'height',
  fps: 'fps',
  frameCount: 'frameCount',
} as const;

/** Keys of one annotation's nested Y.Map. `bbox` and `attributes` are atomic plain values. */
export const ANNOTATION = {
  id: 'id',
  frame: 'frame',
  bbox: 'bbox',
  label: 'label',
  trackId: 'trackId',
  detectionId: 'detectionId',
  attributes: 'attributes',
  occluded: 'occluded',
  outside: 'outside',
  status: 'status',
  source: 'source',
  createdBy: 'createdBy',
  updatedBy: 'updatedBy',
  createdAt: 'createdAt',
  updatedAt: 'updatedAt',
} as const;

/** Keys of one track's nested Y.Map. */
export const TRACK = {
  id: 'id',
  label: 'label',
  attributes: 'attributes',
  interpolation: 'interpolation',
} as const;
