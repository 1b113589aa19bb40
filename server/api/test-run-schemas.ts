/**
 * Schemas of the test-run, dashboard and participants routes, kept apart from
 * schemas.ts so the two areas change independently. Same conventions: request schemas may
 * coerce query strings; response schemas describe what the routes send.
 */
import { TEST_RUN_STATUSES } from '../../docs-model/test-run-doc.ts';
import { z } from 'zod';
import 'zod-openapi';
import { Id } from './schemas.ts';

/** One request may carry this many detections (50 000 as JSON is about 5 MB). */
export const MAX_BULK_DETECTIONS = 50_000;
export const DETECTIONS_BODY_LIMIT = 32 * 1024 * 1024;

const Timestamp = z.string().meta({ format: 'date-time' });
const Metrics = z.record(z.string(), z.unknown());
const BBox = z.tuple([z.number(), z.number(), z.number(), z.number()]).meta({ description: '[x, y, w, h] in pixels, top-left origin' });

export const TestRunStatus = z.enum(TEST_RUN_STATUSES);

export const TestRunParams = z.object({ testRunId: Id });

export const Model = z.object({ name: z.string().min(1).max(200), version: z.string().max(200).default('') }).meta({ id: 'ModelRef' });

export const TestRunCreate = z.object({
  videoId: Id,
  sessionId: Id.meta({ description: 'the session whose annotations are the ground truth' }),
  model: Model,
  id: Id.optional().meta({ description: 'a caller-chosen id (409 if taken); a uuid otherwise' }),
  totalFrames: z.number().int().min(0).optional().meta({ description: "default: the video's frame count" }),
  groundTruth: z
    .object({ releaseId: Id.meta({ description: 'a release of the session (POST /api/sessions/:id/releases)' }) })
    .optional()
    .meta({ description: 'the release the run is scored against; absent: the server makes one now, named auto-<timestamp>' }),
});

export const TestRunProgress = z
  .object({
    processedFrames: z.number().int().min(0),
    totalFrames: z.number().int().min(0),
    status: TestRunStatus.optional().meta({
      description: 'only forward: queued → running → completed | failed | cancelled (409 otherwise). Absent on a queued run: running.',
    }),
    message: z.string().max(10_000).nullable().optional(),
    metrics: Metrics.nullable().optional().meta({ description: "the runner's own numbers (fps, memory, …), shown as they are" }),
  })
  .refine((p) => p.processedFrames <= p.totalFrames, { message: 'processedFrames must be <= totalFrames', path: ['processedFrames'] });

export const TestRunListQuery = z.object({
  status: TestRunStatus.optional(),
  sessionId: Id.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(512).optional(),
});

/** A tracker's id: a string, or an integer as MOT and most trackers write it; stored as text. */
const TrackIdInput = z.union([z.string().min(1).max(256), z.number().int()]).transform(String);

export const DetectionInput = z
  .object({
    frame: z.number().int().min(0).meta({ description: '0-based, < the video frameCount' }),
    bbox: BBox,
    label: z.string().min(1).max(256),
    score: z.number().min(0).max(1),
    detectionId: z.string().min(1).max(256).nullable().optional(),
    trackId: TrackIdInput.nullable().optional().meta({ description: "the tracker's id of the object: detections sharing it are one track (tracking metrics, promote)" }),
  })
  .meta({ id: 'DetectionInput' });

export const CocoResult = z
  .object({
    image_id: z.number().int().min(1).meta({ description: "frame + 1, as annosync's COCO export numbers images" }),
    category_id: z.number().int().min(1).meta({ description: "the id of the label in the session's COCO export" }),
    bbox: BBox,
    score: z.number().min(0).max(1),
    id: z.union([z.string().min(1).max(256), z.number()]).optional().meta({ description: 'kept as detectionId' }),
    track_id: TrackIdInput.nullable().optional().meta({ description: "extension: the tracker's id, kept as trackId" }),
  })
  .meta({ id: 'CocoResult' });

export const DetectionList = z.array(DetectionInput).min(1).max(MAX_BULK_DETECTIONS);
export const CocoResultList = z.array(CocoResult).min(1).max(MAX_BULK_DETECTIONS);

/** Checked per format by the route (so each format's errors name its own fields). */
export const DetectionsBody = z.array(z.unknown()).min(1).max(MAX_BULK_DETECTIONS).meta({
  description: `up to ${MAX_BULK_DETECTIONS} detections, all or nothing: DetectionInput objects, or with format=coco COCO results ({ image_id, category_id, bbox, score })`,
});

