/**
 * One zod schema per body, query and path of the REST API. Routes parse with these and
 * `openapi.ts` renders the very same objects, so the documentation cannot drift from the checks.
 * Request schemas may coerce (query strings); response schemas describe what the routes send.
 *
 *   const body = ProjectCreate.parse(json)   // → { name, description?, labels?, criteria? }
 */
import { ANNOTATION_SOURCES, ANNOTATION_STATUSES } from '../../docs-model/types.ts';
import { z } from 'zod';
import { GROUND_TRUTH_STATUSES, SESSION_STATUSES } from '../../docs-model/types.ts';
import 'zod-openapi';

/** Largest bulk create: 10 000 boxes is a long video's worth of one class (the bench's size). */
export const MAX_BULK_ANNOTATIONS = 10_000;
export const MAX_PAGE = 5_000;

// ---- shared pieces ---------------------------------------------------------------------------

/** Ids we mint (uuids) or that a user picked: the document-name alphabet (server/wire.ts). */
export const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1-64 characters of A-Z a-z 0-9 _ -');
/** Annotation and track ids may come from imported files, so only their length is bounded. */
export const ItemId = z.string().min(1).max(256);

export const Limit = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback).meta({ description: `page size (1-${max}, default ${fallback})` });
export const Cursor = z.string().min(1).max(512).optional().meta({ description: 'the `nextCursor` of the previous page' });
const QueryBool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional();
const NonNegInt = z.coerce.number().int().min(0);
const Attributes = z.record(z.string(), z.unknown());
const Timestamp = z.string().meta({ format: 'date-time' });

export const LabelSpec = z
  .object({
    name: z.string().min(1).max(200),
    color: z.string().max(64).optional(),
    attributes: Attributes.optional(),
  })
  .meta({ id: 'LabelSpec' });

const uniqueNames = (labels: Array<{ name: string }>) => new Set(labels.map((l) => l.name)).size === labels.length;
const LabelList = z.array(LabelSpec).max(1000).refine(uniqueNames, { message: 'label names must be unique' });

const Range = z
  .object({ min: z.number().min(0).optional(), max: z.number().min(0).optional() })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'min must be <= max' });

const isRegExp = (pattern: string): boolean => {
  try {
    new RegExp(pattern, 'i');
    return true;
  } catch {
    return false;
  }
};

export const MatchingCriteria = z
  .object({
    tags: z.array(z.string().min(1).max(100)).max(100).optional(),
    minWidth: z.number().int().positive().optional(),
    minHeight: z.number().int().positive().optional(),
    fps: Range.optional(),
    durationSec: Range.optional(),
    namePattern: z
      .string()
      .max(200)
      .refine(isRegExp, { message: 'namePattern must be a valid regular expression' })
      .optional()
      .meta({ description: 'JavaScript regular expression, matched case-insensitively against the video name' }),
  })
  .meta({ id: 'MatchingCriteria' });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .meta({ id: 'Error' });

// ---- path params -----------------------------------------------------------------------------

export const ProjectParams = z.object({ projectId: Id });
export const VideoParams = z.object({ videoId: Id });
export const ProjectVideoParams = z.object({ projectId: Id, videoId: Id });
export const SessionParams = z.object({ sessionId: Id });
export const AnnotationParams = z.object({ sessionId: Id, annotationId: ItemId });
export const TrackParams = z.object({ sessionId: Id, trackId: ItemId });

// ---- projects --------------------------------------------------------------------------------

export const ProjectCreate = z.object({
  name: z.string().min(1).max(200),
  description: z.string().max(10_000).optional(),
  labels: LabelList.optional(),
  criteria: MatchingCriteria.optional(),
});

export const ProjectPatch = z
  .object({
    name: z.string().min(1).max(200).optional(),
    description: z.string().max(10_000).optional(),
    labels: LabelList.optional().meta({ description: 'replaces the label schema (sessions keep labels they have)' }),
    criteria: MatchingCriteria.optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), { message: 'nothing to change' });

export const ProjectLabelsAdd = z.object({ labels: LabelList.min(1) });

export const PageQuery = z.object({ limit: Limit(50, 500), cursor: Cursor });

export const Project = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    labels: z.array(LabelSpec),
    criteria: MatchingCriteria,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Project' });

// ---- videos ----------------------------------------------------------------------------------

const VideoFields = {
  name: z.string().min(1).max(500),
  uri: z.string().min(1).max(2000),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  fps: z.number().positive().max(1000),
  frameCount: z.number().int().min(0),
  durationSec: z.number().min(0).optional().meta({ description: 'default: frameCount / fps' }),
  tags: z.array(z.string().min(1).max(100)).max(100).optional(),
  metadata: Attributes.optional(),
  checksum: z.string().min(1).max(200).nullable().optional(),
};

