/**
 * Schemas of the release routes (`/api/sessions/:id/releases…`, `/api/projects/:id/releases…`) and
 * of the run comparison (`/api/test-runs/compare`), apart from schemas.ts so the areas change
 * independently. Request schemas may coerce query strings; response schemas describe what the
 * routes send (docs/releases.md).
 */
import { z } from 'zod';
import 'zod-openapi';
import { DIFF_PAGE_DEFAULT, DIFF_PAGE_MAX } from '../../docs-model/release-diff.ts';
import { Cursor, Id, Limit } from './schemas.ts';

const Timestamp = z.string().meta({ format: 'date-time' });
const QueryBool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional();

const Name = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => s.trim() === s && !/[\u0000-\u001f]/.test(s), 'no leading or trailing spaces, no control characters')
  .meta({ description: 'unique per session, 1-200 characters' });

export const ReleaseCreate = z.object({
  name: Name,
  note: z.string().max(10_000).nullable().optional().meta({ description: 'what this release is' }),
});

export const ReleaseParams = z.object({ sessionId: Id, releaseId: Id });
export const ProjectReleaseParams = z.object({ projectId: Id, batchId: Id });

export const ReleaseListQuery = z.object({ limit: Limit(50, 500), cursor: Cursor });

const LabelCounts = z.object({ annotations: z.number(), boxes: z.number() });

export const ReleaseCounts = z
  .object({
    annotations: z.number(),
    tracks: z.number(),
    boxes: z.number().meta({ description: 'boxes an export writes: tracks expanded per frame' }),
    perLabel: z.record(z.string(), LabelCounts),
  })
  .meta({ id: 'ReleaseCounts' });

export const Release = z
  .object({
    id: z.string(),
    sessionId: z.string(),
    projectId: z.string(),
    batchId: z.string().nullable().meta({ description: 'the project release it belongs to, if any' }),
    name: z.string(),
    note: z.string().nullable(),
    createdAt: Timestamp,
    createdBy: z.string(),
    contentHash: z.string().meta({ description: "'sha256:' + hex SHA-256 of the canonical form (docs/releases.md)" }),
    counts: ReleaseCounts,
  })
  .meta({ id: 'Release' });

export const ProjectRelease = z
  .object({
    batchId: z.string().meta({ description: "the project release's id (its exports: /api/projects/:id/releases/:batchId/export)" }),
    projectId: z.string(),
    name: z.string(),
    createdAt: Timestamp,
    createdBy: z.string(),
    releases: z.array(Release),
  })
  .meta({ id: 'ProjectRelease' });

export const DiffQuery = z.object({
  to: z.union([z.literal('live'), Id]).meta({ description: "another release of the session, or 'live' for the document now" }),
  summary: QueryBool.meta({ description: 'counts only' }),
  limit: Limit(DIFF_PAGE_DEFAULT, DIFF_PAGE_MAX),
  cursor: Cursor,
});

const ChangeCounts = z.object({ added: z.number(), removed: z.number(), changed: z.number() });

export const ReleaseDiff = z
  .object({
    from: z.string(),
    to: z.string(),
    summary: z.object({
      annotations: ChangeCounts,
      tracks: ChangeCounts,
      perLabel: z.record(z.string(), z.object({ from: LabelCounts, to: LabelCounts })),
    }),
    changes: z
      .array(z.record(z.string(), z.unknown()))
      .optional()
      .meta({ description: 'tracks, then annotations, by id: { type, change: added | removed | changed, id, … fields: [{ field, from, to }], iou? }' }),
    nextCursor: z.string().nullable().optional(),
  })
  .meta({ id: 'ReleaseDiff' });

export const CompareQuery = z.object({
  base: Id.meta({ description: 'the run compared with (baseline)' }),
  head: Id.meta({ description: 'the run compared' }),
  summary: QueryBool.meta({ description: 'deltas and the counts of regressions and fixes, without the frames, matrices and curves' }),
  limit: Limit(100, 1000).meta({ description: 'frames per page of regressions and of fixes (default 100)' }),
  regressionsCursor: Cursor,
  fixesCursor: Cursor,
});

const Delta = z.object({ base: z.number(), head: z.number(), delta: z.number() });
const Deltas = z.record(z.string(), z.union([Delta, z.enum(['base', 'head'])]));
const FramePage = z.object({
  boxes: z.number(),
  frames: z.number(),
  items: z
    .array(z.object({ frame: z.number(), boxes: z.array(z.object({ groundTruth: z.number(), label: z.string(), annotationId: z.string().nullable(), bbox: z.array(z.number()), score: z.number() })) }))
    .optional(),
  nextCursor: z.string().nullable().optional(),
});

export const Comparison = z
  .object({
    base: z.object({ runId: z.string(), confusion: z.unknown().optional(), curves: z.unknown().optional() }),
    head: z.object({ runId: z.string(), confusion: z.unknown().optional(), curves: z.unknown().optional() }),
    groundTruth: z.object({ sessionId: z.string(), releaseId: z.string(), contentHash: z.string() }),
    overall: Deltas.meta({ description: 'every metric: { base, head, delta = head - base }' }),
    perLabel: z.record(z.string(), Deltas).meta({ description: "as overall, per label; onlyIn: 'base' | 'head' for a label one run lacks (compared with zeros)" }),
    tracking: z
      .object({
        overall: Deltas.meta({ description: 'every tracking figure (mota, motp, idf1, idp, idr, hota, deta, assa, locA, idSwitches, … idfn): { base, head, delta }' }),
        perLabel: z.record(z.string(), Deltas),
        onlyIn: z.enum(['base', 'head']).optional().meta({ description: 'set when only one run carries track ids (the other counts zeros)' }),
      })
      .optional()
      .meta({ description: 'when either run carries track ids: the tracking metrics compared as overall and perLabel are' }),
    regressions: FramePage.meta({ description: 'frames where head lost a true positive base had' }),
    fixes: FramePage.meta({ description: 'frames where head gained a true positive base lacked' }),
  })
  .meta({ id: 'RunComparison' });