export const DetectionsQuery = z.object({
  format: z.enum(['native', 'coco', 'csv', 'mot']).default('native').meta({
    description:
      'native: DetectionInput objects; coco: COCO results (application/json); csv: text/csv or text/tab-separated-values with a header; mot: tracker output or det.txt (text/plain, or a zip with one), the MOT id as trackId',
  }),
  clip: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional()
    .meta({ description: 'a box that crosses the frame edge is clipped (true) or refused with 422 (default)' }),
});

export const EvaluationQuery = z.object({
  iouThreshold: z.coerce.number().gt(0).max(1).optional().meta({ description: 'IoU for tp / fp / fn, precision, recall, f1 (default 0.5)' }),
});

export const EventsQuery = z.object({
  heartbeatMs: z.coerce.number().int().min(10).max(60_000).default(15_000).meta({
    description: 'interval of the keep-alive comment (default 15 s; shorter for proxies that cut idle streams sooner)',
  }),
  lastEventId: z.coerce.number().int().min(0).optional().meta({ description: 'as the Last-Event-ID header, for clients that cannot set it' }),
});

const LabelMetrics = z
  .object({ tp: z.number(), fp: z.number(), fn: z.number(), precision: z.number(), recall: z.number(), f1: z.number(), ap50: z.number(), ap: z.number() })
  .meta({ id: 'LabelMetrics' });

const TrackingMetrics = z
  .object({
    mota: z.number(),
    motp: z.number().meta({ description: 'mean IoU of the matches (TrackEval; py-motmetrics reports 1 − this)' }),
    idf1: z.number(),
    idp: z.number(),
    idr: z.number(),
    idSwitches: z.number(),
    fragmentations: z.number(),
    mostlyTracked: z.number(),
    partiallyTracked: z.number(),
    mostlyLost: z.number(),
    hota: z.number(),
    deta: z.number(),
    assa: z.number(),
    locA: z.number(),
    groundTruthBoxes: z.number(),
    groundTruthTracks: z.number(),
    trackerBoxes: z.number(),
    trackerTracks: z.number(),
    matches: z.number(),
    misses: z.number(),
    falsePositives: z.number(),
    idtp: z.number(),
    idfp: z.number(),
    idfn: z.number(),
  })
  .meta({ id: 'TrackingMetrics' });

export const Evaluation = z
  .object({
    overall: LabelMetrics,
    perLabel: z.record(z.string(), LabelMetrics),
    iouThreshold: z.number(),
    groundTruth: z.object({
      sessionId: z.string(),
      releaseId: z.string().optional().meta({ description: 'the release scored against (absent for runs made before releases)' }),
      contentHash: z.string().optional().meta({ description: "the release's content hash" }),
      annotations: z.number().meta({ description: 'ground-truth boxes evaluated (tracks expanded, rejected left out)' }),
    }),
    detections: z.number(),
    confusion: z
      .object({ iouThreshold: z.number(), labels: z.array(z.string()), matrix: z.array(z.array(z.number())), labelAgnosticMatches: z.number() })
      .meta({ id: 'ConfusionMatrix', description: 'matrix[ground-truth label][detected label] over labels + background (the last row and column)' }),
    curves: z.record(z.string(), z.unknown()).meta({ id: 'PrecisionRecallCurves', description: "per label: precision (and the detection scores) at pycocotools' 101 recall points" }),
    linked: z
      .array(z.object({ detectionId: z.string(), annotationId: z.string(), verdict: z.enum(['validated', 'rejected', 'draft']) }))
      .optional()
      .meta({ description: 'detections an annotation confirms or corrects, with its verdict' }),
    tracking: z
      .object({ overall: TrackingMetrics, perLabel: z.record(z.string(), TrackingMetrics), iouThreshold: z.number() })
      .optional()
      .meta({
        description:
          'when detections carry track ids: CLEAR MOT and identity at iouThreshold, HOTA over α = 0.05…0.95, against the session’s tracks expanded per frame (outside, rejected and ignored boxes left out)',
      }),
  })
  .meta({ id: 'Evaluation' });

