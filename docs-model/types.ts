/**
 * The plain-data shapes of a session document (docs/architecture.md, "Documents").
 * These are what the pure functions of docs-model take and return; the Y.Map keys behind them
 * are known only to docs-model.
 *
 *   import { addAnnotation, listAnnotations } from './index.ts'
 *   addAnnotation(doc, { frame: 3, bbox: [10, 10, 40, 30], label: 'car' }, { by: 'alice' })
 *   listAnnotations(doc, { frame: 3 }) // → [{ id, frame: 3, bbox: [10, 10, 40, 30], … }]
 */

/**
 * The options of a write that takes nothing else: the Yjs transaction origin (the server's typed
 * origin, a client's undo scope).
 */
export interface OriginOptions {
  origin?: unknown;
}

/** [x, y, w, h] in pixels, top-left origin. Stored as one atomic array. */
export type BBox = [x: number, y: number, w: number, h: number];

/** The statuses an annotation may have, in their one home (zod schemas, validation and imports use it). */
export const ANNOTATION_STATUSES = ['draft', 'validated', 'rejected'] as const;
export type AnnotationStatus = (typeof ANNOTATION_STATUSES)[number];
/** Where an annotation came from. */
export const ANNOTATION_SOURCES = ['manual', 'import', 'model'] as const;
export type AnnotationSource = (typeof ANNOTATION_SOURCES)[number];

/** A session's review status (the REST API, the `sessions` table and the dashboards use it). */
export const SESSION_STATUSES = ['open', 'review', 'complete'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];
/** A video's ground-truth status in a project: no session, sessions under way, a complete one. */
export const GROUND_TRUTH_STATUSES = ['none', 'in_progress', 'complete'] as const;
export type GroundTruthStatus = (typeof GROUND_TRUTH_STATUSES)[number];

export const isAnnotationStatus = (v: unknown): v is AnnotationStatus => (ANNOTATION_STATUSES as readonly unknown[]).includes(v);
export const isAnnotationSource = (v: unknown): v is AnnotationSource => (ANNOTATION_SOURCES as readonly unknown[]).includes(v);
export type Interpolation = 'linear' | 'none';

export type Attributes = Record<string, unknown>;

export interface Annotation {
  id: string;
  /** 0-based frame index. */
  frame: number;
  bbox: BBox;
  label: string;
  trackId: string | null;
  /** The model detection this annotation confirms or corrects. */
  detectionId: string | null;
  attributes: Attributes;
  occluded: boolean;
  /** On a track keyframe: the object has left the view from this frame on. */
  outside: boolean;
  status: AnnotationStatus;
  source: AnnotationSource;
  createdBy: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
}

/** What a caller supplies to create an annotation; everything else gets a default. */
export interface AnnotationInput {
  id?: string;
  frame: number;
  bbox: BBox;
  label: string;
  trackId?: string | null;
  detectionId?: string | null;
  attributes?: Attributes;
  occluded?: boolean;
  outside?: boolean;
  status?: AnnotationStatus;
  source?: AnnotationSource;
}

/** Fields a caller may change on an existing annotation. */
export type AnnotationPatch = Partial<
  Pick<
    Annotation,
    'frame' | 'bbox' | 'label' | 'trackId' | 'detectionId' | 'attributes' | 'occluded' | 'outside' | 'status'
  >
>;

export interface AnnotationFilter {
  frame?: number;
  fromFrame?: number;
  toFrame?: number;
  label?: string;
  trackId?: string;
  detectionId?: string;
  status?: AnnotationStatus;
}

export interface Track {
  id: string;
  label: string;
  attributes: Attributes;
  interpolation: Interpolation;
}

export interface TrackInput {
  id?: string;
  label: string;
  attributes?: Attributes;
  interpolation?: Interpolation;
}

export type TrackPatch = Partial<Pick<Track, 'label' | 'attributes' | 'interpolation'>>;

export interface LabelDef {
  color?: string;
  attributes?: Attributes;
}

export interface SessionMeta {
  sessionId: string;
  projectId: string;
  videoId: string;
  width: number;
  height: number;
  fps: number;
  frameCount: number;
}

/** A box of a track on one frame: a keyframe as drawn, or interpolated between two keyframes. */
export interface TrackFrameBox {
  trackId: string;
  frame: number;
  bbox: BBox;
  label: string;
  /** True when a person drew this box; false when it was interpolated. */
  keyframe: boolean;
  /** The keyframe annotation's id when `keyframe`, else null. */
  annotationId: string | null;
  occluded: boolean;
  attributes: Attributes;
}