export const VideoCreate = z.object({ id: Id.optional(), ...VideoFields });

export const VideoPatch = z
  .object({
    name: VideoFields.name.optional(),
    uri: VideoFields.uri.optional(),
    width: VideoFields.width.optional(),
    height: VideoFields.height.optional(),
    fps: VideoFields.fps.optional(),
    frameCount: VideoFields.frameCount.optional(),
    durationSec: VideoFields.durationSec,
    tags: VideoFields.tags,
    metadata: VideoFields.metadata,
    checksum: VideoFields.checksum,
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), { message: 'nothing to change' });

export const VideoListQuery = z.object({
  tag: z.string().min(1).optional(),
  q: z.string().min(1).max(200).optional().meta({ description: 'case-insensitive substring of the name' }),
  unassigned: QueryBool.meta({ description: 'only videos linked to no project' }),
  limit: Limit(50, 500),
  cursor: Cursor,
});

export const Video = z
  .object({
    id: z.string(),
    name: z.string(),
    uri: z.string(),
    width: z.number(),
    height: z.number(),
    fps: z.number(),
    frameCount: z.number(),
    durationSec: z.number(),
    tags: z.array(z.string()),
    metadata: Attributes,
    checksum: z.string().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Video' });

// ---- project–video links and matching --------------------------------------------------------

export const AssignVideos = z.object({ videoIds: z.array(Id).min(1).max(1000) });
export const ForceQuery = z.object({
  force: QueryBool.meta({ description: 'go ahead despite the conflict the route would otherwise answer with 409' }),
});
export const SuggestionsQuery = z.object({
  limit: Limit(50, 500),
  minScore: z.coerce.number().min(0).max(1).optional(),
});
export const AutoAssign = z.object({
  minScore: z.number().min(0).max(1).default(0.8),
  limit: z.number().int().min(1).max(1000).optional().meta({ description: 'link at most this many, best first' }),
});

export const VideoProjectLink = z
  .object({ projectId: z.string(), videoId: z.string(), assignedBy: z.string(), assignedAt: Timestamp })
  .meta({ id: 'VideoProjectLink' });

export const LinkedVideo = z.object({ video: Video, link: VideoProjectLink }).meta({ id: 'LinkedVideo' });

export const Suggestion = z
  .object({
    video: Video,
    score: z.number().min(0).max(1),
    reasons: z.array(z.string()),
    duplicateOf: z.array(z.string()).meta({ description: 'linked videos with the same checksum' }),
    duplicate: z.boolean(),
  })
  .meta({ id: 'Suggestion' });

export const GroundTruthVideo = z
  .object({
    video: Video,
    link: VideoProjectLink,
    status: z.enum(GROUND_TRUTH_STATUSES),
    sessions: z.array(z.object({ id: z.string(), status: z.enum(SESSION_STATUSES) })),
    annotations: z.object({ total: z.number(), byStatus: z.record(z.string(), z.number()) }),
  })
  .meta({ id: 'GroundTruthVideo' });

// ---- sessions --------------------------------------------------------------------------------

export const SessionStatus = z.enum(SESSION_STATUSES);

export const SessionCreate = z.object({
  videoId: Id,
  name: z.string().min(1).max(200).optional(),
  /** A caller-chosen id (e.g. to create sessions idempotently from a script); a uuid otherwise. 409 if taken. */
  id: Id.optional(),
});
export const SessionPatch = z
  .object({ status: SessionStatus.optional(), name: z.string().min(1).max(200).optional() })
  .refine((p) => p.status !== undefined || p.name !== undefined, { message: 'nothing to change' });
export const SessionListQuery = z.object({
  status: SessionStatus.optional(),
  videoId: Id.optional(),
  includeArchived: QueryBool,
  limit: Limit(50, 500),
  cursor: Cursor,
});

export const Session = z
  .object({
    id: z.string(),
    projectId: z.string(),
    videoId: z.string(),
    name: z.string(),
    status: SessionStatus,
    docName: z.string().meta({ description: 'the Yjs document: connect to ws://HOST/sync/<docName>' }),
    createdBy: z.string(),
    archivedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Session' });

export const SessionDetail = Session.extend({
  annotations: z.object({ total: z.number(), byStatus: z.record(z.string(), z.number()) }).meta({
    description: 'from the annotations table, which follows the document within about a second',
  }),
  participants: z.array(z.object({ clientId: z.number(), state: z.unknown() })),
}).meta({ id: 'SessionDetail' });

// ---- annotations and tracks ------------------------------------------------------------------

const AnnotationStatus = z.enum(ANNOTATION_STATUSES);
const BBox = z.tuple([z.number(), z.number(), z.number(), z.number()]).meta({ description: '[x, y, w, h] in pixels, top-left origin' });

export const AnnotationInput = z
  .object({
    id: ItemId.optional(),
    frame: z.number().int().min(0).meta({ description: '0-based, < the video frameCount' }),
    bbox: BBox,
    label: z.string().min(1),
    trackId: ItemId.nullable().optional(),
    detectionId: z.string().min(1).max(256).nullable().optional(),
    attributes: Attributes.optional(),
    occluded: z.boolean().optional(),
    outside: z.boolean().optional(),
    status: AnnotationStatus.optional(),
    source: z.enum(ANNOTATION_SOURCES).optional(),
  })
  .meta({ id: 'AnnotationInput' });

export const AnnotationCreate = z.union([AnnotationInput, z.array(AnnotationInput).min(1).max(MAX_BULK_ANNOTATIONS)]).meta({
  description: `one annotation, or an array of up to ${MAX_BULK_ANNOTATIONS} applied all or nothing in one document transaction`,
});

export const AnnotationPatch = z
  .object({
    frame: z.number().int().min(0).optional(),
    bbox: BBox.optional(),
    label: z.string().min(1).optional(),
    trackId: ItemId.nullable().optional(),
    detectionId: z.string().min(1).max(256).nullable().optional(),
    attributes: Attributes.optional(),
    occluded: z.boolean().optional(),
    outside: z.boolean().optional(),
    status: AnnotationStatus.optional(),
  })
  .refine((p) => Object.values(p).some((v) => v !== undefined), { message: 'nothing to change' });

export const ClipQuery = z.object({
  clip: QueryBool.meta({
    description: 'a box that crosses the frame edge is clipped to the frame (true) or refused with 422 (default)',
  }),
});

export const AnnotationListQuery = z
  .object({
    frame: NonNegInt.optional(),
    fromFrame: NonNegInt.optional(),
    toFrame: NonNegInt.optional(),
    label: z.string().min(1).optional(),
    trackId: z.string().min(1).optional(),
    detectionId: z.string().min(1).optional(),
    status: AnnotationStatus.optional(),
    expand: z.enum(['tracks']).optional().meta({ description: 'tracks: add the interpolated boxes of the tracks in the frame window' }),
    limit: Limit(1000, MAX_PAGE),
    cursor: Cursor,
  })
  .refine((q) => q.fromFrame === undefined || q.toFrame === undefined || q.fromFrame <= q.toFrame, {
    message: 'fromFrame must be <= toFrame',
    path: ['fromFrame'],
  });

export const Annotation = z
  .object({
    id: z.string(),
    frame: z.number(),
    bbox: BBox,
    label: z.string(),
    trackId: z.string().nullable(),
    detectionId: z.string().nullable(),
    attributes: Attributes,
    occluded: z.boolean(),
    outside: z.boolean(),
    status: AnnotationStatus,
    source: z.enum(ANNOTATION_SOURCES),
    createdBy: z.string(),
    updatedBy: z.string(),
    createdAt: z.number().meta({ description: 'ms since epoch' }),
    updatedAt: z.number().meta({ description: 'ms since epoch' }),
  })
  .meta({ id: 'Annotation' });

export const TrackFrameBox = z
  .object({
    trackId: z.string(),
    frame: z.number(),
    bbox: BBox,
    label: z.string(),
    keyframe: z.boolean(),
    annotationId: z.string().nullable(),
    occluded: z.boolean(),
    attributes: Attributes,
  })
  .meta({ id: 'TrackFrameBox' });

export const AnnotationPage = z.object({
  items: z.array(Annotation),
  nextCursor: z.string().nullable(),
  trackBoxes: z.array(TrackFrameBox).optional().meta({ description: 'with expand=tracks' }),
});

export const Interpolation = z.enum(['linear', 'none']);
export const TrackInput = z.object({
  id: ItemId.optional(),
  label: z.string().min(1),
  attributes: Attributes.optional(),
  interpolation: Interpolation.optional(),
});
export const TrackPatch = z
  .object({ label: z.string().min(1).optional(), attributes: Attributes.optional(), interpolation: Interpolation.optional() })
  .refine((p) => Object.values(p).some((v) => v !== undefined), { message: 'nothing to change' });
export const TrackDeleteQuery = z.object({
  withKeyframes: QueryBool.meta({ description: 'also delete the keyframes (default: keep them as standalone annotations)' }),
});
export const Track = z
  .object({ id: z.string(), label: z.string(), attributes: Attributes, interpolation: Interpolation })
  .meta({ id: 'Track' });

// ---- pages -----------------------------------------------------------------------------------

export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