export const TestRun = z
  .object({
    id: z.string(),
    projectId: z.string(),
    videoId: z.string(),
    sessionId: z.string(),
    model: z.object({ name: z.string(), version: z.string() }),
    status: TestRunStatus,
    processedFrames: z.number(),
    totalFrames: z.number(),
    progress: z.number().min(0).max(1),
    message: z.string().nullable(),
    metrics: Metrics.nullable(),
    evaluation: Metrics.nullable().meta({ description: 'stored when the run completes: the evaluation without its links' }),
    detectionCount: z.number(),
    revision: z.number().meta({ description: 'counts changes; the id of the matching Server-Sent Event' }),
    docName: z.string().meta({ description: 'the live document: connect to ws://HOST/sync/<docName> (read-only)' }),
    releaseId: z.string().nullable().meta({ description: 'the release the run is scored against (null for runs made before releases)' }),
    groundTruth: z
      .object({ releaseId: z.string(), name: z.string(), contentHash: z.string(), created: z.boolean().meta({ description: 'true when the server made the release for this run' }) })
      .optional()
      .meta({ description: 'in the answer to creation only' }),
    createdBy: z.string(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
  })
  .meta({ id: 'TestRun' });

export const DetectionsAccepted = z.object({
  accepted: z.number(),
  run: TestRun,
  warnings: z
    .array(z.object({ code: z.string(), message: z.string(), place: z.string() }))
    .optional()
    .meta({ description: 'format=mot: rows kept but flagged (box_past_edge: kept unclipped, as MOT scores them; score_out_of_range: stored with score 1)' }),
});

export const Participant = z
  .object({
    sessionId: z.string(),
    videoId: z.string().nullable(),
    clientId: z.number(),
    userId: z.string().nullable(),
    name: z.string(),
    frame: z.number().nullable(),
    since: z.number().meta({ description: 'ms since epoch' }),
  })
  .meta({ id: 'Participant' });

export const Dashboard = z
  .object({
    projectId: z.string(),
    sessionsByStatus: z.record(z.string(), z.number()),
    annotationsByLabel: z.record(z.string(), z.record(z.string(), z.number())),
    videosByGroundTruthStatus: z.record(z.string(), z.number()),
    participants: z.array(Participant),
    runningRuns: z.array(
      z.object({
        id: z.string(),
        sessionId: z.string(),
        videoId: z.string(),
        model: z.object({ name: z.string(), version: z.string() }),
        status: z.string(),
        processedFrames: z.number(),
        totalFrames: z.number(),
        progress: z.number(),
      }),
    ),
    activity: z.array(
      z.object({
        seq: z.number(),
        type: z.enum(['joined', 'left', 'imported', 'run-started', 'run-finished']),
        at: z.number(),
        sessionId: z.string().optional(),
        runId: z.string().optional(),
        user: z.string().optional(),
        detail: Metrics.optional(),
      }),
    ),
    updatedAt: z.number(),
  })
  .meta({ id: 'Dashboard' });

export const PromoteBody = z
  .object({
    minScore: z.number().min(0).max(1).optional().meta({ description: 'only detections scoring at least this' }),
    frames: z
      .object({ from: z.number().int().min(0), to: z.number().int().min(0) })
      .refine((f) => f.from <= f.to, { message: 'from must be <= to', path: ['to'] })
      .optional()
      .meta({ description: 'only detections on these frames (0-based, inclusive)' }),
    labels: z.array(z.string().min(1).max(256)).min(1).max(1000).optional().meta({ description: 'only detections of these labels' }),
    mode: z.enum(['merge', 'skip-matched']).default('merge').meta({
      description: 'merge: every selected detection; skip-matched: leave out those matching a ground-truth box of their label at IoU >= 0.5',
    }),
  })
  .meta({ id: 'PromoteRequest' });

export const PromoteQuery = z.object({
  keyframes: z.enum(['all', 'auto']).default('all').meta({
    description: 'tracked detections: a keyframe on every frame (all), or only where the motion departs from linear interpolation by more than 1 px (auto)',
  }),
});

export const PromoteAnswer = z
  .object({
    sessionId: z.string(),
    detections: z.number().int(),
    selected: z.number().int().meta({ description: 'kept by minScore, frames and labels' }),
    skippedMatched: z.number().int(),
    alreadyPromoted: z.number().int().meta({ description: 'written by an earlier promotion (or linked by an annotation already): not written again' }),
    promoted: z.number().int(),
    annotations: z.number().int().meta({ description: 'annotations created: drafts, keyframes and outside keyframes' }),
    keyframes: z.number().int(),
    outsideKeyframes: z.number().int(),
    interpolated: z.number().int(),
    tracks: z.number().int().meta({ description: 'tracks created' }),
    labelsAdded: z.array(z.string()),
  })
  .meta({ id: 'PromoteAnswer' });
